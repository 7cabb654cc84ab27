"""Leaderboard: rows = conditions, columns = each task's primary metric with a 95% CI, their
mean, and deltas against the reference condition (default: base closed-book) with paired CIs
and p-values.

The numbers come from the run folder's per-sample records (``samples/<condition>/<task>.jsonl``)
when they exist, because only per-question scores allow paired tests: two conditions answered
the same questions, so a delta is tested question by question. Without records the table falls
back to lm-eval's aggregates and their standard errors.
"""

from __future__ import annotations

import html
import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from harness.report import stats

# condition -> task -> sample id -> metric -> score
Samples = dict[str, dict[str, dict[str, dict[str, float]]]]
Metrics = Mapping[str, Mapping[str, Mapping[str, float]]]

COST_ORDER = ("mean_prompt_tokens", "mean_generated_tokens", "seconds_per_sample", "finetune_s")
SIG_NOTE = "95% CIs (bootstrap); Δ paired per question; * = CI excludes 0 and p < 0.05, ns = not significant"


# ---------------------------------------------------------------- per-sample records


def sample_key(record: Mapping[str, Any]) -> str:
    """The id a sample is paired on: the suite's row id, else lm-eval's doc index."""
    if record.get("id") is not None:
        return str(record["id"])
    return f"doc:{record.get('doc_id')}"


