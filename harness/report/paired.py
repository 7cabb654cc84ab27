"""The primitives every leaderboard table shares: task order, per-question evidence, deltas.

A delta is paired question by question when both conditions have per-sample records (they
answered the same questions), unpaired when their questions differ, and taken from lm-eval's
aggregates and standard errors when there are no records. Which procedure each claim uses is
decided by harness.scoring.stats.evidence; this module only gathers the evidence from a run's
samples and keeps table families together for Holm's adjustment.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from harness.records import GOLD, N_CHOICES, Samples
from harness.scoring import stats
from harness.scoring.degenerate import uniform_guess_macro_f1
from harness.scoring.samples import aligned, evidence, metric_scores, ordered

SEEDS_COL = "n_seeds"
SPREAD_PREFIX = "seed_std:"  # no "/" in the name: compare reads <task>/<metric> columns as primary


def delta_at(samples: Samples, ref: str, cond: str, task: str, metric: str, ref_agg: tuple[float, float],
             got_agg: tuple[float, float], seed: int) -> stats.DeltaAt:
    """``cond - ref`` on one task as a function of alpha (for Holm): paired over shared
    questions, else unpaired, else from (value, stderr)."""
    pair = aligned(samples, ref, cond, task, metric)
    if pair is not None:
        return lambda alpha: stats.evidence.delta(*pair, alpha=alpha, seed=seed)
    a, b = metric_scores(samples, ref, task, metric), metric_scores(samples, cond, task, metric)
    if a is not None and b is not None:
        return lambda alpha: stats.unpaired_delta(list(a.values()), list(b.values()), alpha=alpha, seed=seed)
    return lambda alpha: stats.normal_delta(ref_agg[0], ref_agg[1], got_agg[0], got_agg[1], alpha=alpha)


def put_delta(row: dict[str, Any], prefix: str, value: stats.Delta) -> None:
    """``prefix`` with ``_ci_low``, ``_ci_high`` (at ``_ci_level``), ``_p`` and ``_p_holm``."""
    row[prefix] = value.estimate
    row[f"{prefix}_ci_low"] = value.low
    row[f"{prefix}_ci_high"] = value.high
    row[f"{prefix}_ci_level"] = value.level if not math.isnan(value.low) else math.nan
    row[f"{prefix}_p"] = value.p_value
    row[f"{prefix}_p_holm"] = value.p_adjusted


def interval(samples: Samples, condition: str, task: str, metric: str, got: Mapping[str, float],
             seed: int) -> stats.Interval:
    """A condition's score on a task with its 95% CI (harness.scoring.stats.evidence.value),
    else lm-eval's aggregate (``got``) without a CI."""
    found = evidence(samples, condition, task, metric)
    if found is not None:
        return stats.evidence.value(found[1], seed=stats.stable_seed(condition, task, base=seed))
    return stats.Interval(float(got.get(metric, math.nan)), math.nan, math.nan, int(got.get("n", 0)))


def chance(samples: Samples, task: str, metric: str) -> float:
    """The expected score of a uniform random guess: mean 1 / #choices for accuracy; for
    macro-F1 the mean over gold labels of 2 pi_k (1/K) / (pi_k + 1/K) (a random guesser's
    per-label precision is the label's share pi_k, its recall 1/K). nan without choices."""
    for tasks in samples.values():
        per_id = tasks.get(task)
        if not per_id:
            continue
        counts = [s[N_CHOICES] for s in per_id.values() if N_CHOICES in s]
        if not counts:
            return math.nan
        if metric in ("acc", "acc_norm", "exact_match"):
            return float(np.mean([1 / c for c in counts]))
        gold = [s.get(f"{metric}{GOLD}") for s in per_id.values()]
        if any(g is None or math.isnan(g) for g in gold):
            return math.nan
        return uniform_guess_macro_f1(gold, max(counts))
    return math.nan


__all__ = ["SEEDS_COL", "SPREAD_PREFIX", "aligned", "chance", "delta_at", "evidence", "interval",
           "metric_scores", "ordered", "put_delta"]
