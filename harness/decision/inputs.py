"""What a decision reads from a finished run folder: per-question evidence, the measured costs,
and which conditions train an adapter or keep an index. Nothing here needs a model."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from harness.records import RunFolder, Samples, load_samples
from harness.scoring import samples as paired
from harness.scoring import stats


@dataclass(frozen=True)
class ConditionCost:
    """A condition's measured costs: per question (model seconds, tokens), one-off (seconds of
    fine-tuning, of building the index) and standing (bytes the retriever holds while serving;
    nan when the run predates the measurement)."""

    seconds_per_query: float
    prompt_tokens: float
    generated_tokens: float
    finetune_s: float
    index_s: float
    index_memory_bytes: float = 0.0
    refresh_s: float | None = None  # one update when documents change, measured by churn (None: redo one-off)


@dataclass(frozen=True)
class RunInputs:
    """A run's evidence per condition and task, its costs, and what produced it."""

    path: Path
    primary: dict[str, str]
    reference: str
    samples: Samples
    costs: dict[str, ConditionCost]
    manifest: dict[str, Any] | None
    extra_metrics: dict[str, Any]
    forgetting: dict[str, Any] | None

    @property
    def conditions(self) -> list[str]:
        return list(self.costs)

    def evidence(self, condition: str, ids: Mapping[str, list[str]] | None = None) -> list[stats.Evidence] | None:
        """The condition's evidence on every task (on ``ids[task]`` when given), None if a task lacks records."""
        out = []
        for task, metric in self.primary.items():
            found = paired.evidence(self.samples, condition, task, metric, None if ids is None else ids[task])
            if found is None:
                return None
            out.append(found[1])
        return out

    def shared_ids(self) -> dict[str, list[str]]:
        """Per task, the questions every condition answered (the pairing of every comparison)."""
        out = {}
        for task in self.primary:
            sets = [set(self.samples.get(c, {}).get(task, {})) for c in self.conditions]
            out[task] = sorted(set.intersection(*sets)) if sets else []
        return out


CONTROLS = ("style",)  # measurement controls, not a way to ship knowledge: never a candidate


def _conditions(stored: Mapping[str, Any], manifest: Mapping[str, Any] | None) -> dict[str, tuple[bool, bool]]:
    """condition -> (trains an adapter, keeps an index), from the manifest's spec (else the name),
    for the conditions a decision chooses among (the ``style`` format control left out)."""
    specs = ((manifest or {}).get("spec") or {}).get("conditions") or []
    known = {c["name"]: (c.get("adaptation") not in ("base", "icl"), bool(c.get("rag"))) for c in specs if "name" in c}
    controls = {c["name"] for c in specs if "name" in c and c.get("adaptation") in CONTROLS}
    return {c: known.get(c, (not c.startswith(("base", "icl")), "+" in c)) for c in stored["conditions"]
            if c not in controls}


def _num(value: object) -> float:
    return float(value) if isinstance(value, (int, float)) else math.nan


def _index_memory(stored: Mapping[str, Any]) -> float:
    """The retriever's serving footprint: one retriever per run, so the largest variant's figure."""
    sizes = [v["memory_bytes"] for v in (stored.get("retrieval") or {}).values()
             if isinstance(v, Mapping) and isinstance(v.get("memory_bytes"), (int, float))]
    return float(max(sizes)) if sizes else math.nan


def _cost(condition: str, trains: bool, rag: bool, stored: Mapping[str, Any],
          timings: Mapping[str, float]) -> ConditionCost:
    cost = ((stored.get("extra") or {}).get("cost") or {}).get(condition) or {}
    latency = (stored.get("latency") or {}).get(condition) or {}
    seconds = _num(cost.get("seconds_per_sample", latency.get("seconds_per_sample")))
    finetune = _num(cost.get("finetune_s", timings.get("finetune"))) if trains else 0.0
    index = _num(timings.get("retrieval")) if rag else 0.0
    return ConditionCost(seconds, _num(cost.get("mean_prompt_tokens")), _num(cost.get("mean_generated_tokens")),
                         0.0 if math.isnan(finetune) else finetune, 0.0 if math.isnan(index) else index,
                         _index_memory(stored) if rag else 0.0)


def churn_refresh(run_dir: Path, kinds: Mapping[str, tuple[bool, bool]]) -> dict[str, float]:
    """condition -> seconds of one update measured by the run's churn experiment (churn.json) at
    its priced fraction: FT retrained from scratch, RAG re-indexed incrementally, FT+RAG both;
    {} without a churn experiment (each refresh then repeats the one-off work)."""
    from harness.churn.document import read_churn

    document = read_churn(run_dir)
    if not document:
        return {}
    priced = document["settings"].get("priced_fraction")
    block = next((b for b in document["fractions"] if b["fraction"] == priced), document["fractions"][-1])
    update = block["update_s"]
    retrain = update["train"].get("ft_retrain")
    reindex = (update.get("reindex") or {}).get("incremental_s", 0.0)
    out = {}
    for condition, (trains, rag) in kinds.items():
        if trains and retrain is None:
            continue
        out[condition] = (float(retrain) if trains else 0.0) + (float(reindex) if rag else 0.0)
    return out


def load_inputs(run_dir: Path) -> RunInputs:
    """A completed run folder's decision inputs (harness.errors.HarnessError if it is not one)."""
    run = RunFolder(Path(run_dir))
    stored = run.read_metrics()
    manifest = run.read_manifest()
    timings = (manifest or {}).get("timings_s") or {}
    kinds = _conditions(stored, manifest)
    costs = {c: _cost(c, *kinds[c], stored, timings) for c in kinds}
    refresh = churn_refresh(run.path, kinds)
    costs = {c: replace(k, refresh_s=refresh[c]) if c in refresh else k for c, k in costs.items()}
    return RunInputs(run.path, paired.ordered(stored["primary"]), str(stored.get("reference") or ""),
                     load_samples(run.path), costs, manifest, ((stored.get("extra") or {}).get("metrics") or {}),
                     stored.get("forgetting"))


__all__ = ["ConditionCost", "RunInputs", "load_inputs"]