def _score(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def read_records(path: Path) -> list[dict[str, Any]]:
    """The records of one ``samples/<condition>/<task>.jsonl`` file."""
    rows = []
    with open(path, encoding="utf-8") as handle:
        for line_no, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                rows.append(json.loads(line))
            except ValueError as err:
                raise ValueError(f"{path}:{line_no}: not JSON ({err})") from err
    return rows


def record_files(run_dir: Path, sub: str = "") -> list[Path]:
    """``samples/<condition>/<task>.jsonl`` of a run folder, in name order ([] if none);
    ``sub="forgetting"``: the forgetting suite's ``samples/<condition>/forgetting/<task>.jsonl``."""
    root = Path(run_dir) / "samples"
    return sorted(root.glob(f"*/{sub}/*.jsonl" if sub else "*/*.jsonl")) if root.is_dir() else []


def load_samples(run_dir: Path, sub: str = "") -> Samples:
    """Per-sample scores of a run folder, keyed by condition, task and sample id ({} if none)."""
    out: Samples = {}
    for path in record_files(run_dir, sub):
        condition = path.parent.parent.name if sub else path.parent.name
        out.setdefault(condition, {})[path.stem] = {
            sample_key(r): {m: _score(v) for m, v in (r.get("scores") or {}).items()} for r in read_records(path)}
    return out


def metric_scores(samples: Samples, condition: str, task: str, metric: str) -> dict[str, float] | None:
    """``{id: score}`` for one metric, or None when the run has no records for it."""
    per_id = samples.get(condition, {}).get(task)
    if not per_id:
        return None
    scores = {i: s.get(metric, math.nan) for i, s in per_id.items()}
    return scores if any(not math.isnan(v) for v in scores.values()) else None


# ---------------------------------------------------------------- the numeric frame


def ordered(primary: Mapping[str, str]) -> dict[str, str]:
    """Tasks in name order: metrics.json stores keys sorted, so a run and a later ``report`` of
    it only print the same table if the order never depends on where ``primary`` came from."""
    return {task: primary[task] for task in sorted(primary)}


def _delta(ref: dict[str, float] | None, got: dict[str, float] | None, ref_agg: tuple[float, float],
           got_agg: tuple[float, float], seed: int) -> stats.Delta:
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


def _put_delta(row: dict[str, Any], prefix: str, delta: stats.Delta) -> None:
    row[prefix] = delta.estimate
    row[f"{prefix}_ci_low"] = delta.low
    row[f"{prefix}_ci_high"] = delta.high
    row[f"{prefix}_p"] = delta.p_value


def variant_args(stored: Mapping[str, Any], run_dir: Path) -> dict[str, Any]:
    """The keyword arguments of ``build`` for a run with multiple fine-tuning seeds or a
    forgetting suite, from its metrics.json contents and samples ({} for other runs)."""
    out: dict[str, Any] = {}
    if stored.get("per_seed"):
        out["per_seed"] = stored["per_seed"]
    if stored.get("forgetting"):
        out["forgetting"] = stored["forgetting"]
        out["forgetting_samples"] = load_samples(run_dir, "forgetting")
    return out


def build(metrics: Metrics, primary: Mapping[str, str], reference: str, samples: Samples | None = None,
          *, seed: int = 0, per_seed: Mapping[str, Mapping[str, Metrics]] | None = None,
          forgetting: Mapping[str, Any] | None = None, forgetting_samples: Samples | None = None) -> pd.DataFrame:
    """``metrics[condition][task][metric]`` (+ per-sample records) → one numeric row per condition.

    Columns: ``<task>/<metric>`` with ``_stderr``, ``_ci_low``, ``_ci_high``, ``_n``; ``mean`` with
    its CI; and when the reference condition exists ``delta_vs_<reference>`` and
    ``<task>/<metric>_delta``, each with ``_ci_low``, ``_ci_high`` and ``_p``.
    """
    samples = samples or {}
    primary = ordered(primary)
    tasks = list(primary.items())
    has_ref = reference in metrics or reference in samples
    rows = []
    for condition in metrics:
        row: dict[str, Any] = {"condition": condition}
        groups: list[np.ndarray] = []
        for task, metric in tasks:
            col = f"{task}/{metric}"
            got = metrics[condition].get(task, {})
            scores = metric_scores(samples, condition, task, metric)
            if scores is not None:
                ci = stats.bootstrap_ci(list(scores.values()), seed=stats.stable_seed(condition, task, base=seed))
                groups.append(np.array(list(scores.values()), dtype=float))
            else:
                ci = stats.Interval(float(got.get(metric, math.nan)), math.nan, math.nan, int(got.get("n", 0)))
            row[col] = ci.estimate
            row[f"{col}_stderr"] = float(got.get(f"{metric}_stderr", math.nan))
            row[f"{col}_ci_low"], row[f"{col}_ci_high"], row[f"{col}_n"] = ci.low, ci.high, ci.n
        values = [row[f"{t}/{m}"] for t, m in tasks]
        if tasks and len(groups) == len(tasks):
            mean = stats.stratified_bootstrap_ci(groups, seed=stats.stable_seed(condition, "mean", base=seed))
            row["mean"], row["mean_ci_low"], row["mean_ci_high"] = mean.estimate, mean.low, mean.high
        else:
            row["mean"] = sum(values) / len(values) if values else math.nan
            row["mean_ci_low"] = row["mean_ci_high"] = math.nan
        rows.append(row)
    frame = pd.DataFrame(rows).set_index("condition")
    if has_ref and reference in frame.index:
        _add_deltas(frame, metrics, primary, reference, samples, seed)
    if per_seed:
        _add_seed_spread(frame, per_seed, primary)
    if forgetting:
        _add_forgetting(frame, forgetting, forgetting_samples or {}, reference, seed)
    return frame


SEEDS_COL = "n_seeds"
SPREAD_PREFIX = "seed_std:"  # no "/" in the name: compare reads <task>/<metric> columns as primary


def _add_seed_spread(frame: pd.DataFrame, per_seed: Mapping[str, Mapping[str, Metrics]],
                     primary: Mapping[str, str]) -> None:
    """``n_seeds``, ``seed_std:<task>:<metric>`` and ``seed_std:mean``: the sample standard
    deviation over fine-tuning seeds of each primary metric and of their mean (empty for
    conditions evaluated once)."""
    primary = ordered(primary)
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


def _add_forgetting(frame: pd.DataFrame, forgetting: Mapping[str, Any], samples: Samples, reference: str,
                    seed: int) -> None:
    """``<task>/<metric>`` of the forgetting suite's tasks (closed-book conditions only; not in
    ``mean``) with a bootstrap CI and the paired delta against the reference condition (or
    ``base`` when the reference has no forgetting scores)."""
    stored: Mapping[str, Any] = forgetting.get("conditions") or {}
    ref = reference if reference in stored else ("base" if "base" in stored else None)
    for task, metric in ordered(forgetting.get("primary") or {}).items():
        col = f"{task}/{metric}"
        values: dict[str, dict[str, float]] = {}
        for condition in frame.index:
            if condition not in stored:
                continue
            scores = metric_scores(samples, condition, task, metric)
            got = stored[condition].get(task, {})
            ci = (stats.bootstrap_ci(list(scores.values()), seed=stats.stable_seed(condition, task, base=seed))
                  if scores is not None else
                  stats.Interval(float(got.get(metric, math.nan)), math.nan, math.nan, int(got.get("n", 0))))
            row = {col: ci.estimate, f"{col}_ci_low": ci.low, f"{col}_ci_high": ci.high, f"{col}_n": ci.n}
            if ref is not None:
                agg = (float(stored[ref].get(task, {}).get(metric, math.nan)),
                       float(stored[ref].get(task, {}).get(f"{metric}_stderr", math.nan)))
                delta = _delta(metric_scores(samples, ref, task, metric), scores, agg,
                               (float(got.get(metric, math.nan)), float(got.get(f"{metric}_stderr", math.nan))),
                               stats.stable_seed(condition, ref, task, "forgetting", base=seed))
                _put_delta(row, f"{col}_delta", delta)
            values[condition] = row
        table = pd.DataFrame.from_dict(values, orient="index")
        for name in table.columns:
            frame[name] = table[name]
    frame.attrs["forgetting"] = {"suite": forgetting.get("suite"), "reference": ref,
                                 "primary": dict(ordered(forgetting.get("primary") or {}))}


def _add_deltas(frame: pd.DataFrame, metrics: Metrics, primary: Mapping[str, str], reference: str,
                samples: Samples, seed: int) -> None:
    records: dict[str, dict[str, Any]] = {}
    for condition in frame.index:
        row: dict[str, Any] = {}
        ref_groups, got_groups = [], []
        for task, metric in primary.items():
            col = f"{task}/{metric}"
            ref = metric_scores(samples, reference, task, metric)
            got = metric_scores(samples, condition, task, metric)
            delta = _delta(ref, got, (frame.loc[reference, col], frame.loc[reference, f"{col}_stderr"]),
                           (frame.loc[condition, col], frame.loc[condition, f"{col}_stderr"]),
                           stats.stable_seed(condition, reference, task, base=seed))
            _put_delta(row, f"{col}_delta", delta)
            if ref is not None and got is not None:
                _, a, b = stats.align(ref, got)
                if a.size:
                    ref_groups.append(a)
                    got_groups.append(b)
        name = f"delta_vs_{reference}"
        if primary and len(ref_groups) == len(primary):
            delta = stats.paired_delta_groups(ref_groups, got_groups,
                                              seed=stats.stable_seed(condition, reference, "mean", base=seed))
        else:
            est = frame.loc[condition, "mean"] - frame.loc[reference, "mean"]
            delta = stats.Delta(est, math.nan, math.nan, math.nan, 0, "none", False)
        _put_delta(row, name, delta)
        records[condition] = row
    extra = pd.DataFrame.from_dict(records, orient="index")
    head = [c for c in extra.columns if c.startswith("delta_vs_")]
    for col in head + [c for c in extra.columns if c not in head]:
        frame[col] = extra[col]


# ---------------------------------------------------------------- RAG × FT 2×2


def factorial_pairs(conditions: list[str]) -> list[str]:
    """Retrievers r for which base, base+r, ft and ft+r all exist."""
    if "base" not in conditions or "ft" not in conditions:
        return []
    return sorted(c[len("base+"):] for c in conditions
                  if c.startswith("base+") and f"ft+{c[len('base+'):]}" in conditions)


def _aligned4(samples: Samples, names: list[str], task: str, metric: str) -> list[np.ndarray] | None:
    got = [metric_scores(samples, n, task, metric) for n in names]
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
    primary = ordered(primary)
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


# ---------------------------------------------------------------- rendering


def _pp(x: float) -> str:
    return f"{100 * x:+.1f}"


def _p(p: float) -> str:
    if math.isnan(p):
        return ""
    return "p<0.001" if p < 0.001 else f"p={p:.3f}"


def _mark(low: float, high: float, p: float) -> str:
    if any(math.isnan(x) for x in (low, high, p)):
        return ""
    return " *" if (low > 0 or high < 0) and p < stats.ALPHA else " ns"


def _value_cell(frame: pd.DataFrame, condition: str, col: str) -> str:
    v = frame.loc[condition, col]
    low, high = frame.loc[condition, f"{col}_ci_low"], frame.loc[condition, f"{col}_ci_high"]
    if not math.isnan(low):
        return f"{v:.3f} [{low:.3f}, {high:.3f}]"
    stderr = frame[f"{col}_stderr"].get(condition, math.nan) if f"{col}_stderr" in frame else math.nan
    return f"{v:.3f} ± {stderr:.3f}" if not math.isnan(stderr) else f"{v:.3f}"


def _delta_cell(frame: pd.DataFrame, condition: str, prefix: str, reference: str) -> str:
    if condition == reference:
        return "(reference)"
    v = frame.loc[condition, prefix]
    low, high, p = (frame.loc[condition, f"{prefix}_{s}"] for s in ("ci_low", "ci_high", "p"))
    if math.isnan(low):
        return f"{_pp(v)} pp"
    return f"{_pp(v)} pp [{_pp(low)}, {_pp(high)}] {_p(p)}{_mark(low, high, p)}"


def display_tables(frame: pd.DataFrame, primary: Mapping[str, str], reference: str,
                   fact: pd.DataFrame | None = None) -> list[tuple[str, pd.DataFrame]]:
    """The human tables as (title, string frame): main, Δ per task, RAG × FT."""
    primary = ordered(primary)
    main = pd.DataFrame(index=frame.index)
    for task, metric in primary.items():
        main[f"{task}/{metric}"] = [_value_cell(frame, c, f"{task}/{metric}") for c in frame.index]
    main["mean"] = [_value_cell(frame, c, "mean") if "mean_ci_low" in frame else f"{frame.loc[c, 'mean']:.3f}"
                    for c in frame.index]
    delta = f"delta_vs_{reference}"
    tables = [("", main)]
    if delta in frame:
        main[f"Δ mean vs {reference}"] = [_delta_cell(frame, c, delta, reference) for c in frame.index]
        per_task = pd.DataFrame(index=[c for c in frame.index if c != reference])
        per_task.index.name = "condition"
        for task, metric in primary.items():
            per_task[f"Δ {task}/{metric}"] = [_delta_cell(frame, c, f"{task}/{metric}_delta", reference)
                                              for c in per_task.index]
        if len(per_task):
            tables.append((f"Δ per task vs {reference} (pp, 95% paired CI, p)", per_task))
    if SEEDS_COL in frame:
        main["seeds"] = ["" if math.isnan(n) else f"{int(n)}" for n in frame[SEEDS_COL]]
        main["± seed std (mean)"] = ["" if math.isnan(v) else f"±{v:.3f}" for v in frame[f"{SPREAD_PREFIX}mean"]]
    forgetting = forgetting_table(frame, primary)
    if forgetting is not None:
        tables.append(forgetting)
    if fact is not None and len(fact):
        shown = pd.DataFrame({
            "retriever": fact["retriever"],
            "task": [t if m == "mean" else f"{t}/{m}" for t, m in zip(fact["task"], fact["metric"])],
            "FT gain": [f"{_pp(v)} pp" for v in fact["ft_gain"]],
            "RAG gain": [f"{_pp(v)} pp" for v in fact["rag_gain"]],
            "FT+RAG gain": [f"{_pp(v)} pp" for v in fact["combined_gain"]],
            "FT + RAG (sum)": [f"{_pp(v)} pp" for v in fact["sum_of_gains"]],
            "interaction": [
                f"{_pp(v)} pp" + (f" [{_pp(lo)}, {_pp(hi)}] {_p(p)}" if not math.isnan(lo) else "")
                for v, lo, hi, p in zip(fact["interaction"], fact["interaction_ci_low"],
                                        fact["interaction_ci_high"], fact["interaction_p"])],
            "do they add up?": fact["verdict"],
        }).set_index("retriever")
        tables.append(("RAG × FT (gains vs base; interaction = FT+RAG gain − (FT gain + RAG gain))", shown))
    return tables


def forgetting_columns(frame: pd.DataFrame, primary: Mapping[str, str]) -> list[str]:
    """``<task>/<metric>`` columns that are not the suite's own primary metrics: the forgetting suite's."""
    own = {f"{t}/{m}" for t, m in primary.items()}
    suffixes = ("_stderr", "_ci_low", "_ci_high", "_n", "_delta", "_p")
    return [c for c in frame.columns
            if "/" in c and c not in own and not c.endswith(suffixes) and "_delta_" not in c and ":" not in c]


def forgetting_table(frame: pd.DataFrame, primary: Mapping[str, str]) -> tuple[str, pd.DataFrame] | None:
    """Closed-book scores on the forgetting suite and their paired delta against the reference."""
    cols = forgetting_columns(frame, primary)
    if not cols:
        return None
    info = frame.attrs.get("forgetting") or {}
    ref = info.get("reference") or ""
    rows = [c for c in frame.index if frame[cols].loc[c].notna().any()]
    shown = pd.DataFrame(index=pd.Index(rows, name="condition"))
    for col in cols:
        shown[col] = [_value_cell(frame, c, col) for c in rows]
    for col in cols:
        if f"{col}_delta" in frame:
            shown[f"Δ {col}"] = [_delta_cell(frame, c, f"{col}_delta", ref) for c in rows]
    suite = info.get("suite") or "forgetting suite"
    return (f"Forgetting: {suite} suite, closed book (Δ vs {ref or 'reference'}, pp, 95% paired CI, p)", shown)


def to_markdown(frame: pd.DataFrame, primary: Mapping[str, str], reference: str,
                fact: pd.DataFrame | None = None) -> str:
    """All tables as markdown, the main one first and untitled (it is what the run prints)."""
    parts = []
    for title, table in display_tables(frame, primary, reference, fact):
        parts.append(f"**{title}**\n\n{table.to_markdown()}" if title else table.to_markdown())
    if "mean_ci_low" in frame and frame["mean_ci_low"].notna().any():
        parts.append(f"_{SIG_NOTE}_")
    return "\n\n".join(parts)


def _tex_escape(text: object) -> str:
    out = str(text)
    for raw, esc in (("\\", r"\textbackslash{}"), ("&", r"\&"), ("%", r"\%"), ("$", r"\$"), ("#", r"\#"),
                     ("_", r"\_"), ("{", r"\{"), ("}", r"\}"), ("~", r"\textasciitilde{}"),
                     ("^", r"\textasciicircum{}"), ("Δ", r"$\Delta$"), ("×", r"$\times$"),
                     ("±", r"$\pm$"), ("−", "-"), ("<", r"\textless{}")):
        out = out.replace(raw, esc) if raw != "\\" else out.replace(raw, "\x00")
    return out.replace("\x00", r"\textbackslash{}")


def to_latex(tables: list[tuple[str, pd.DataFrame]]) -> str:
    """booktabs tabulars, one per table (no jinja2 needed)."""
    blocks = []
    for title, table in tables:
        header = [table.index.name or ""] + list(table.columns)
        lines = [f"% {title}" if title else "% leaderboard", r"\begin{tabular}{l" + "l" * len(table.columns) + "}",
                 r"\toprule", " & ".join(_tex_escape(h) for h in header) + r" \\", r"\midrule"]
        for idx, row in table.iterrows():
            lines.append(" & ".join(_tex_escape(v) for v in [idx, *row.tolist()]) + r" \\")
        lines += [r"\bottomrule", r"\end{tabular}"]
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks) + "\n"


