"""The RAG × FT 2×2: do retrieval and fine-tuning add up?

For each retriever r with all four conditions (base, base+r, ft, ft+r) and each task (and the
mean over tasks): the FT gain, the RAG gain, the combined gain, and the interaction
``combined - (FT + RAG)`` with a CI paired per question.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from harness.records import Samples
from harness.report import paired
from harness.scoring import stats


def factorial_pairs(conditions: list[str]) -> list[str]:
    """Retrievers r for which base, base+r, ft and ft+r all exist."""
    if "base" not in conditions or "ft" not in conditions:
        return []
    return sorted(c[len("base+"):] for c in conditions
                  if c.startswith("base+") and f"ft+{c[len('base+'):]}" in conditions)


def _aligned4(samples: Samples, names: list[str], task: str, metric: str) -> list[np.ndarray] | None:
    got = [paired.metric_scores(samples, n, task, metric) for n in names]
    if any(g is None for g in got):
        return None
    ids = sorted(set.intersection(*(set(g) for g in got)))  # type: ignore[union-attr]
    if not ids:
        return None
    return [np.array([g[i] for i in ids], dtype=float) for g in got]  # type: ignore[index]


def factorial(frame: pd.DataFrame, primary: Mapping[str, str], samples: Samples | None = None,
              *, seed: int = 0) -> pd.DataFrame:
    """Per task (and the mean over tasks): FT gain, RAG gain, combined gain, and the
    interaction ``combined - (FT + RAG)`` with a paired CI — do the two adaptations add up?"""
    samples = samples or {}
    primary = paired.ordered(primary)
    rows = []
    for r in factorial_pairs(list(frame.index)):
        names = ["base", f"base+{r}", "ft", f"ft+{r}"]
        groups_a, groups_b = [], []
        entries = [(task, metric) for task, metric in primary.items()] + [("mean", "")]
        for task, metric in entries:
            col = f"{task}/{metric}" if metric else "mean"
            b, br, f, fr = (float(frame.loc[n, col]) for n in names)
            row: dict[str, Any] = {"retriever": r, "task": task, "metric": metric or "mean",
                                   "ft_gain": f - b, "rag_gain": br - b, "combined_gain": fr - b,
                                   "sum_of_gains": (f - b) + (br - b)}
            if metric:
                aligned = _aligned4(samples, names, task, metric)
                if aligned is not None:
                    groups_a.append(aligned[2] + aligned[1] - aligned[0])
                    groups_b.append(aligned[3])
                    inter = stats.paired_delta(groups_a[-1], groups_b[-1],
                                               seed=stats.stable_seed(r, task, "interaction", base=seed))
                else:
                    inter = None
            elif groups_a and len(groups_a) == len(primary):
                inter = stats.paired_delta_groups(groups_a, groups_b,
                                                  seed=stats.stable_seed(r, "mean", "interaction", base=seed))
            else:
                inter = None
            row["interaction"] = row["combined_gain"] - row["sum_of_gains"]
            row["interaction_ci_low"] = inter.low if inter else math.nan
            row["interaction_ci_high"] = inter.high if inter else math.nan
            row["interaction_p"] = inter.p_value if inter else math.nan
            if inter is None:
                row["verdict"] = "n/a (no per-sample records)"
            elif not inter.significant:
                row["verdict"] = "additive (interaction ns)"
            else:
                row["verdict"] = "more than additive" if inter.estimate > 0 else "less than additive"
            rows.append(row)
    return pd.DataFrame(rows)


__all__ = ["factorial", "factorial_pairs"]
