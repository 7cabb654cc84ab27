"""Paper vs ours: a reproduction experiment's published numbers beside the run's own.

A ``+exp=repro_*`` config carries a ``paper`` block (source, what its numbers measure, one row
per published number naming the condition and the leaderboard column it corresponds to). The
table shows both values and both deltas vs the reference condition: at the embedded model's
scale the *direction and size of the gains* are what can be compared, not absolute accuracy.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pandas as pd

from harness.errors import HarnessError

ROW_FIELDS = {"condition", "paper", "ours", "label"}


def _rows(paper: dict[str, Any]) -> list[dict[str, Any]]:
    rows = paper.get("rows") or []
    if not isinstance(rows, list) or not rows:
        raise HarnessError("paper.rows: expected a list of {condition, paper, ours[, label]} entries")
    for i, row in enumerate(rows):
        missing = {"condition", "paper", "ours"} - set(row or {})
        if missing:
            raise HarnessError(f"paper.rows[{i}]: missing field(s) {sorted(missing)}")
        unknown = set(row) - ROW_FIELDS
        if unknown:
            raise HarnessError(f"paper.rows[{i}]: unknown field(s) {sorted(unknown)}")
    return rows


def _value(frame: pd.DataFrame, condition: str, column: str) -> float:
    if condition not in frame.index or column not in frame.columns:
        return math.nan
    value = frame.loc[condition, column]
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def _fmt(value: float, pp: bool = False) -> str:
    if math.isnan(value):
        return "—"
    return f"{100 * value:+.1f} pp" if pp else f"{value:.3f}"


def paper_vs_ours(paper: dict[str, Any], frame: pd.DataFrame, reference: str) -> str:
    """The markdown table (with its source line) for one run's leaderboard frame."""
    rows = _rows(paper)
    published_ref = {str(r.get("label") or r["ours"]): float(r["paper"]) for r in rows
                     if str(r["condition"]) == reference}
    lines = [
        f"**Paper vs ours** — {paper.get('source', 'unnamed source')}",
        "",
        f"_{paper.get('note', '').strip()}_" if paper.get("note") else "",
        "",
        "| condition | measure | paper | Δ paper vs " + reference + " | ours (column) | ours | Δ ours vs " + reference + " |",
        "|:--|:--|--:|--:|:--|--:|--:|",
    ]
    for row in rows:
        condition, column = str(row["condition"]), str(row["ours"])
        label = str(row.get("label") or column)
        published = float(row["paper"])
        ours = _value(frame, condition, column)
        ours_ref = _value(frame, reference, column)
        paper_ref = published_ref.get(label, math.nan)
        lines.append(
            f"| {condition} | {label} | {published:.3f} | {_fmt(published - paper_ref, pp=True)} | {column} | "
            f"{_fmt(ours)} | {_fmt(ours - ours_ref, pp=True)} |"
        )
    return "\n".join(line for i, line in enumerate(lines) if line or i in (1, 3)) + "\n"


def write_paper_table(run_dir: Path, paper: dict[str, Any] | None, frame: pd.DataFrame, reference: str) -> str:
    """Write ``paper_vs_ours.md`` when the run's config has a ``paper`` block; returns the table."""
    if not paper:
        return ""
    table = paper_vs_ours(paper, frame, reference)
    (Path(run_dir) / "paper_vs_ours.md").write_text(table, encoding="utf-8")
    return table
