"""The scoring tables and columns of a leaderboard: extra metrics, the LLM judge, cost.

They render a ``harness.scoring.RunScores`` beside the primary metrics and are never part of
the gate: ``compare`` reads only ``<task>/<metric>`` columns, and none of the columns added here
holds a ``/``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import pandas as pd

from harness.report.tables import Table, mark, p_text, pp
from harness.scoring.result import RunScores

COST_ORDER = ("mean_prompt_tokens", "mean_generated_tokens", "seconds_per_sample", "finetune_s")


def _extra_cell(values: Mapping[str, Any], name: str) -> str:
    v = values.get(name)
    if v is None:
        return ""
    if isinstance(v, int):  # a count (judge_unparsable)
        return str(v)
    low, high = values.get(f"{name}_ci_low"), values.get(f"{name}_ci_high")
    return f"{v:.3f} [{low:.3f}, {high:.3f}]" if low is not None and high is not None else f"{v:.3f}"


def _cost_cell(v: Any, digits: int) -> str:
    return "" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.{digits}f}"


def seconds_cell(cost: dict[str, Any]) -> str:
    """Model seconds per question, saying when the figure is an earlier run's (every answer of
    this one came from the response cache) or missing for that reason."""
    shown, source = _cost_cell(cost.get("seconds_per_sample"), 3), str(cost.get("seconds_source") or "")
    if "cached" not in source:
        return shown
    return f"{shown} (cached)" if shown else "not measured (every answer cached)"


def extra_tables(extras: RunScores | None) -> list[Table]:
    """The extra-metric and cost tables (``extras``: harness.scoring.RunScores)."""
    if extras is None:
        return []
    tables = []
    names = extras.names()
    index, rows = [], []
    for task in sorted({t for c in extras.metrics.values() for t in c}):
        for condition in sorted(extras.metrics):
            values = extras.metrics[condition].get(task)
            if values:
                index.append(f"{task} · {condition}")
                rows.append({name: _extra_cell(values, name) for name in names})
    if rows:
        shown = pd.DataFrame(rows, index=pd.Index(index, name="task · condition"))
        shown = shown[[n for n in names if shown[n].astype(bool).any()]]
        tables.append(("Extra metrics (per-sample means, 95% CI: Wilson for 0/1 scores, else bootstrap; not part of the gate)", shown))
    if getattr(extras, "judge", None):
        tables.append(judge_table(extras.judge))
    if extras.cost:
        names = sorted(extras.cost)
        shown = pd.DataFrame({
            "mean prompt tokens": [_cost_cell(extras.cost[c].get("mean_prompt_tokens"), 1) for c in names],
            "mean generated tokens": [_cost_cell(extras.cost[c].get("mean_generated_tokens"), 1) for c in names],
            "s per sample": [seconds_cell(extras.cost[c]) for c in names],
            "fine-tuning s": [_cost_cell(extras.cost[c].get("finetune_s"), 1) for c in names],
        }, index=pd.Index(names, name="condition"))
        tables.append((f"Cost (tokens counted with: {extras.tokenizer}; s per sample: model time per question, "
                        f"batched, as measured by the run; fine-tuning s: {extras.finetune_source})",
                       shown))
    return tables


def judge_table(judge: Mapping[str, Any]) -> Table:
    """The LLM judge's paired deltas vs the reference (over questions both replies parsed), with
    who judged in the title (``judge``: RunScores.judge, see harness.scoring.judge.summary)."""
    from harness.scoring.judge.summary import METRICS, label

    reference = judge.get("reference")
    index, rows = [], []
    for condition, tasks in sorted((judge.get("deltas") or {}).items()):
        for task, got in sorted(tasks.items()):
            index.append(f"{task} · {condition}")
            rows.append({f"Δ {m} vs {reference}": "" if m not in got else
                         f"{pp(got[m]['estimate'])} pp [{pp(got[m]['ci_low'])}, {pp(got[m]['ci_high'])}] "
                         f"{p_text(got[m]['p'])}{mark(got[m]['ci_low'], got[m]['ci_high'], got[m]['p'])} (n={got[m]['n']})"
                         for m in METRICS})
    counts = judge.get("counts") or {}
    title = (f"LLM judge: {label(judge)}; {counts.get('judged', 0)} answers judged, {counts.get('unparsable', 0)} "
             "unparsable (left out, never scored 0); paired deltas over questions both replies parsed")
    return title, pd.DataFrame(rows, index=pd.Index(index, name="task · condition"))


def extras_markdown(extras: RunScores | None) -> str:
    if extras is None:
        return ""
    parts = [f"**{title}**\n\n{table.to_markdown()}" for title, table in extra_tables(extras)]
    if not parts:
        return ""
    parts.append(f"_answer similarity: {extras.similarity}_")
    return "\n\n" + "\n\n".join(parts)


def with_extras(frame: pd.DataFrame, extras: RunScores | None) -> pd.DataFrame:
    """A copy of the numeric frame with ``extra:<task>:<metric>`` (+ ``_ci_low``/``_ci_high``) and
    ``cost:<key>`` columns. No ``/`` in these names: ``compare`` reads ``<task>/<metric>``
    columns of a leaderboard.csv as primary metrics."""
    if extras is None:
        return frame
    out = frame.copy()
    extra: dict[str, dict[str, float]] = {}
    for condition in out.index:
        row: dict[str, float] = {}
        for task, values in sorted(extras.metrics.get(condition, {}).items()):
            for name in extras.names():
                for suffix in ("", "_ci_low", "_ci_high"):
                    v = values.get(f"{name}{suffix}")
                    if v is not None:
                        row[f"extra:{task}:{name}{suffix}"] = float(v)
        for key, v in (extras.cost.get(condition) or {}).items():
            if not isinstance(v, str):  # "seconds_source" says how a figure was obtained: the tables show it
                row[f"cost:{key}"] = math.nan if v is None else float(v)
        extra[condition] = row
    table = pd.DataFrame.from_dict(extra, orient="index")
    rank = {name: i for i, name in enumerate(extras.names())}

    def position(col: str) -> tuple:
        kind, _, rest = col.partition(":")
        if kind == "cost":
            return (1, "", 0, list(COST_ORDER).index(rest) if rest in COST_ORDER else len(COST_ORDER))
        task, _, name = rest.partition(":")
        base = next((n for n in rank if name in (n, f"{n}_ci_low", f"{n}_ci_high")), name)
        return (0, task, rank.get(base, len(rank)), ("", "_ci_low", "_ci_high").index(name[len(base):]))

    for col in sorted(table.columns, key=position):
        out[col] = table[col]
    return out


__all__ = ["COST_ORDER", "extra_tables", "extras_markdown", "judge_table", "with_extras"]
