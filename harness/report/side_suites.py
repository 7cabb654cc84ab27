"""Suites scored beside the experiment's own: today the forgetting check.

A run with ``forgetting_suite`` also evaluates its closed-book conditions on another suite's
tasks, to see what fine-tuning cost elsewhere. Those scores are data keyed by condition, suite
and task (``SideSuite``), read from metrics.json's ``"forgetting"`` block and the records under
``samples/<condition>/forgetting/``; the leaderboard adds their ``<task>/<metric>`` columns (never
part of ``mean``) and renders one table per side suite, without knowing what a forgetting suite is.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from harness.records import FORGETTING_DIR, Samples, load_samples
from harness.report import paired
from harness.scoring import stats

# kind -> the title of its table ({suite}: the side suite's name, {reference}: what Δ is against)
TITLES = {"forgetting": "Forgetting: {suite} suite, closed book (Δ vs {reference}, pp, paired CI at its Holm level, p)"}


@dataclass(frozen=True)
class SideSuite:
    """One side suite's scores: aggregates and per-sample scores, condition -> task -> ..."""

    kind: str  # a key of TITLES
    suite: str
    primary: dict[str, str]  # task -> primary metric, in name order
    scores: dict[str, dict[str, dict[str, float]]]  # condition -> task -> metric (lm-eval's aggregates)
    samples: Samples  # condition -> task -> sample id -> metric

    def reference_for(self, reference: str) -> str | None:
        """The condition deltas are taken against: the run's reference, else ``base`` (a RAG
        reference has no closed-book scores here), else none."""
        return reference if reference in self.scores else ("base" if "base" in self.scores else None)

    def columns(self) -> list[str]:
        return [f"{task}/{metric}" for task, metric in self.primary.items()]

    def title(self, reference: str) -> str:
        ref = self.reference_for(reference) or "reference"
        return TITLES[self.kind].format(suite=self.suite or f"{self.kind} suite", reference=ref)


def side_suites(stored: Mapping[str, Any], run_dir: Path) -> list[SideSuite]:
    """The side suites of a run folder (``stored``: its metrics.json); [] for most runs."""
    block = stored.get("forgetting")
    if not block:
        return []
    return [SideSuite("forgetting", str(block.get("suite") or ""), paired.ordered(block.get("primary") or {}),
                      dict(block.get("conditions") or {}), load_samples(run_dir, FORGETTING_DIR))]


def _values(side: SideSuite, condition: str, task: str, metric: str, seed: int) -> dict[str, Any]:
    col = f"{task}/{metric}"
    ci = paired.interval(side.samples, condition, task, metric, side.scores[condition].get(task, {}), seed)
    return {col: ci.estimate, f"{col}_ci_low": ci.low, f"{col}_ci_high": ci.high, f"{col}_n": ci.n}


def _aggregate(side: SideSuite, condition: str, task: str, metric: str) -> tuple[float, float]:
    got = side.scores[condition].get(task, {})
    return float(got.get(metric, math.nan)), float(got.get(f"{metric}_stderr", math.nan))


def add_columns(frame: pd.DataFrame, side: SideSuite, reference: str, seed: int) -> None:
    """``<task>/<metric>`` of the side suite's tasks for the conditions it scored, with a CI,
    and the paired delta against ``side.reference_for(reference)``; the table's deltas are one
    Holm family."""
    ref = side.reference_for(reference)
    rows: dict[str, dict[str, Any]] = {}
    cells: dict[Any, stats.DeltaAt] = {}
    for task, metric in side.primary.items():
        for condition in [c for c in frame.index if c in side.scores]:
            rows.setdefault(condition, {}).update(_values(side, condition, task, metric, seed))
            if ref is not None and condition != ref:
                cells[(condition, f"{task}/{metric}")] = paired.delta_at(
                    side.samples, ref, condition, task, metric, _aggregate(side, ref, task, metric),
                    _aggregate(side, condition, task, metric), stats.stable_seed(condition, ref, task, side.kind, base=seed))
    for (condition, col), delta in stats.holm_family(cells).items():
        paired.put_delta(rows[condition], f"{col}_delta", delta)
    if ref is not None and ref in rows:  # the reference against itself: 0, untested
        for task, metric in side.primary.items():
            paired.put_delta(rows[ref], f"{task}/{metric}_delta", stats.missing_delta(0.0))
    table = pd.DataFrame.from_dict(rows, orient="index")
    for name in table.columns:
        frame[name] = table[name]


def present_columns(frame: pd.DataFrame, side: SideSuite) -> list[str]:
    """The side suite's ``<task>/<metric>`` columns the frame holds (a task no condition scored has none)."""
    return [col for col in side.columns() if col in frame.columns]


__all__ = ["TITLES", "SideSuite", "add_columns", "present_columns", "side_suites"]
