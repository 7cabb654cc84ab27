"""The RAG × FT 2×2: do retrieval and fine-tuning add up?

For each retriever r with all four conditions (base, base+r, ft, ft+r) and each task (and the
mean over tasks): the FT gain, the RAG gain, the combined gain, and the interaction
``combined - (FT + RAG)`` with a CI paired per question (harness.scoring.stats.evidence.contrast).
The table's interactions are one Holm family. An interaction that is not significant is not
evidence of additivity: the verdict says "additive" only when the whole interval lies within
``ADDITIVE_MARGIN``, else "no evidence of interaction" with the interval, which shows how large
an interaction the data still allow.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import pandas as pd

from harness.records import Samples
from harness.report import paired
from harness.scoring import stats

ADDITIVE_MARGIN = 0.05  # an interaction within ±5 points counts as additive (an equivalence margin)
COEFFICIENTS = (1.0, -1.0, -1.0, 1.0)  # base, base+r, ft, ft+r: ft+r - ft - base+r + base


def factorial_pairs(conditions: list[str]) -> list[str]:
    """Retrievers r for which base, base+r, ft and ft+r all exist."""
    if "base" not in conditions or "ft" not in conditions:
        return []
    return sorted(c[len("base+"):] for c in conditions
                  if c.startswith("base+") and f"ft+{c[len('base+'):]}" in conditions)


def _aligned4(samples: Samples, names: list[str], task: str, metric: str) -> list[stats.Evidence] | None:
    per_task = [samples.get(n, {}).get(task) for n in names]
    if any(not p for p in per_task):
        return None
    ids = sorted(set.intersection(*(set(p) for p in per_task)))  # type: ignore[arg-type]
    found = [paired.evidence(samples, n, task, metric, ids) for n in names]
    if not ids or any(f is None for f in found):
        return None
    return [f[1] for f in found]  # type: ignore[index]


def verdict(inter: stats.Delta | None, margin: float = ADDITIVE_MARGIN) -> str:
    """What the interaction interval supports (the interval is at the delta's Holm level)."""
    if inter is None or math.isnan(inter.low):
        return "n/a (no per-sample records)"
    if inter.significant:
        return "more than additive" if inter.estimate > 0 else "less than additive"
    interval = f"[{100 * inter.low:+.1f}, {100 * inter.high:+.1f}] pp"
    if -margin < inter.low and inter.high < margin:
        return f"additive (interaction within ±{100 * margin:.0f} pp: {interval})"
    return f"no evidence of interaction ({interval}; additivity not shown)"


def _cells(samples: Samples, primary: Mapping[str, str], r: str, seed: int) -> dict[Any, stats.DeltaAt]:
    names = ["base", f"base+{r}", "ft", f"ft+{r}"]
    cells: dict[Any, stats.DeltaAt] = {}
    per_task = []
    for task, metric in primary.items():
        evs = _aligned4(samples, names, task, metric)
        if evs is None:
            continue
        per_task.append(evs)
        cells[(r, task)] = (lambda alpha, evs=evs, s=stats.stable_seed(r, task, "interaction", base=seed):
                            stats.evidence.contrast([evs], COEFFICIENTS, alpha=alpha, seed=s))
    if per_task and len(per_task) == len(primary) and len(primary) > 1:
        cells[(r, "mean")] = (lambda alpha, s=stats.stable_seed(r, "mean", "interaction", base=seed):
                              stats.evidence.contrast(per_task, COEFFICIENTS, alpha=alpha, seed=s))
    return cells


def factorial(frame: pd.DataFrame, primary: Mapping[str, str], samples: Samples | None = None,
              *, seed: int = 0) -> pd.DataFrame:
    """Per task (and the mean over tasks): FT gain, RAG gain, combined gain, and the
    interaction ``combined - (FT + RAG)`` with a paired CI — do the two adaptations add up?"""
    samples = samples or {}
    primary = paired.ordered(primary)
    retrievers = factorial_pairs(list(frame.index))
    cells: dict[Any, stats.DeltaAt] = {}
    for r in retrievers:
        cells.update(_cells(samples, primary, r, seed))
    tested = stats.holm_family(cells)
    rows = []
    for r in retrievers:
        names = ["base", f"base+{r}", "ft", f"ft+{r}"]
        for task, metric in [*primary.items(), ("mean", "")]:
            col = f"{task}/{metric}" if metric else "mean"
            b, br, f, fr = (float(frame.loc[n, col]) for n in names)
            inter = tested.get((r, task)) or (tested.get((r, next(iter(primary)))) if len(primary) == 1 else None)
            rows.append({"retriever": r, "task": task, "metric": metric or "mean",
                         "ft_gain": f - b, "rag_gain": br - b, "combined_gain": fr - b,
                         "sum_of_gains": (f - b) + (br - b), "interaction": (fr - b) - (f - b) - (br - b),
                         "interaction_ci_low": inter.low if inter else math.nan,
                         "interaction_ci_high": inter.high if inter else math.nan,
                         "interaction_p": inter.p_value if inter else math.nan,
                         "interaction_p_holm": inter.p_adjusted if inter else math.nan,
                         "verdict": verdict(inter)})
    return pd.DataFrame(rows)


__all__ = ["ADDITIVE_MARGIN", "factorial", "factorial_pairs", "verdict"]
