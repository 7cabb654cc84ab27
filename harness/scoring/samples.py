"""Per-question evidence from a run's samples: what every statistic of a report, the gate and the
decision is computed on (harness.scoring.stats.Evidence), and the pairing of two conditions on
the questions they both answered."""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

from harness.records import GOLD, PRED, SEED, Samples
from harness.scoring.stats import Evidence


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


def _labels(per_id: Mapping[str, Mapping[str, float]], ids: list[str], metric: str) -> tuple[np.ndarray, np.ndarray] | None:
    gold = [per_id[i].get(f"{metric}{GOLD}", math.nan) for i in ids]
    pred = [per_id[i].get(f"{metric}{PRED}", math.nan) for i in ids]
    if any(math.isnan(v) for v in gold + pred):
        return None
    return np.array(gold, dtype=int), np.array(pred, dtype=int)


def _seed_matrix(per_id: Mapping[str, Mapping[str, float]], ids: list[str], metric: str) -> np.ndarray | None:
    prefix = f"{metric}{SEED}"
    seeds = sorted({k for i in ids for k in per_id[i] if k.startswith(prefix)})
    if len(seeds) < 2:
        return None
    matrix = np.array([[per_id[i].get(s, math.nan) for i in ids] for s in seeds], dtype=float)
    return None if np.isnan(matrix).any() else matrix


def evidence(samples: Samples, condition: str, task: str, metric: str,
             ids: list[str] | None = None) -> tuple[list[str], Evidence] | None:
    """(question ids, evidence) of one condition on one task's metric, restricted to ``ids``
    (in that order) when given; None without records for it."""
    per_id = samples.get(condition, {}).get(task)
    if not per_id:
        return None
    ids = sorted(per_id) if ids is None else ids
    labels = _labels(per_id, ids, metric)
    values = np.array([per_id[i].get(metric, math.nan) for i in ids], dtype=float)
    if labels is None and (not ids or np.isnan(values).all()):
        return None
    return ids, Evidence(values, _seed_matrix(per_id, ids, metric), labels)


def aligned(samples: Samples, ref: str, cond: str, task: str, metric: str) -> tuple[Evidence, Evidence] | None:
    """Both conditions' evidence on the questions they share (None if either has none)."""
    a, b = samples.get(ref, {}).get(task), samples.get(cond, {}).get(task)
    if not a or not b:
        return None
    ids = sorted(set(a) & set(b))
    got_a, got_b = evidence(samples, ref, task, metric, ids), evidence(samples, cond, task, metric, ids)
    if not ids or got_a is None or got_b is None:
        return None
    return got_a[1], got_b[1]


__all__ = ["aligned", "evidence", "metric_scores", "ordered"]
