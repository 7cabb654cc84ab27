"""``report.html``: one self-contained page per run folder.

Leaderboard tables (CIs, deltas, p-values), retrieval, extra-metric and cost tables, inline
SVG charts, and a browsable table of every question with its context and each condition's
answer and score. No script, no external resource: a Content-Security-Policy forbids both, and
every model output, context, question and label is HTML-escaped before it reaches the page.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

import pandas as pd

from harness.records import Records
from harness.report import svg
from harness.report.browser import browser
from harness.report.extras_tables import extra_tables
from harness.report.paired import ordered
from harness.report.side_suites import SideSuite
from harness.report.tables import SIG_NOTE, TABLE_CSS, Table, display_tables, mean_notes
from harness.scoring.result import RunScores

CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
CSS = """
body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:24px auto;max-width:1280px;
 padding:0 16px;color:#222;line-height:1.4}
h1{font-size:22px;margin-bottom:4px}h2{font-size:18px;margin-top:32px;border-bottom:1px solid #ddd;
 padding-bottom:4px}h3{font-size:14px;margin:18px 0 6px}
""" + TABLE_CSS + """table.meta td:first-child{font-weight:600;background:#fafafa}
nav a{margin-right:14px}
.plots{display:flex;flex-wrap:wrap;gap:16px}
.plots figure{margin:0;border:1px solid #eee;padding:6px;background:#fff}
.plots figcaption{font-size:11px;color:#666;max-width:460px}
td.ok{background:#e8f5e9}td.bad{background:#fdecea}td.na{background:#fafafa}
.score{font-size:11px;color:#555;display:block;margin-top:3px}
pre{white-space:pre-wrap;word-break:break-word;font-size:11px;margin:4px 0;max-width:520px}
details summary{cursor:pointer;color:#35577d}
.samples td{max-width:320px}
.note{color:#666;font-size:12px}
.subset{background:#fff4e5;border:1px solid #f0c36d;padding:6px 10px}
"""


def _num(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def _e(value: Any) -> str:
    return escape("" if value is None else str(value), quote=True)


def _table(frame: pd.DataFrame, cls: str = "") -> str:
    html = frame.to_html(escape=True, border=0, na_rep="")
    return html.replace('<table class="dataframe">', f'<table class="dataframe {cls}">', 1) if cls else html


def _meta(run_id: str, manifest: Mapping[str, Any] | None, stored: Mapping[str, Any]) -> str:
    m = manifest or {}
    spec = m.get("spec") or {}
    git = m.get("git") or {}
    hw = m.get("hardware") or {}
    rows = [
        ("run", run_id),
        ("experiment", spec.get("exp_name", "")),
        ("suite", (spec.get("suite") or {}).get("name", "")),
        ("model", (spec.get("model") or {}).get("name", "")),
        ("retriever", ", ".join(f"{k}={v}" for k, v in (spec.get("retriever") or {}).items()
                                if k in ("kind", "top_k", "index", "budget_tokens"))),
        ("conditions", ", ".join(sorted(stored.get("conditions", {})))),
        ("reference", stored.get("reference", "")),
        ("git", f"{git.get('sha') or 'unknown'}{' (dirty)' if git.get('dirty') else ''}"),
        ("spec hash", m.get("spec_hash", "")),
        ("hardware", ", ".join(f"{k}={v}" for k, v in hw.items() if k in ("machine", "cpu_count", "gpu", "python"))),
        ("stage times (s)", ", ".join(f"{k} {v:.1f}" for k, v in (m.get("timings_s") or {}).items())),
        ("command", " ".join(str(a) for a in m.get("argv") or [])),
    ]
    body = "".join(f"<tr><td>{_e(k)}</td><td>{_e(v)}</td></tr>" for k, v in rows if v not in ("", None))
    return f'<table class="meta">{body}</table>'


# ---------------------------------------------------------------- charts


GAIN_GREYS = {"sum FT + RAG": "#bbbbbb", "interaction": "#333333"}


def task_bars(frame: pd.DataFrame, primary: Mapping[str, str]) -> str:
    groups, values = [], {}
    for task, metric in ordered(primary).items():
        col = f"{task}/{metric}"
        groups.append(col)
        for c in frame.index:
            values[(col, c)] = svg.Value(_num(frame.loc[c, col]), _num(frame.loc[c, f"{col}_ci_low"]),
                                         _num(frame.loc[c, f"{col}_ci_high"]))
    if "mean" in frame:
        groups.append("mean")
        for c in frame.index:
            values[("mean", c)] = svg.Value(_num(frame.loc[c, "mean"]), _num(frame.get("mean_ci_low", {}).get(c)),
                                            _num(frame.get("mean_ci_high", {}).get(c)))
    return svg.bar_chart("Primary metric per task (95% CI)", groups, list(frame.index), values,
                         y_label="score", y_range=(0.0, 1.0), colors=svg.condition_colors(list(frame.index)))


def gains_chart(fact: pd.DataFrame | None, colors: Mapping[str, str] | None = None) -> list[str]:
    """Per retriever: each gain over base in the colour of the condition it is the gain of (FT gain
    in ft's, RAG gain in base+<retriever>'s, FT+RAG gain in ft+<retriever>'s); the sum and the
    interaction in greys."""
    charts = []
    if fact is None or not len(fact):
        return [svg.empty("RAG × FT gains", "needs base, ft, base+r and ft+r conditions")]
    series = ["FT gain", "RAG gain", "FT+RAG gain", "sum FT + RAG", "interaction"]
    for retriever, part in fact.groupby("retriever", sort=True):
        groups, values = [], {}
        for _, row in part.iterrows():
            g = row["task"] if row["metric"] == "mean" else f"{row['task']}/{row['metric']}"
            groups.append(g)
            values[(g, "FT gain")] = svg.Value(row["ft_gain"])
            values[(g, "RAG gain")] = svg.Value(row["rag_gain"])
            values[(g, "FT+RAG gain")] = svg.Value(row["combined_gain"])
            values[(g, "sum FT + RAG")] = svg.Value(row["sum_of_gains"])
            values[(g, "interaction")] = svg.Value(row["interaction"], _num(row["interaction_ci_low"]),
                                                   _num(row["interaction_ci_high"]))
        arms = {"FT gain": "ft", "RAG gain": f"base+{retriever}", "FT+RAG gain": f"ft+{retriever}"}
        palette = {g: (colors or {}).get(c, "") for g, c in arms.items() if (colors or {}).get(c)} | GAIN_GREYS
        charts.append(svg.bar_chart(f"RAG × FT gains vs base (retriever {retriever})", groups, series, values,
                                    y_label="Δ score", colors=palette))
    return charts


def cost_scatter(frame: pd.DataFrame, extras: RunScores | None) -> str:
    points = []
    for c in frame.index:
        tokens = (extras.cost.get(c) or {}).get("mean_prompt_tokens") if extras is not None else None
        if tokens is not None:
            points.append(svg.Point(float(tokens), _num(frame.loc[c, "mean"]), str(c), str(c)))
    return svg.scatter("Accuracy vs cost", points, x_label="mean prompt tokens per question",
                       y_label="mean score over tasks", y_range=(0.0, 1.0),
                       colors=svg.condition_colors(list(frame.index)))


def recall_scatter(frame: pd.DataFrame, primary: Mapping[str, str], extras: RunScores | None,
                   retrieval: Mapping[str, Mapping[str, float]] | None) -> str:
    points = []
    for c in frame.index:
        for task, metric in ordered(primary).items():
            x = math.nan
            got = (extras.metrics.get(c, {}).get(task, {}) if extras is not None else {})
            if got.get("gold_retrieved") is not None:
                x = float(got["gold_retrieved"])
            elif "+" in str(c) and retrieval:
                stats_ = retrieval.get(f"{task}__{str(c).split('+', 1)[1]}") or {}
                recall = [k for k in sorted(stats_) if k.startswith("recall@")]
                x = float(stats_[recall[0]]) if recall else math.nan
            if not math.isnan(x):
                points.append(svg.Point(x, _num(frame.loc[c, f"{task}/{metric}"]), task, f"{c}"))
    return svg.scatter("Retrieval recall vs answer accuracy", points, x_label="gold documents retrieved (recall)",
                       y_label="primary metric", y_range=(0.0, 1.0), x_range=(0.0, 1.0),
                       colors=svg.condition_colors(list(frame.index)))


# ---------------------------------------------------------------- page


def _head(run_id: str, manifest: Mapping[str, Any] | None, started: str) -> list[str]:
    return [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_e(run_id)} — report</title><style>{CSS}</style></head><body>",
        f"<h1>{_e((manifest or {}).get('spec', {}).get('exp_name', 'run'))} · {_e(run_id)}</h1>",
        f'<p class="note">run started {_e(started or "at an unknown time")}; page written by the harness '
        "(python -m harness report &lt;run folder&gt; rebuilds it)</p>",
        '<nav><a href="#decision">decision</a><a href="#leaderboard">leaderboard</a><a href="#plots">plots</a><a href="#extra">extra metrics &amp; '
        'cost</a><a href="#samples">samples</a><a href="#run">run</a></nav>',
    ]


def _leaderboard(tables: list[Table], retrieval: Mapping[str, Mapping[str, float]] | None,
                 breakdowns: Sequence[Table] = (), notes: Sequence[str] = ()) -> list[str]:
    parts = ['<h2 id="leaderboard">Leaderboard</h2>']
    for title, table in tables:
        if title:
            parts.append(f"<h3>{_e(title)}</h3>")
        parts.append(_table(table))
        if not title:  # which mean ranks, and the tasks too small to compare
            parts += [f'<p class="note">{_e(note)}</p>' for note in notes]
    parts.append(f'<p class="note">{_e(SIG_NOTE)}</p>')
    if retrieval:
        table = pd.DataFrame({k: dict(v) for k, v in retrieval.items()}).T.sort_index()
        table.index.name = "task variant"
        parts += ["<h3>Retrieval (gold documents and whether the answer reached the prompt)</h3>",
                  _table(table.map(lambda v: f"{v:.3f}" if isinstance(v, float) else v))]
    for title, table in breakdowns:
        parts += [f"<h3>{_e(title)}</h3>", _table(table)]
    return parts


def _plots(frame: pd.DataFrame, primary: Mapping[str, str], fact: pd.DataFrame | None, extras: RunScores | None,
           retrieval: Mapping[str, Mapping[str, float]] | None, more: Sequence[tuple[str, str]] = ()) -> list[str]:
    charts = [("Bars: each condition's primary metric per task and their mean; whiskers: 95% CI (Wilson for 0/1 scores, see the leaderboard legend).",
               task_bars(frame, primary))]
    charts += [("Gains over base; interaction = FT+RAG gain − (FT gain + RAG gain), whisker: paired CI at its Holm level.", c)
               for c in gains_chart(fact, svg.condition_colors(list(frame.index)))]
    charts.append(("Mean score over tasks against the mean prompt length (the price of retrieval).",
                   cost_scatter(frame, extras)))
    charts.append(("Per RAG condition (colour) and task (label): share of gold documents retrieved against the answer score.",
                   recall_scatter(frame, primary, extras, retrieval)))
    charts += list(more)
    parts = ['<h2 id="plots">Plots</h2><div class="plots">']
    parts += [f"<figure>{chart}<figcaption>{_e(caption)}</figcaption></figure>" for caption, chart in charts]
    parts.append("</div>")
    return parts


def _extras(extras: RunScores | None) -> list[str]:
    parts = ['<h2 id="extra">Extra metrics &amp; cost</h2>']
    extra = extra_tables(extras)
    if not extra:
        parts.append('<p class="note">no extra metrics (the run has no per-sample records)</p>')
    for title, table in extra:
        parts += [f"<h3>{_e(title)}</h3>", _table(table)]
    if extras is not None:
        parts.append(f'<p class="note">answer similarity: {_e(extras.similarity)}</p><ul class="note">'
                     + "".join(f"<li><b>{_e(k)}</b>: {_e(v)}</li>" for k, v in extras.definitions().items())
                     + "</ul>")
    return parts


def _samples(records: Records, primary: Mapping[str, str], extras: RunScores | None,
             arms: tuple[str | None, str | None]) -> list[str]:
    return ['<h2 id="samples">Samples</h2>',
            '<p class="note">Every question with each condition\'s answer (green = correct by the primary metric). '
            'Filter to where the conditions disagree, by task and by template; the filters combine.</p>',
            browser(records, primary, extras, arms)]


def render(run_id: str, stored: Mapping[str, Any], manifest: Mapping[str, Any] | None, frame: pd.DataFrame,
           fact: pd.DataFrame | None, extras: RunScores | None, records: Records, started: str = "",
           sides: Sequence[SideSuite] = (), decision: str = "",
           retrieval: Mapping[str, Mapping[str, float]] | None = None, breakdowns: Sequence[Table] = (),
           headline: str = "", arms: tuple[str | None, str | None] = (None, None), subset: str = "",
           plots: Sequence[tuple[str, str]] = ()) -> str:
    """The whole page as a string (``sides``: the side suites ``build`` added columns for;
    ``decision``: the Decision section's HTML, first after the header, then ``headline`` (the
    quality-vs-cost plot); ``arms``: the RAG and FT conditions the sample browser compares; ``retrieval``: the
    retrieval table's rows, default the stored ones; ``breakdowns``: the per-attribute and
    stale-answer tables, after the retrieval table; ``plots``: more (caption, svg) figures, e.g.
    the churn experiment's)."""
    primary, reference = stored["primary"], stored["reference"]
    retrieval = stored.get("retrieval_metrics") if retrieval is None else retrieval
    parts = _head(run_id, manifest, started)
    if subset:  # a run of part of its suite says so before any number
        parts.append(f'<p class="subset"><b>Subset</b>: {_e(subset.removeprefix("**Subset**: "))}</p>')
    parts += [decision] if decision else []
    if headline:
        parts.append(f'<div class="plots" id="headline"><figure>{headline}<figcaption>Each condition\'s suite mean '
                     "(whisker: 95% CI) against its cost per 1,000 queries under the Decision's prices: up and to "
                     "the left is better.</figcaption></figure></div>")
    parts += _leaderboard(display_tables(frame, primary, reference, fact, sides), retrieval, breakdowns,
                          mean_notes(frame, primary))
    parts += _plots(frame, primary, fact, extras, retrieval, plots)
    parts += _extras(extras)
    parts += _samples(records, primary, extras, arms)
    parts += ['<h2 id="run">Run</h2>', _meta(run_id, manifest, stored), "</body></html>", ""]
    return "\n".join(parts)


__all__ = ["render"]
