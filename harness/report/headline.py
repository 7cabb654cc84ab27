"""The headline plot of report.html: every condition's suite mean with its 95% interval against
what a query costs it, the two axes of the Decision, readable in five seconds. Each condition
keeps its page colour; the recommended one is named so in its label."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from harness.decision import Decision
from harness.report import svg

TITLE = "Quality vs cost per query"


def _cell(frame: pd.DataFrame, condition: str, column: str) -> float:
    if column not in frame or condition not in frame.index:
        return math.nan
    value: Any = frame.loc[condition, column]
    return float(value) if isinstance(value, (int, float)) else math.nan


def points(frame: pd.DataFrame, made: Decision) -> list[svg.Point]:
    """One point per condition: x = USD per 1,000 queries (the Decision's price), y = the
    leaderboard's suite mean and its interval."""
    out = []
    for condition, priced in made.priced.items():
        label = f"{condition} (recommended)" if condition == made.recommended else condition
        out.append(svg.Point(1000 * priced.per_query, _cell(frame, condition, "mean"), label, condition,
                             _cell(frame, condition, "mean_ci_low"), _cell(frame, condition, "mean_ci_high")))
    return out


def headline_plot(frame: pd.DataFrame, made: Decision | None) -> str:
    """The SVG (a placeholder saying why when the run has no Decision or no suite mean)."""
    if made is None:
        return svg.empty(TITLE, "no Decision for this run (see the log of `report`)")
    drawn = points(frame, made)
    dearest = max((p.x for p in drawn if math.isfinite(p.x)), default=0.0)
    return svg.scatter(TITLE, drawn, x_label=f"USD per 1,000 queries (at {made.hourly:g} USD/h)",
                       y_label="suite mean (95% CI)", y_range=(0.0, 1.0), x_range=(0.0, 1.15 * dearest or 1.0),
                       width=560, height=340, colors=svg.condition_colors([str(c) for c in frame.index]))


__all__ = ["TITLE", "headline_plot", "points"]