def to_html(tables: list[tuple[str, pd.DataFrame]]) -> str:
    """A standalone page with every table."""
    body = []
    for title, table in tables:
        if title:
            body.append(f"<h3>{html.escape(title)}</h3>")
        body.append(table.to_html(escape=True))
    body.append(f"<p><em>{html.escape(SIG_NOTE)}</em></p>")
    return ("<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>leaderboard</title></head><body>\n"
            + "\n".join(body) + "\n</body></html>\n")


def retrieval_markdown(retrieval: Mapping[str, Mapping[str, float]] | None) -> str:
    """Retrieval quality per RAG task variant, shown under the answer metrics."""
    if not retrieval:
        return ""
    table = pd.DataFrame({name: dict(values) for name, values in retrieval.items()}).T
    order = ("recall@", "mrr@", "ndcg@", "answer_in_context", "mean_context_tokens", "n")
    table = table[sorted(table.columns, key=lambda c: (next(
        (i for i, p in enumerate(order) if c == p or (p.endswith("@") and c.startswith(p))), len(order)), c))]
    table = table.sort_index()
    table.index.name = "task variant"
    return "\n\n**Retrieval (gold documents and whether the answer reached the prompt)**\n\n" + \
        table.to_markdown(floatfmt=".3f")


# ---------------------------------------------------------------- extra metrics and cost


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


