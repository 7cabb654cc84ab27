"""Training as a cached stage: (base weights, training data, hyper-parameters, library versions)
→ one adapter folder (LoRA) or model folder (``full``), trained at most once. Q&A pairs train
with the loss on the answer (:func:`train_adapter`); plain-text chunks, continued pre-training,
on every token (:func:`train_on_text`).

The entry is built in a scratch folder and published atomically under a lock, so concurrent
jobs train it once and a killed run leaves nothing that looks complete.
"""

from __future__ import annotations

import gc
import logging
import resource
import shutil
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from harness import cache
from harness.errors import HarnessError
from harness.finetune.adapter import CARD_FILE, MODEL_WEIGHTS_FILE, WEIGHTS_FILE, Adapter, load_trained
from harness.finetune.data import count_over_length, data_sha256, to_rows, validate_examples
from harness.finetune.params import FinetuneParams
from harness.finetune.stopping import RecallCheck, check_from_examples
from harness.models.wheels import LocalModel

log = logging.getLogger(__name__)

STAGE = "adapters"


def library_versions() -> dict[str, str]:
    """Versions that change what training produces; they are part of the cache key."""
    import peft
    import torch
    import transformers
    import trl

    return {
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "peft": peft.__version__,
        "trl": trl.__version__,
    }


def adapter_key(base: LocalModel, data_hash: str, params: FinetuneParams) -> str:
    return cache.hash_json(
        {
            "base": base.weights_sha256,
            "data": data_hash,
            "params": params.to_dict(),
            "versions": library_versions(),
        }
    )


def train_adapter(
    base: LocalModel,
    examples: list[tuple[str, str]],
    params: FinetuneParams,
    *,
    data_hash: str | None = None,
    start_from: Adapter | None = None,
    full: bool = False,
    check: RecallCheck | None = None,
) -> Adapter:
    """Return the LoRA adapter for these inputs, training it only if the cache lacks it.

    ``data_hash`` lets a caller that already identifies its data (e.g. a suite's file hash)
    skip hashing the pairs; it must change whenever the pairs do. ``start_from``: continue
    training that adapter's weights (the churn experiment's update strategy, and SFT after
    continued pre-training) instead of a fresh LoRA; its weights hash joins the cache key.
    ``full``: train every weight (no adapter); the result is a whole model folder.
    ``check``: the questions the recall stopping rule asks (when ``params.stop_at_recall`` is
    set; default: a sample of the pairs themselves, the whole answer the key); it joins the key.
    """
    examples = validate_examples(examples)
    data_hash = data_hash or data_sha256(examples)
    if start_from is not None:
        data_hash = cache.hash_json({"data": data_hash, "start_from": start_from.sha256})
    if full:
        data_hash = cache.hash_json({"data": data_hash, "full": True})
    if params.stop_at_recall is not None:
        check = check or check_from_examples(examples, params.stop_check_n, params.seed)
        data_hash = cache.hash_json({"data": data_hash, "stop_check": check.sha256()})
    else:
        check = None
    return _cached(base, examples, params, data_hash, start_from=start_from, full=full, check=check)


def train_on_text(base: LocalModel, chunks: list[list[int]], params: FinetuneParams, *, data_hash: str) -> Adapter:
    """A LoRA adapter trained as a causal LM on token ``chunks`` of plain text (loss on every
    token): continued pre-training. ``data_hash`` must identify the chunks."""
    if not chunks:
        raise HarnessError("continued pre-training has no text: the suite's corpus is empty")
    rows = [{"input_ids": list(chunk)} for chunk in chunks]
    return _cached(base, rows, params, cache.hash_json({"text": data_hash}), text=True)


def _cached(base: LocalModel, examples: Sequence[Any], params: FinetuneParams, data_hash: str, *,
            start_from: Adapter | None = None, text: bool = False, full: bool = False,
            check: RecallCheck | None = None) -> Adapter:
    key = adapter_key(base, data_hash, params)
    trained: list[Path] = []

    def build(scratch: Path) -> None:
        _sweep_stale_scratch(scratch, key)
        _train_into(scratch, base, examples, params, data_hash, start_from, text=text, full=full, check=check)
        trained.append(scratch)

    adapter = cache.get_or_build(STAGE, key, build, load_trained)
    if not trained:
        log.info("adapter cache hit %s (%d examples)", cache.short(key), len(examples))
    return adapter


def _sweep_stale_scratch(scratch: Path, key: str) -> None:
    """Remove scratch folders of this key left by killed runs, all but ``scratch`` itself
    (safe: the build holds the key's lock)."""
    for stale in scratch.parent.glob(f".{key}.*.tmp"):
        if stale != scratch:
            log.info("removing %s left by an interrupted training run", stale.name)
            shutil.rmtree(stale, ignore_errors=True)


