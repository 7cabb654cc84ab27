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
TITLES = {"forgetting": "Forgetting: {suite} suite, closed book (Δ vs {reference}, pp, 95% paired CI, p)"}


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


def _row(side: SideSuite, condition: str, task: str, metric: str, ref: str | None, seed: int) -> dict[str, Any]:
    col = f"{task}/{metric}"
    got = side.scores[condition].get(task, {})
    ci = paired.interval(side.samples, condition, task, metric, got, seed)
    row: dict[str, Any] = {col: ci.estimate, f"{col}_ci_low": ci.low, f"{col}_ci_high": ci.high, f"{col}_n": ci.n}
    if ref is not None:
        agg = (float(side.scores[ref].get(task, {}).get(metric, math.nan)),
               float(side.scores[ref].get(task, {}).get(f"{metric}_stderr", math.nan)))
        value = paired.delta(paired.metric_scores(side.samples, ref, task, metric),
                             paired.metric_scores(side.samples, condition, task, metric), agg,
                             (float(got.get(metric, math.nan)), float(got.get(f"{metric}_stderr", math.nan))),
                             stats.stable_seed(condition, ref, task, side.kind, base=seed))
        paired.put_delta(row, f"{col}_delta", value)
    return row


def add_columns(frame: pd.DataFrame, side: SideSuite, reference: str, seed: int) -> None:
    """``<task>/<metric>`` of the side suite's tasks for the conditions it scored, with a
    bootstrap CI and the paired delta against ``side.reference_for(reference)``."""
    ref = side.reference_for(reference)
    for task, metric in side.primary.items():
        values = {condition: _row(side, condition, task, metric, ref, seed)
                  for condition in frame.index if condition in side.scores}
        table = pd.DataFrame.from_dict(values, orient="index")
        for name in table.columns:
            frame[name] = table[name]


def present_columns(frame: pd.DataFrame, side: SideSuite) -> list[str]:
    """The side suite's ``<task>/<metric>`` columns the frame holds (a task no condition scored has none)."""
    return [col for col in side.columns() if col in frame.columns]


__all__ = ["TITLES", "SideSuite", "add_columns", "present_columns", "side_suites"]