def extra_tables(extras: Any) -> list[tuple[str, pd.DataFrame]]:
    """The extra-metric and cost tables (``extras``: harness.report.extra_metrics.Extras)."""
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
        tables.append(("Extra metrics (per-sample means, 95% bootstrap CI; not part of the gate)", shown))
    if getattr(extras, "judge", None):
        tables.append(judge_table(extras.judge))
    if extras.cost:
        names = sorted(extras.cost)
        shown = pd.DataFrame({
            "mean prompt tokens": [_cost_cell(extras.cost[c].get("mean_prompt_tokens"), 1) for c in names],
            "mean generated tokens": [_cost_cell(extras.cost[c].get("mean_generated_tokens"), 1) for c in names],
            "s per sample": [_cost_cell(extras.cost[c].get("seconds_per_sample"), 3) for c in names],
            "fine-tuning s": [_cost_cell(extras.cost[c].get("finetune_s"), 1) for c in names],
        }, index=pd.Index(names, name="condition"))
        tables.append((f"Cost (tokens counted with: {extras.tokenizer}; s per sample: model time per question, "
                        f"batched, as measured by the run; fine-tuning s: {extras.finetune_source})",
                       shown))
    return tables


def judge_table(judge: Mapping[str, Any]) -> tuple[str, pd.DataFrame]:
    """The LLM judge's paired deltas vs the reference (over questions both replies parsed), with
    who judged in the title (``judge``: Extras.judge, see harness.judge.summary)."""
    from harness.judge.summary import METRICS, label

    reference = judge.get("reference")
    index, rows = [], []
    for condition, tasks in sorted((judge.get("deltas") or {}).items()):
        for task, got in sorted(tasks.items()):
            index.append(f"{task} · {condition}")
            rows.append({f"Δ {m} vs {reference}": "" if m not in got else
                         f"{_pp(got[m]['estimate'])} pp [{_pp(got[m]['ci_low'])}, {_pp(got[m]['ci_high'])}] "
                         f"{_p(got[m]['p'])}{_mark(got[m]['ci_low'], got[m]['ci_high'], got[m]['p'])} (n={got[m]['n']})"
                         for m in METRICS})
    counts = judge.get("counts") or {}
    title = (f"LLM judge: {label(judge)}; {counts.get('judged', 0)} answers judged, {counts.get('unparsable', 0)} "
             "unparsable (left out, never scored 0); paired deltas over questions both replies parsed")
    return title, pd.DataFrame(rows, index=pd.Index(index, name="task · condition"))


