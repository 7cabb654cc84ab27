"""The evaluation stage: every condition of the grid, one lm-eval pass per model.

A *pass* is one model evaluated once — the base model (base and icl conditions) or one
adapter × fine-tuning seed — on the task variants of all its conditions, so each model is
loaded (or served) once. Records are written into the run folder as each pass finishes;
with several fine-tuning seeds a condition's records and metrics are then averaged over the
seeds, question by question, so intervals and paired deltas stay per question.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any

from harness import records
from harness.evaluate.runner import Latency, evaluate_model
from harness.finetune.adapter import Adapter
from harness.finetune.stage import Adapters
from harness.models.backends import LmSettings
from harness.records import RunFolder
from harness.sections import EvalSettings, ModelSpec
from harness.spec import Condition
from harness.variants import VariantSet

Metrics = dict[str, dict[str, float]]  # task -> metric -> value
Stage = Callable[[str], AbstractContextManager[None]]


@dataclass(frozen=True)
class EvalPass:
    """One model evaluated once: the base model (base and icl conditions) or one adapter × seed."""

    label: str
    adaptation: str  # the arm: an adaptation, or merge-<alpha>
    seed: int | None  # set only when the grid has several fine-tuning seeds
    adapter: Adapter | None
    conditions: tuple[Condition, ...]


@dataclass
class RunResults:
    """What evaluation hands on: metrics per condition (base pass first), per seed, and timing."""

    passes: list[EvalPass]
    metrics: dict[str, Metrics] = field(default_factory=dict)
    per_seed: dict[str, dict[str, Metrics]] = field(default_factory=dict)  # condition -> seed -> metrics
    latency: dict[str, list[Latency]] = field(default_factory=dict)  # condition -> one per pass (seed)
    # multi-seed grids: condition -> task -> seed -> records, averaged once every seed is in
    seed_records: dict[str, dict[str, dict[int, list[records.SampleRecord]]]] = field(default_factory=dict, repr=False)

    def latency_summary(self) -> dict[str, dict[str, Any]]:
        """Seconds per sample per condition (mean over seeds), with how each figure was obtained."""
        out = {}
        for name, passes in self.latency.items():
            values = [p.seconds_per_sample for p in passes if p.seconds_per_sample is not None]
            out[name] = {"seconds_per_sample": round(sum(values) / len(values), 4) if values else None,
                         "source": "+".join(sorted({p.source for p in passes})),
                         "samples": sum(p.samples for p in passes)}
        return out


def plan_passes(conditions: Sequence[Condition], arms: Sequence[str], seeds: Sequence[int],
                adapters: Adapters) -> list[EvalPass]:
    """The passes of a grid: the untrained model first, then each trained arm (an adaptation,
    or ``merge-<alpha>``) × seed."""
    passes = []
    untrained = tuple(c for c in conditions if c.adaptation in ("base", "icl"))
    if untrained:
        passes.append(EvalPass("base", "base", None, None, untrained))
    multi_seed = len(seeds) > 1
    for arm in arms:
        cells = tuple(c for c in conditions if c.arm == arm)
        for seed in seeds:
            label = f"{arm}-seed{seed}" if multi_seed else arm
            passes.append(EvalPass(label, arm, seed if multi_seed else None, adapters.get(arm, seed), cells))
    return passes


def evaluate_grid(passes: list[EvalPass], variants: VariantSet, model: ModelSpec, settings: EvalSettings,
                  base: Any, folder: RunFolder, *, seed: int, stage: Stage) -> RunResults:
    """Evaluate every pass (serving the models first when the backend is a server) and write
    each condition's per-sample records into ``folder``."""
    from harness.models.serving import Serving

    results = RunResults(passes)
    served = {p.label: (p.adapter.path if p.adapter is not None else None) for p in passes if p.label != "base"}
    with contextlib.ExitStack() as stack:
        with stage("serve"):
            serving = stack.enter_context(Serving(model, str(base.path), served))
        for one in passes:
            with stage(f"evaluate:{one.label}"):
                _evaluate_served(one, serving, variants, model, settings, base, seed, folder, results)
    _average_seeds(results, variants, folder)
    order = dict.fromkeys(c.name for one in passes for c in one.conditions)  # base pass first
    results.metrics = {name: results.metrics[name] for name in order}
    return results


def _evaluate_served(one: EvalPass, serving: Any, variants: VariantSet, model: ModelSpec, settings: EvalSettings,
                     base: Any, seed: int, folder: RunFolder, results: RunResults) -> None:
    """One pass; after a launched server stopped answering, again on the restarted server (the
    response cache keeps every answer already given, so only the rest is asked)."""
    from harness.models.endpoint import EndpointFailure

    while True:
        try:
            _evaluate_pass(one, variants, model, settings, base, serving.endpoints.get(one.label), seed, folder, results)
            return
        except EndpointFailure as failure:
            if not serving.recover(failure):
                raise serving.final(failure, one.label) from None


def _evaluate_pass(one: EvalPass, variants: VariantSet, model: ModelSpec, settings: EvalSettings, base: Any,
                   endpoint: Any, seed: int, folder: RunFolder, results: RunResults) -> None:
    from harness.models.resolve import model_under_test

    lm = model_under_test(model, settings.apply_chat_template, base, one.adapter, one.label, endpoint)
    groups = {c.name: [v.name for v in variants.for_condition(c)] for c in one.conditions}
    raw, timing = evaluate_model(lm, groups, variants.include_paths(),
                                 LmSettings(settings, model.client_settings(), seed))
    for name, got in timing.items():
        results.latency.setdefault(name, []).append(got)
    extra = variants.extra_tasks()
    for condition in one.conditions:
        got: Metrics = {}
        for v in variants.for_condition(condition):
            got[v.base_task] = records.task_metrics(raw, v.name)
            rows = [records.sample_record(condition.name, v.base_task, s) for s in raw.get("samples", {}).get(v.name, [])]
            folder.write_samples(condition.name, v.base_task, rows, seed=one.seed, forgetting=v.base_task in extra)
            if one.seed is not None:
                results.seed_records.setdefault(condition.name, {}).setdefault(v.base_task, {})[one.seed] = rows
        if one.seed is None:
            results.metrics[condition.name] = got
        else:
            results.per_seed.setdefault(condition.name, {})[str(one.seed)] = got


def _average_seeds(results: RunResults, variants: VariantSet, folder: RunFolder) -> None:
    """Multi-seed grids: a condition is the mean over seeds (metrics and per-question scores)."""
    extra = variants.extra_tasks()
    for name, by_seed in results.per_seed.items():
        results.metrics[name] = records.mean_metrics(list(by_seed.values()))
        for task, per_seed in results.seed_records[name].items():
            folder.write_samples(name, task, records.mean_over_seeds(per_seed), forgetting=task in extra)

