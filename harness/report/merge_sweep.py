"""The merge sweep as a curve: knowledge gained against forgetting, from base (α = 0) to the
tuned arm (α = 1).

Why: the point of interpolating a fine-tune back towards its base is a trade — some of the
domain gain for some of the general ability back. Each ``merge-<α>`` condition is already a row
of the leaderboard; this puts them in α order between their two endpoints (base is α = 0 and
the tuned arm, ft or full per ``merge.of``, is α = 1, exactly: harness.finetune.merge), with the
suite mean closed book and with each retriever, and the forgetting suite's scores, each with the
leaderboard's 95% CI. A table in leaderboard.md and a line chart in report.html; a difference
between two points is tested where the leaderboard tests it (Δ vs the reference).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from harness.report import svg
from harness.report.tables import Table, value_cell

MEAN = "mean"


def sweep_points(conditions: Sequence[str], of: str = "ft") -> list[tuple[float, str]]:
    """(α, closed-book condition) from base to the tuned arm; [] without a merge condition."""
    alphas = sorted({float(c.split("+")[0][len("merge-"):]) for c in conditions if c.startswith("merge-")})
    if not alphas:
        return []
    points = [(0.0, "base")] if "base" in conditions and 0.0 not in alphas else []
    points += [(a, f"merge-{a:g}") for a in alphas]
    points += [(1.0, of)] if of in conditions and 1.0 not in alphas else []
    return [(a, c) for a, c in points if c in conditions]


def _columns(conditions: Sequence[str], side: Sequence[str]) -> list[tuple[str, str, str]]:
    """(heading, suffix of the condition, frame column): the mean closed and per retriever, then
    the side (forgetting) suite's ``task/metric`` columns, closed book only."""
    retrievers = sorted({c.split("+", 1)[1] for c in conditions if c.startswith("merge-") and "+" in c})
    cols = [("suite mean, closed book", "", MEAN)] + [(f"suite mean, +{r}", f"+{r}", MEAN) for r in retrievers]
    return cols + [(f"forgetting {c}", "", c) for c in side]


def _cell(frame: pd.DataFrame, condition: str, col: str) -> str:
    if condition not in frame.index or col not in frame or math.isnan(frame.loc[condition, col]):
        return ""
    return value_cell(frame, condition, col)


def merge_sweep_table(frame: pd.DataFrame, of: str = "ft", side: Sequence[str] = ()) -> Table | None:
    """α, the condition, and each column's value [95% CI]; None without a merge condition."""
    conditions = list(frame.index)
    points = sweep_points(conditions, of)
    if not points:
        return None
    columns = _columns(conditions, side)
    rows: dict[str, dict[str, Any]] = {}
    for alpha, name in points:
        rows[f"{alpha:g}"] = {"condition": name} | {
            heading: _cell(frame, f"{name}{suffix}", col) for heading, suffix, col in columns}
    shown = pd.DataFrame.from_dict(rows, orient="index")
    shown.index.name = "α"
    return (f"Merge sweep: (1 − α)·base + α·{of}, from base (α = 0) to {of} (α = 1); value [95% CI], "
            "Δs tested in the leaderboard", shown)


def merge_sweep_plot(frame: pd.DataFrame, of: str = "ft", side: Sequence[str] = ()) -> list[tuple[str, str]]:
    """(caption, svg) of the sweep for report.html; [] without a merge condition."""
    conditions = list(frame.index)
    points = sweep_points(conditions, of)
    if not points:
        return []
    series: dict[str, list[svg.Value | None]] = {}
    for heading, suffix, col in _columns(conditions, side):
        series[heading] = [_value(frame, f"{name}{suffix}", col) for _, name in points]
    labels = [f"α = {a:g} ({name})" for a, name in points]
    chart = svg.line_chart("Merge sweep", labels, series, y_label="score")
    return [(f"Merging {of} back into base: the suite mean and the forgetting suite's scores against α "
             "(whisker: 95% CI).", chart)]


def _value(frame: pd.DataFrame, condition: str, col: str) -> svg.Value | None:
    if condition not in frame.index or col not in frame:
        return None
    get: Mapping[str, Any] = frame.loc[condition]
    return svg.Value(float(get[col]), float(get.get(f"{col}_ci_low", math.nan)),
                     float(get.get(f"{col}_ci_high", math.nan)))
