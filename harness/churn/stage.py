"""The churn stage: after the grid, each fraction's updated suite, every update strategy, evaluated.

Per fraction k (``churn.fraction``): derive the updated suite (:mod:`harness.churn.derive`),
write it into the run folder (``churn/k<k>/suite/``: what changed, the updated corpus, training
rows and eval rows), re-index it and time that (:func:`harness.churn.update.time_reindex`),
train the two FT updates (retrain; continue the grid's adapter on the changed facts), then
evaluate closed book and with RAG: base (RAG = re-indexed retrieval), the stale adapter, the
retrained one and the continued one — the same lm-eval passes as the grid, their records under
``churn/k<k>/samples/``. The numbers go to ``churn.json`` (:mod:`harness.churn.measure`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness import cache
from harness.churn import update
from harness.churn.derive import ChurnedSuite, churn_suite
from harness.churn.measure import measure
from harness.churn.document import CHURN_DIR, CHURN_FILE
from harness.churn.settings import ChurnSettings
from harness.errors import HarnessError
from harness.evaluate.grid import EvalPass, evaluate_grid
from harness.finetune.stage import Adapters
from harness.jsonl import write_jsonl
from harness.records import RunFolder
from harness.spec import Condition, RunSpec
from harness.suites import Suite
from harness.variants import materialize_variants

def fraction_label(fraction: float) -> str:
    return f"k{fraction:.2f}"


@dataclass(frozen=True)
class ChurnInputs:
    """What the grid hands the churn stage: the spec as run, its suite, model and adapters."""

    grid: RunSpec
    suite: Suite
    base: Any
    tokenizer: Any
    adapters: Adapters
    ft_overrides: Mapping[str, float]


def write_derived(out: Path, churned: ChurnedSuite) -> None:
    """The updated suite as files, for a reader to check what changed."""
    write_jsonl(out / "changes.jsonl", [c.to_json() for c in churned.changes])
    write_jsonl(out / "corpus.jsonl", churned.suite.corpus)
    write_jsonl(out / "train.jsonl", churned.suite.train)
    for task in churned.suite.tasks:
        write_jsonl(out / "eval" / f"{task.name}.jsonl", task.rows)


def _passes(inputs: ChurnInputs, churned: ChurnedSuite, settings: ChurnSettings, rag: str | None,
            times: dict[str, float | None]) -> list[EvalPass]:
    """base, then the stale, retrained and continued adapters; each closed book and (rag) with RAG."""
    stale = inputs.adapters.first("ft")
    base = inputs.base
    fresh = update.retrained(inputs.grid.finetune, churned.suite, base, **inputs.ft_overrides)
    more = update.continued(inputs.grid.finetune, churned.suite, churned.changed_train_ids, stale, base,
                            settings.continue_epochs, **inputs.ft_overrides)
    times.update({update.RETRAIN: update.train_seconds(fresh), update.CONTINUE: update.train_seconds(more),
                  update.STALE: 0.0})

    def cells(adaptation: str) -> tuple[Condition, ...]:
        closed = Condition(adaptation, False)
        return (closed, Condition(adaptation, True, rag)) if rag else (closed,)

    return [EvalPass("base", "base", None, None, cells("base"))] + [
        EvalPass(label, label, None, adapter, cells(label))
        for label, adapter in ((update.STALE, stale), (update.RETRAIN, fresh), (update.CONTINUE, more))]


def churn_fraction(inputs: ChurnInputs, settings: ChurnSettings, fraction: float, folder: RunFolder) -> dict[str, Any]:
    """One fraction's block of churn.json (see the module doc)."""
    grid = inputs.grid
    churned = churn_suite(inputs.suite, fraction, settings.seed, settings.replacements)
    out = folder.path / CHURN_DIR / fraction_label(fraction)
    write_derived(out / "suite", churned)
    rag = grid.retriever.kind if grid.retriever.kind != "none" else None
    cells = [Condition("base", False)] + ([Condition("base", True, rag)] if rag else [])
    variants = materialize_variants(churned.suite, cells, grid.retriever, None, inputs.tokenizer,
                                    inputs.base.weights_sha256, n_docs=None)
    reindex = update.time_reindex(inputs.suite.corpus, churned.suite.corpus, churned.changed_docs,
                                  grid.retriever.config()) if rag else None
    times: dict[str, float | None] = {}
    passes = _passes(inputs, churned, settings, rag, times)
    evaluate_grid(passes, variants, grid.model, grid.eval, inputs.base, RunFolder(out), seed=grid.seed,
                  stage=lambda name: contextlib.nullcontext())  # timed as one stage, ``churn``
    names = [c.name for p in passes for c in p.conditions]
    block = measure(out, names, churned, f"base+{rag}" if rag else None)
    return {"fraction": fraction, "n_facts": churned.n_facts, "n_changed": len(churned.changes),
            "changed_docs": len(churned.changed_docs), "n_docs": len(churned.suite.corpus),
            "changed_train_rows": len(churned.changed_train_ids),
            "update_s": {"reindex": reindex.to_json() if reindex else None, "train": times}, **block}


def run_churn(inputs: ChurnInputs, settings: ChurnSettings, folder: RunFolder) -> dict[str, Any]:
    """Every fraction of ``settings``; writes and returns churn.json."""
    if inputs.adapters.first("ft") is None:
        raise HarnessError("churn needs the grid's fine-tuned adapter (a condition with adaptation: ft); "
                           "add {adaptation: ft, rag: false} to the conditions")
    document = {"settings": settings.to_dict(), "retriever": inputs.grid.retriever.kind,
                "fractions": [churn_fraction(inputs, settings, k, folder) for k in settings.fractions]}
    cache.write_json_atomic(folder.path / CHURN_FILE, document)
    return document
