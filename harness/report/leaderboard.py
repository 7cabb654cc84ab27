"""Leaderboard: rows = conditions, columns = each task's primary metric with a 95% CI, their
mean (every task counts once: the mean the Decision ranks on), the per-question mean beside it
(every question counts once, so a 2-question task cannot outweigh a 100-question one unseen),
and deltas against the reference condition (default: base closed-book) with paired CIs and
p-values.

The numbers come from the run folder's per-sample records (``samples/<condition>/<task>.jsonl``,
read by harness.records) when they exist, because only per-question scores allow paired tests:
two conditions answered the same questions, so a delta is tested question by question. Without
records the table falls back to lm-eval's aggregates and their standard errors.

This module builds the numeric frame and writes the leaderboard files; the tables people read
are rendered by harness.report.tables, the scoring columns by harness.report.extras_tables.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from harness.records import RunFolder, Samples, load_samples
from harness.report import breakdown, paired
from harness.report.extras_tables import extra_tables, extras_markdown, with_extras
from harness.report.factorial import factorial
from harness.report.paired import SEEDS_COL, SPREAD_PREFIX
from harness.report.side_suites import SideSuite, add_columns, side_suites
from harness.report.tables import (
    PER_QUESTION,
    Table,
    display_tables,
    mean_notes,
    retrieval_markdown,
    to_html,
    to_latex,
    to_markdown,
)
from harness.scoring import stats
from harness.scoring.result import RunScores

Metrics = Mapping[str, Mapping[str, Mapping[str, float]]]


def variant_args(stored: Mapping[str, Any], run_dir: Path) -> dict[str, Any]:
    """The keyword arguments of ``build`` for a run with multiple fine-tuning seeds or a side
    suite (the forgetting check), from its metrics.json contents and samples ({} for other runs)."""
    out: dict[str, Any] = {}
    if stored.get("per_seed"):
        out["per_seed"] = stored["per_seed"]
    sides = side_suites(stored, run_dir)
    if sides:
        out["sides"] = sides
    return out


def _row(metrics: Metrics, tasks: list[tuple[str, str]], samples: Samples, condition: str,
         seed: int) -> dict[str, Any]:
    """One condition's row: every task's value with CI, stderr and n, then the mean with its CI."""
    row: dict[str, Any] = {"condition": condition}
    evs: list[stats.Evidence] = []
    for task, metric in tasks:
        col = f"{task}/{metric}"
        got = metrics[condition].get(task, {})
        found = paired.evidence(samples, condition, task, metric)
        if found is not None:
            evs.append(found[1])
        ci = paired.interval(samples, condition, task, metric, got, seed)
        row[col] = ci.estimate
        row[f"{col}_stderr"] = float(got.get(f"{metric}_stderr", math.nan))
        row[f"{col}_ci_low"], row[f"{col}_ci_high"], row[f"{col}_n"] = ci.low, ci.high, ci.n
    _put_means(row, [(row[f"{t}/{m}"], row[f"{t}/{m}_n"]) for t, m in tasks], evs if len(evs) == len(tasks) else [])
    return row


def _put_means(row: dict[str, Any], values: list[tuple[float, int]], evs: list[stats.Evidence]) -> None:
    """``mean`` (tasks weighted equally) and ``per_question_mean`` (tasks weighted by their
    questions), each with its CI from the per-question evidence (``evs``, one per task), else
    from the task values alone without a CI."""
    if values and evs:
        for col, by_question in (("mean", False), (PER_QUESTION, True)):
            got = stats.evidence.mean_value(evs, by_question=by_question)
            row[col], row[f"{col}_ci_low"], row[f"{col}_ci_high"] = got.estimate, got.low, got.high
        return
    sizes = [n for _, n in values]
    row["mean"] = sum(v for v, _ in values) / len(values) if values else math.nan
    row[PER_QUESTION] = (sum(v * n for v, n in values) / sum(sizes)) if values and min(sizes) > 0 else math.nan
    for col in ("mean", PER_QUESTION):
        row[f"{col}_ci_low"] = row[f"{col}_ci_high"] = math.nan


def build(metrics: Metrics, primary: Mapping[str, str], reference: str, samples: Samples | None = None,
          *, seed: int = 0, per_seed: Mapping[str, Mapping[str, Metrics]] | None = None,
          sides: Sequence[SideSuite] = ()) -> pd.DataFrame:
    """``metrics[condition][task][metric]`` (+ per-sample records) → one numeric row per condition.

    Columns: ``<task>/<metric>`` with ``_stderr``, ``_ci_low``, ``_ci_high``, ``_n``; ``mean`` and
    ``per_question_mean`` with their CIs; and when the reference condition exists ``delta_vs_<reference>`` and
    ``<task>/<metric>_delta``, each with ``_ci_low``, ``_ci_high`` and ``_p``; then the seed
    spread of multi-seed runs and each side suite's columns (not part of ``mean``).
    """
    samples = samples or {}
    primary = paired.ordered(primary)
    tasks = list(primary.items())
    has_ref = reference in metrics or reference in samples
    frame = pd.DataFrame([_row(metrics, tasks, samples, c, seed) for c in metrics]).set_index("condition")
    frame.attrs["chance"] = {f"{t}/{m}": paired.chance(samples, t, m) for t, m in tasks}
    if has_ref and reference in frame.index:
        _add_deltas(frame, metrics, primary, reference, samples, seed)
    if per_seed:
        _add_seed_spread(frame, per_seed, primary)
    for side in sides:
        add_columns(frame, side, reference, seed)
    return frame


def _add_seed_spread(frame: pd.DataFrame, per_seed: Mapping[str, Mapping[str, Metrics]],
                     primary: Mapping[str, str]) -> None:
    """``n_seeds``, ``seed_std:<task>:<metric>`` and ``seed_std:mean``: the sample standard
    deviation over fine-tuning seeds of each primary metric and of their mean (empty for
    conditions evaluated once)."""
    primary = paired.ordered(primary)
    columns: dict[str, dict[str, float]] = {}
    for condition in frame.index:
        seeds = per_seed.get(condition)
        if not seeds:
            continue
        row: dict[str, float] = {SEEDS_COL: float(len(seeds))}
        means = np.zeros(len(seeds))
        for task, metric in primary.items():
            values = np.array([float(s.get(task, {}).get(metric, math.nan)) for s in seeds.values()])
            row[f"{SPREAD_PREFIX}{task}:{metric}"] = float(np.std(values, ddof=1)) if len(values) > 1 else math.nan
            means += values / max(1, len(primary))
        row[f"{SPREAD_PREFIX}mean"] = float(np.std(means, ddof=1)) if len(means) > 1 else math.nan
        columns[condition] = row
    table = pd.DataFrame.from_dict(columns, orient="index")
    for col in table.columns:
        frame[col] = table[col]


def _add_deltas(frame: pd.DataFrame, metrics: Metrics, primary: Mapping[str, str], reference: str,
                samples: Samples, seed: int) -> None:
    """``delta_vs_<reference>`` (the mean over tasks) and ``<task>/<metric>_delta`` of every
    condition; the mean deltas are one Holm family, the per-task deltas another (the two
    tables they are printed in)."""
    mean_cells: dict[Any, stats.DeltaAt] = {}
    task_cells: dict[Any, stats.DeltaAt] = {}
    others = [c for c in frame.index if c != reference]
    for condition in others:
        pairs = []
        for task, metric in primary.items():
            col = f"{task}/{metric}"
            task_cells[(condition, col)] = paired.delta_at(
                samples, reference, condition, task, metric,
                (frame.loc[reference, col], frame.loc[reference, f"{col}_stderr"]),
                (frame.loc[condition, col], frame.loc[condition, f"{col}_stderr"]),
                stats.stable_seed(condition, reference, task, base=seed))
            pair = paired.aligned(samples, reference, condition, task, metric)
            if pair is not None:
                pairs.append(pair)
        mean_cells[condition] = _mean_delta_at(frame, condition, reference, pairs, len(primary),
                                               stats.stable_seed(condition, reference, "mean", base=seed))
    records: dict[str, dict[str, Any]] = {c: {} for c in frame.index}
    for condition, delta in stats.holm_family(mean_cells).items():
        paired.put_delta(records[condition], f"delta_vs_{reference}", delta)
    for (condition, col), delta in stats.holm_family(task_cells).items():
        paired.put_delta(records[condition], f"{col}_delta", delta)
    paired.put_delta(records[reference], f"delta_vs_{reference}", stats.missing_delta(0.0))
    for task, metric in primary.items():
        paired.put_delta(records[reference], f"{task}/{metric}_delta", stats.missing_delta(0.0))
    extra = pd.DataFrame.from_dict(records, orient="index")
    head = [c for c in extra.columns if c.startswith("delta_vs_")]
    for col in head + [c for c in extra.columns if c not in head]:
        frame[col] = extra[col]


def _mean_delta_at(frame: pd.DataFrame, condition: str, reference: str, pairs: list, tasks: int,
                   seed: int) -> stats.DeltaAt:
    if tasks and len(pairs) == tasks:
        return lambda alpha: stats.evidence.mean_delta(pairs, alpha=alpha, seed=seed)
    est = frame.loc[condition, "mean"] - frame.loc[reference, "mean"]
    return lambda alpha: stats.missing_delta(est, alpha=alpha)


def write(frame: pd.DataFrame, primary: Mapping[str, str], reference: str, out_dir: Path,
          samples: Samples | None = None, *, seed: int = 0,
          retrieval: Mapping[str, Mapping[str, float]] | None = None, extras: RunScores | None = None,
          sides: Sequence[SideSuite] = (), head: str = "", breakdowns: Sequence[Table] = ()) -> str:
    """Write leaderboard.{md,csv,parquet,tex,html} (+ rag_x_ft.csv when the 2×2 exists);
    returns the markdown (``head``, the Decision section, goes first). ``extras`` (harness.scoring.RunScores) adds the extra-metric and cost
    tables and columns; the primary columns are the same with or without it. ``sides``: the
    side suites ``build`` added columns for, each rendered as its own table. ``breakdowns``: the
    per-attribute and stale-answer tables (harness.report.breakdown), after the retrieval table."""
    out_dir = Path(out_dir)
    fact = factorial(frame, primary, samples, seed=seed)
    markdown = ((f"{head}\n\n## Leaderboard\n\n" if head else "") + to_markdown(frame, primary, reference, fact, sides)
                + retrieval_markdown(retrieval) + breakdown.breakdown_markdown(breakdowns) + extras_markdown(extras))
    (out_dir / "leaderboard.md").write_text(markdown + "\n")
    board = with_extras(frame, extras)
    board.to_csv(out_dir / "leaderboard.csv", float_format="%.6g")
    board.to_parquet(out_dir / "leaderboard.parquet")
    tables = display_tables(frame, primary, reference, fact, sides) + list(breakdowns) + extra_tables(extras)
    (out_dir / "leaderboard.tex").write_text(to_latex(tables))
    (out_dir / "leaderboard.html").write_text(to_html(tables, mean_notes(frame, primary)))
    if len(fact):
        fact.to_csv(out_dir / "rag_x_ft.csv", index=False, float_format="%.6g")
    return markdown


def rebuild(run_dir: Path, *, seed: int = 0) -> str:
    """Rebuild every leaderboard file of a run folder from metrics.json, its samples/ and tasks/."""
    run = RunFolder(Path(run_dir))
    stored = run.read_metrics()
    samples = load_samples(run.path)
    args = variant_args(stored, run.path)
    frame = build(stored["conditions"], stored["primary"], stored["reference"], samples, seed=seed, **args)
    tables = breakdown.breakdown_tables(run.path, samples, run.load_records(), stored["primary"], stored["reference"],
                                        list(frame.index), seed=seed)
    return write(frame, stored["primary"], stored["reference"], run.path, samples, seed=seed,
                 retrieval=breakdown.retrieval_by_variant(run.path, stored.get("retrieval_metrics")),
                 sides=args.get("sides", ()), breakdowns=tables)


__all__ = ["Metrics", "build", "rebuild", "variant_args", "write"]