def _train_into(
    folder: Path, base: LocalModel, examples: Sequence[Any], params: FinetuneParams, data_hash: str,
    start_from: Adapter | None = None, *, text: bool = False, full: bool = False,
    check: RecallCheck | None = None,
) -> None:
    from harness.finetune.callbacks import RecallStop
    from harness.finetune.trainer import build_trainer

    trainer = guard = None
    stopper = (RecallStop(check, float(params.stop_at_recall), params.first_check_epoch())
               if check is not None else None)
    try:
        trainer, guard = build_trainer(base.path, examples, params, folder / "_trainer",
                                       start_from=start_from.path if start_from is not None else None,
                                       text=text, full=full, extra_callbacks=[stopper] if stopper else [])
        over, kept = _report_truncation(trainer, examples, params, text)
        log.info(
            "training %s on %d %s for %s epochs (lr %g, batch %d) on %s; base %s",
            "every weight" if full else f"LoRA r={params.rank}", kept, "text chunks" if text else "examples",
            params.epochs, params.lr, params.batch_size, trainer.args.device, cache.short(base.weights_sha256),
        )
        start = time.perf_counter()
        result = trainer.train()
        seconds = time.perf_counter() - start
        if guard.diverged is not None:
            step, name, value = guard.diverged
            raise HarnessError(
                f"LoRA training diverged: {name} became {value} at step {step} (lr {params.lr}); "
                f"lower finetune.lr (e.g. to {params.lr / 5:g}) or add warmup (finetune.warmup_ratio=0.1)"
            )
        epochs_run = float(trainer.state.epoch or params.epochs)
        log.info(
            "trained in %.1f s (%g epochs, %.1f s/epoch), final loss %s", seconds, round(epochs_run, 2),
            seconds / epochs_run, guard.curve[-1]["loss"] if guard.curve else "n/a",
        )
        trainer.model.save_pretrained(folder)
        if full:  # a whole model folder: loadable (and servable) on its own, tokenizer included
            trainer.processing_class.save_pretrained(folder)
        shutil.rmtree(folder / "_trainer", ignore_errors=True)
        card = _card(base, examples, params, data_hash, guard.curve, seconds, over, kept, result, epochs_run)
        if stopper is not None:
            card["stopping"] = stopper.summary(params.epochs)
        card["kind"] = "full" if full else "lora"
        card["objective"] = "causal LM on text" if text else "completion-only SFT"
        if start_from is not None:
            card["started_from_sha256"] = start_from.sha256  # continued training, not a fresh LoRA
        cache.write_json_atomic(folder / CARD_FILE, card)
        weights = MODEL_WEIGHTS_FILE if full else WEIGHTS_FILE
        if not (folder / weights).is_file():
            raise HarnessError(f"training did not write {weights} into {folder}; check the peft/transformers version")
    finally:
        # Free the model before anything else is loaded: callers evaluate right after training.
        del trainer, guard, stopper
        gc.collect()


def _report_truncation(trainer: Any, examples: Sequence[Any], params: FinetuneParams, text: bool) -> tuple[int, int]:
    """(examples over max_length, examples kept), each shortfall logged with what to raise."""
    over = 0 if text else count_over_length(trainer.processing_class, to_rows(examples), params.max_length)
    if over:
        log.warning(
            "%d of %d training examples exceed max_length=%d tokens and are truncated "
            "(their answers may be cut); raise finetune.max_length to keep them whole",
            over, len(examples), params.max_length,
        )
    kept = len(trainer.train_dataset)
    if kept < len(examples):
        log.warning(
            "%d training examples have no answer tokens left after truncation to max_length=%d "
            "and are skipped; raise finetune.max_length", len(examples) - kept, params.max_length,
        )
    return over, kept


def _card(
    base: LocalModel,
    examples: Sequence[Any],
    params: FinetuneParams,
    data_hash: str,
    curve: list[dict[str, float]],
    seconds: float,
    over: int,
    kept: int,
    result: Any,
    epochs_run: float,
) -> dict[str, Any]:
    """What a reader needs to trust or reproduce the adapter, next to the weights.

    ``process_peak_rss_mib`` is the whole process's peak so far, an upper bound on training's.
    """
    import torch

    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "base": {"path": str(base.path), "weights_sha256": base.weights_sha256},
        "data_sha256": data_hash,
        "n_examples": len(examples),
        "n_trained": kept,
        "over_max_length": over,
        "params": params.to_dict(),
        "loss_curve": curve,
        "train_loss": getattr(result, "training_loss", None),
        "global_steps": getattr(result, "global_step", None),
        "train_seconds": round(seconds, 3),
        "epochs_run": round(epochs_run, 3),
        "seconds_per_epoch": round(seconds / epochs_run, 3),
        "process_peak_rss_mib": round(peak_kib / 1024 if sys.platform != "darwin" else peak_kib / 2**20, 1),
        "device": "cuda" if torch.cuda.is_available() else "cpu",
        "torch_threads": torch.get_num_threads(),
        "versions": library_versions(),
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
