"""Train until the adapter knows its facts: the recall stopping rule (``finetune.stop_at_recall``).

Why: a fixed epoch count either stops before the adapter has learned its training facts (the
FT row then measures under-training, not fine-tuning) or, set high enough for the slowest
suite, wastes training on every other one. With the rule on, ``finetune.epochs`` is the most
epochs training may take; after each epoch the model in training is asked a fixed sample of
``finetune.stop_check_n`` of its own training questions (greedy, closed book, the chat
rendering evaluation uses, ``eval.max_gen_toks`` new tokens, stopping at the first newline) and
training ends at the first epoch whose share of correct answers reaches ``stop_at_recall``.
"Correct" is the training-set recall definition of :mod:`harness.finetune.recall`, so the rule
stops on the number the leaderboard reports afterwards (there on ``finetune.recall.n``
questions through the evaluation backend).

The check sample and its answer keys are part of the adapter's cache key (with the rule's
settings, which sit in :class:`~harness.finetune.params.FinetuneParams`), so changing the rule
retrains and an unchanged rerun trains nothing. The callback that asks the questions during
training is :class:`harness.finetune.callbacks.RecallStop`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from harness import cache
from harness.finetune.recall import contains_key, fact_keys, recall_sample, row_keys
from harness.suites.text import normalize_text


@dataclass(frozen=True)
class RecallCheck:
    """The questions the stopping rule asks after each epoch: prompts (the training prompt) and,
    per prompt, the normalised key values an answer must contain."""

    prompts: tuple[str, ...]
    keys: tuple[tuple[str, ...], ...]
    max_new_tokens: int = 32

    def sha256(self) -> str:
        return cache.hash_json({"prompts": list(self.prompts), "keys": [list(k) for k in self.keys],
                                "max_new_tokens": self.max_new_tokens})

    def correct(self, answers: Sequence[str]) -> int:
        return sum(contains_key(a, keys) for a, keys in zip(answers, self.keys, strict=True))


def check_from_suite(suite: Any, rows: Sequence[Mapping[str, Any]] | None, n: int, seed: int,
                     max_new_tokens: int = 32) -> RecallCheck:
    """``n`` of the training rows (``rows``, default the suite's) drawn with ``seed``, keyed as the
    training-set recall keys them (the eval rows' short answers of the fact, else the answer)."""
    from harness.suites import render_train_example

    picked = recall_sample(suite.train if rows is None else list(rows), n, seed)
    keys = fact_keys(suite)
    return RecallCheck(
        prompts=tuple(render_train_example(suite, row)[0] for row in picked),
        keys=tuple(tuple(row_keys(row, keys)) for row in picked),
        max_new_tokens=max_new_tokens)


def check_from_examples(examples: Sequence[tuple[str, str]], n: int, seed: int,
                        max_new_tokens: int = 32) -> RecallCheck:
    """For training pairs without a suite behind them (tuning trials, the finetune verb): the
    whole normalised completion is the key."""
    rows = [{"prompt": p, "answer": c} for p, c in examples]
    picked = recall_sample(rows, n, seed)
    return RecallCheck(tuple(r["prompt"] for r in picked), tuple((normalize_text(r["answer"]),) for r in picked),
                       max_new_tokens)


__all__ = ["RecallCheck", "check_from_examples", "check_from_suite"]
