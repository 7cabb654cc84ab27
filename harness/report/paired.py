"""The primitives every leaderboard table shares: task order, per-question scores, deltas.

A delta is paired question by question when both conditions have per-sample records (they
answered the same questions), unpaired when their questions differ, and taken from lm-eval's
aggregates and standard errors when there are no records.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from harness.records import Samples
from harness.scoring import stats

SEEDS_COL = "n_seeds"
SPREAD_PREFIX = "seed_std:"  # no "/" in the name: compare reads <task>/<metric> columns as primary


def ordered(primary: Mapping[str, str]) -> dict[str, str]:
    """Tasks in name order: metrics.json stores keys sorted, so a run and a later ``report`` of
    it only print the same table if the order never depends on where ``primary`` came from."""
    return {task: primary[task] for task in sorted(primary)}


def metric_scores(samples: Samples, condition: str, task: str, metric: str) -> dict[str, float] | None:
    """``{id: score}`` for one metric, or None when the run has no records for it."""
    per_id = samples.get(condition, {}).get(task)
    if not per_id:
        return None
    scores = {i: s.get(metric, math.nan) for i, s in per_id.items()}
    return scores if any(not math.isnan(v) for v in scores.values()) else None


def delta(ref: dict[str, float] | None, got: dict[str, float] | None, ref_agg: tuple[float, float],
          got_agg: tuple[float, float], seed: int) -> stats.Delta:
    """``got - ref``: paired over shared questions, else unpaired, else from (value, stderr)."""
    if ref is not None and got is not None:
        _, a, b = stats.align(ref, got)
        if a.size:
            return stats.paired_delta(a, b, seed=seed)
        return stats.unpaired_delta(list(ref.values()), list(got.values()), seed=seed)
    if math.isnan(ref_agg[1]) and math.isnan(got_agg[1]):
        # no per-question scores and no stderr (a corpus-level metric such as macro-F1): the
        # delta is known, its uncertainty is not — never claim a collapsed CI or significance
        return stats.Delta(got_agg[0] - ref_agg[0], math.nan, math.nan, math.nan, 0, "none", False)
    return stats.normal_delta(ref_agg[0], ref_agg[1], got_agg[0], got_agg[1])


def put_delta(row: dict[str, Any], prefix: str, value: stats.Delta) -> None:
    """``prefix``, ``prefix_ci_low``, ``prefix_ci_high`` and ``prefix_p`` of one delta."""
    row[prefix] = value.estimate
    row[f"{prefix}_ci_low"] = value.low
    row[f"{prefix}_ci_high"] = value.high
    row[f"{prefix}_p"] = value.p_value


def interval(samples: Samples, condition: str, task: str, metric: str, got: Mapping[str, float],
             seed: int) -> stats.Interval:
    """A condition's score on a task with its 95% CI: bootstrapped over its per-sample scores,
    else lm-eval's aggregate (``got``) without a CI."""
    scores = metric_scores(samples, condition, task, metric)
    if scores is not None:
        return stats.bootstrap_ci(list(scores.values()), seed=stats.stable_seed(condition, task, base=seed))
    return stats.Interval(float(got.get(metric, math.nan)), math.nan, math.nan, int(got.get("n", 0)))


__all__ = ["SEEDS_COL", "SPREAD_PREFIX", "delta", "interval", "metric_scores", "ordered", "put_delta"]
