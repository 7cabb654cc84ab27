"""Trainer callbacks: record the loss curve, stop at the first non-finite loss, and stop when
the adapter answers its own training questions (the recall stopping rule)."""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from transformers import TrainerCallback

from harness.finetune.data import user_turn
from harness.finetune.stopping import RecallCheck

log = logging.getLogger(__name__)


class LossGuard(TrainerCallback):
    """Collects (step, loss) from each log and halts training when loss or grad norm is NaN/inf.

    Raising inside a callback would leave the trainer half-torn-down; instead training stops
    and the caller raises a HarnessError from ``diverged``.
    """

    def __init__(self) -> None:
        self.curve: list[dict[str, float]] = []
        self.diverged: tuple[int, str, float] | None = None

    def on_log(self, args: Any, state: Any, control: Any, logs: dict[str, float] | None = None, **kwargs: Any) -> None:
        if not logs or "loss" not in logs:
            return  # the end-of-training summary logs train_loss, not loss
        self.curve.append({"step": int(state.global_step), "loss": float(logs["loss"])})
        for name in ("loss", "grad_norm"):
            value = logs.get(name)
            if value is not None and not math.isfinite(float(value)):
                self.diverged = (int(state.global_step), name, float(value))
                control.should_training_stop = True
                return


def greedy_answers(model: Any, tokenizer: Any, prompts: Sequence[str], max_new_tokens: int,
                   batch_size: int = 32) -> list[str]:
    """Greedy completions of ``prompts`` as user turns under the chat template, each row ending at
    its first newline (the open-QA stop sequence) or end of turn; left padding so a batch
    generates together. One batch for a check's few dozen questions: on a CPU a decoding step
    of 24 rows costs little more than one of 16."""
    import torch

    side, tokenizer.padding_side = tokenizer.padding_side, "left"
    was_training = model.training
    model.eval()
    answers: list[str] = []
    try:
        for start in range(0, len(prompts), batch_size):
            texts = [tokenizer.apply_chat_template(user_turn(p), tokenize=False, add_generation_prompt=True)
                     for p in prompts[start:start + batch_size]]
            batch = tokenizer(texts, return_tensors="pt", padding=True, add_special_tokens=False).to(model.device)
            with torch.no_grad():
                out = model.generate(**batch, max_new_tokens=max_new_tokens, do_sample=False,
                                     pad_token_id=tokenizer.pad_token_id, stop_strings=["\n"], tokenizer=tokenizer)
            new = tokenizer.batch_decode(out[:, batch["input_ids"].shape[1]:], skip_special_tokens=True)
            answers += [text.split("\n")[0] for text in new]
    finally:
        tokenizer.padding_side = side
        model.train(was_training)
    return answers


@dataclass
class RecallStop(TrainerCallback):
    """After each epoch from ``first_epoch`` on: ask the check's questions; stop when the share
    answered reaches ``target``. ``history`` records every check (epoch, correct, n, recall,
    seconds) for the adapter card; the epochs before ``first_epoch`` cost no generation."""

    check: RecallCheck
    target: float
    first_epoch: int = 1
    history: list[dict[str, float]] = field(default_factory=list)

    def on_epoch_end(self, args: Any, state: Any, control: Any, model: Any = None,
                     processing_class: Any = None, **kwargs: Any) -> None:
        if math.ceil(float(state.epoch) - 1e-6) < self.first_epoch:  # a last partial epoch counts
            return
        start = time.perf_counter()
        answers = greedy_answers(model, processing_class, self.check.prompts, self.check.max_new_tokens)
        correct, n = self.check.correct(answers), len(self.check.prompts)
        recall = correct / n if n else 0.0
        self.history.append({"epoch": round(float(state.epoch), 3), "correct": correct, "n": n,
                             "recall": round(recall, 4), "seconds": round(time.perf_counter() - start, 3)})
        log.info("epoch %.0f: recall %d/%d on the stopping check (target %g)%s", state.epoch, correct, n,
                 self.target, " — stopping" if recall >= self.target else "")
        if recall >= self.target:
            control.should_training_stop = True

    def summary(self, max_epochs: float) -> dict[str, Any]:
        """The card's ``stopping`` block: the rule, every check, and where training ended."""
        reached = bool(self.history) and self.history[-1]["recall"] >= self.target
        block = {"rule": "stop_at_recall", "target": self.target, "check_n": len(self.check.prompts),
                 "max_epochs": max_epochs, "epochs_run": self.history[-1]["epoch"] if self.history else 0.0,
                 "reached": reached, "checks": list(self.history)}
        return block | ({"first_check_epoch": self.first_epoch} if self.first_epoch > 1 else {})
