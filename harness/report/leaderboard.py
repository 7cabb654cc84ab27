"""Leaderboard: rows = conditions, columns = each task's primary metric, their mean, and
the mean's delta against the reference condition (default: base closed-book)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pandas as pd


def build(
    metrics: dict[str, dict[str, dict[str, float]]],
    primary: dict[str, str],
    reference: str,
) -> pd.DataFrame:
    """``metrics[condition][task][metric]`` → one row per condition (numeric frame)."""
    rows = []
    for condition, per_task in metrics.items():
        row: dict[str, Any] = {"condition": condition}
        values = []
        for task, metric in primary.items():
            got = per_task.get(task, {})
            value = got.get(metric, math.nan)
            row[f"{task}/{metric}"] = value
            row[f"{task}/{metric}_stderr"] = got.get(f"{metric}_stderr", math.nan)
            values.append(value)
        row["mean"] = sum(values) / len(values) if values else math.nan
        rows.append(row)
    frame = pd.DataFrame(rows).set_index("condition")
    if reference in frame.index:
        frame[f"delta_vs_{reference}"] = frame["mean"] - frame.loc[reference, "mean"]
        for task, metric in primary.items():
            col = f"{task}/{metric}"
            frame[f"{col}_delta"] = frame[col] - frame.loc[reference, col]
    return frame


def to_markdown(frame: pd.DataFrame, primary: dict[str, str], reference: str) -> str:
    """Human table: value ± stderr per task, mean, and Δ vs the reference (in points)."""
    shown = pd.DataFrame(index=frame.index)
    for task, metric in primary.items():
        col = f"{task}/{metric}"
        shown[col] = [
            f"{v:.3f} ± {s:.3f}" if not math.isnan(s) else f"{v:.3f}"
            for v, s in zip(frame[col], frame[f"{col}_stderr"])
        ]
    shown["mean"] = [f"{v:.3f}" for v in frame["mean"]]
    delta = f"delta_vs_{reference}"
    if delta in frame:
        shown[f"Δ mean vs {reference}"] = [f"{100 * v:+.1f} pp" for v in frame[delta]]
    return shown.to_markdown()


def write(frame: pd.DataFrame, primary: dict[str, str], reference: str, out_dir: Path) -> str:
    markdown = to_markdown(frame, primary, reference)
    (out_dir / "leaderboard.md").write_text(markdown + "\n")
    frame.to_csv(out_dir / "leaderboard.csv", float_format="%.6g")
    return markdown