def extras_markdown(extras: Any) -> str:
    if extras is None:
        return ""
    parts = [f"**{title}**\n\n{table.to_markdown()}" for title, table in extra_tables(extras)]
    if not parts:
        return ""
    parts.append(f"_answer similarity: {extras.similarity}_")
    return "\n\n" + "\n\n".join(parts)


def with_extras(frame: pd.DataFrame, extras: Any) -> pd.DataFrame:
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


def write(frame: pd.DataFrame, primary: Mapping[str, str], reference: str, out_dir: Path,
          samples: Samples | None = None, *, seed: int = 0,
          retrieval: Mapping[str, Mapping[str, float]] | None = None, extras: Any = None) -> str:
    """Write leaderboard.{md,csv,parquet,tex,html} (+ rag_x_ft.csv when the 2×2 exists);
    returns the markdown. ``extras`` (harness.report.extra_metrics.Extras) adds the extra-metric
    and cost tables and columns; the primary columns are the same with or without it."""
    out_dir = Path(out_dir)
    fact = factorial(frame, primary, samples, seed=seed)
    markdown = to_markdown(frame, primary, reference, fact) + retrieval_markdown(retrieval) + extras_markdown(extras)
    (out_dir / "leaderboard.md").write_text(markdown + "\n")
    board = with_extras(frame, extras)
    board.to_csv(out_dir / "leaderboard.csv", float_format="%.6g")
    board.to_parquet(out_dir / "leaderboard.parquet")
    tables = display_tables(frame, primary, reference, fact) + extra_tables(extras)
    (out_dir / "leaderboard.tex").write_text(to_latex(tables))
    (out_dir / "leaderboard.html").write_text(to_html(tables))
    if len(fact):
        fact.to_csv(out_dir / "rag_x_ft.csv", index=False, float_format="%.6g")
    return markdown


def rebuild(run_dir: Path, *, seed: int = 0) -> str:
    """Rebuild every leaderboard file of a run folder from metrics.json and its samples/."""
    run_dir = Path(run_dir)
    stored = json.loads((run_dir / "metrics.json").read_text())
    samples = load_samples(run_dir)
    frame = build(stored["conditions"], stored["primary"], stored["reference"], samples, seed=seed,
                  **variant_args(stored, run_dir))
    return write(frame, stored["primary"], stored["reference"], run_dir, samples, seed=seed,
                 retrieval=stored.get("retrieval_metrics"))
