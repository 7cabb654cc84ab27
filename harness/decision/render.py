"""The Decision as people and programs read it: a paragraph and its numbers (markdown), decision.json,
and a cost-per-month plot (inline SVG, no script)."""

from __future__ import annotations

import html
import math
import re
from typing import Any

import numpy as np

from harness.decision.arms import lines as arm_lines
from harness.decision.decide import Decision


# per-sample scores the Decision quotes for the recommended condition, and how it names them
EVIDENCE_LABELS = {"context_word_overlap": "Context-word overlap (lexical, not entailment)", "self_knowledge": "Self-knowledge"}

def _usd(x: float) -> str:
    if x == 0:
        return "$0"
    return f"${x:.3g}" if x < 1 else (f"${x:,.2f}" if x < 100 else f"${x:,.0f}")


def _hourly(x: float) -> str:
    return f"${x:,.2f}/h"


def _volume(q: float) -> str:
    return f"{q / 1e6:.1f} M" if q >= 1e6 else (f"{q / 1e3:.0f} k" if q >= 1e3 else f"{q:.0f}")


def verdict(d: Decision) -> str:
    """One paragraph a manager can read."""
    s = d.settings
    if not d.clear:
        return (f"**No clear winner.** {d.reason[0].upper()}{d.reason[1:]}. On these questions "
                f"{d.recommended} would be chosen (cheapest of {', '.join(d.frontier)} at "
                f"{_volume(s.queries_per_month)} queries/month); collect more questions (`python -m harness power`).")
    best = d.standings[0]
    parts = [f"**Ship {d.recommended}**"]
    if d.versus_reference is not None:
        v = d.versus_reference
        parts.append(f": {100 * v.estimate:+.1f} pp over {d.reference} on the suite mean "
                     f"[{100 * v.low:+.1f}, {100 * v.high:+.1f}]")
    if d.recommended == best.condition:
        parts.append(", the best condition")
    else:
        parts.append(f", not worse than the best ({best.condition}) by more than {100 * s.margin:.0f} pp")
    month = d.priced[d.recommended].per_month(s.queries_per_month)
    parts.append(f"; the cheapest on the quality frontier at {_volume(s.queries_per_month)} queries/month "
                 f"({_usd(month)}/month at {_hourly(d.hourly)})")
    for a, b, volume in d.break_evens:
        hi, lo = (a, b) if d.priced[a].fixed_per_month > d.priced[b].fixed_per_month else (b, a)
        parts.append(f"; {hi} becomes cheaper than {lo} above {_volume(volume)} queries/month")
    held = {True: ", and the split-half check holds", None: " (too few questions for the split-half check)"}
    parts.append(f"; stable in {100 * d.stability:.0f}% of {d.resampled} resamples{held[d.split_half[1]]}.")
    return "".join(parts)


def _memory(n: float) -> str:
    """The retriever's serving footprint: "—" without one, "not recorded" for older runs."""
    if math.isnan(n):
        return "not recorded"
    if n == 0:
        return "—"
    return f"{n / 1e6:.2f} MB" if n < 1e9 else f"{n / 1e9:.2f} GB"


def _standings_table(d: Decision) -> list[str]:
    rows = ["| condition | suite mean | Δ vs best (95% CI) | quality | one-off | per month (fixed) | per 1k queries "
            "| index memory |", "|:--|--:|:--|:--|--:|--:|--:|--:|"]
    for s in d.standings:
        p = d.priced[s.condition]
        delta = "" if s.delta is None else f"{100 * s.delta.estimate:+.1f} pp [{100 * s.delta.low:+.1f}, {100 * s.delta.high:+.1f}]"
        rows.append(f"| {s.condition} | {s.mean:.3f} | {delta} | {s.verdict} | {_usd(p.one_off)} | "
                    f"{_usd(p.fixed_per_month)} | {_usd(1000 * p.per_query)} | "
                    f"{_memory(d.memory.get(s.condition, 0.0))} |")
    return rows


def _refresh(d: Decision) -> str:
    """What one refresh costs: the one-off again, or the churn experiment's measured update."""
    if not d.refresh:
        return "one-off"
    measured = ", ".join(f"{c} {v:.1f} s" for c, v in d.refresh.items())
    return f"the update the churn experiment measured (FT retrained, RAG re-indexed incrementally: {measured})"


def markdown(d: Decision) -> str:
    """The Decision section: the verdict, then the standings and costs it rests on."""
    s = d.settings
    lines = ["## Decision", "", verdict(d), "", *_standings_table(d), ""]
    split = (f"{d.split_half[0]} on one half, {'within' if d.split_half[1] else 'outside'} the margin on the other"
             if d.split_half[1] is not None else "not possible (a half lacks a task's questions)")
    lines.append(f"_Quality: the paired 95% CI of condition − best on the suite mean; \"ties the best\" = lower bound "
                 f"above −{100 * s.margin:.0f} pp (cost.margin). Costs: {_hourly(d.hourly)} ({d.hourly_source}); "
                 f"one-off = (fine-tuning + index build) s; fixed per month = {s.refresh_per_month:g} refresh(es) "
                 f"(cost.refresh_per_month) × {_refresh(d)} + index memory × ${s.memory_price_per_gb_month:g}/GB-month; "
                 f"per query = measured model s + tokens × price "
                 f"(docs/decision.md). Stability: {s.stability_resamples} {d.resampled} resamples; split half: {split}._")
    forgetting = d.evidence.get("forgetting")
    if forgetting:
        lines += ["", f"Forgetting: {forgetting['condition']} scores {100 * forgetting['delta_vs_base']:+.1f} pp vs base "
                  f"on the {forgetting['suite']} suite (closed book; its table has the paired CI)."]
    for name, label in EVIDENCE_LABELS.items():
        if name in d.evidence:
            values = ", ".join(f"{task} {v:.3f}" for task, v in sorted(d.evidence[name].items()))
            lines += ["", f"{label} of {d.recommended}: {values}."]
    for line in arm_lines(d.evidence.get("arms")):  # training-set recall, tuning budget (manifest)
        lines += ["", line]
    if d.oracle:
        o = d.oracle
        lines += ["", f"Per question (0/1 tasks, {o['questions']} questions): only RAG right {100 * o['only_rag']:.0f}%, "
                  f"only FT {100 * o['only_ft']:.0f}%, both {100 * o['both']:.0f}%, neither {100 * o['neither']:.0f}%; "
                  f"a router picking the best condition per question would reach {o['router_ceiling']:.3f}."]
    return "\n".join(lines)


def _bytes_or_none(n: float) -> int | None:
    return None if math.isnan(n) else int(n)


def to_json(d: Decision) -> dict[str, Any]:
    """decision.json: the same content as numbers."""
    def delta(v: Any) -> dict[str, float] | None:
        return None if v is None else {"estimate": v.estimate, "ci_low": v.low, "ci_high": v.high, "p": v.p_value}
    s = d.settings
    return {"recommended": d.recommended, "clear": d.clear, "reason": d.reason, "verdict": verdict(d),
            "frontier": d.frontier, "stability": d.stability, "resampled": d.resampled,
            "split_half": {"chosen_on_first_half": d.split_half[0], "holds_on_second_half": d.split_half[1]},
            "standings": [{"condition": x.condition, "mean": x.mean, "verdict": x.verdict, "delta_vs_best": delta(x.delta)}
                          for x in d.standings],
            "costs": {c: {"one_off_usd": p.one_off, "fixed_per_month_usd": p.fixed_per_month,
                          "per_query_usd": p.per_query, "index_memory_bytes": _bytes_or_none(d.memory.get(c, 0.0)),
                          **({"refresh_s": d.refresh[c]} if c in d.refresh else {})}  # measured by churn only
                      for c, p in d.priced.items()},
            "break_even_queries_per_month": [{"a": a, "b": b, "queries_per_month": v} for a, b, v in d.break_evens],
            "versus_reference": delta(d.versus_reference), "reference": d.reference, "oracle": d.oracle,
            "other_evidence": d.evidence,
            "assumptions": {"usd_per_hour": d.hourly, "source": d.hourly_source, "queries_per_month": s.queries_per_month,
                            "refresh_per_month": s.refresh_per_month, "margin": s.margin,
                            "prompt_price_per_1k": s.prompt_price_per_1k,
                            "generated_price_per_1k": s.generated_price_per_1k}}


def to_html(d: Decision) -> str:
    """The Decision section of report.html: the verdict, the standings table and the cost plot."""
    def inline(text: str) -> str:
        return re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", html.escape(text)).replace("`", "")

    rows = _standings_table(d)
    head = [c.strip() for c in rows[0].strip("|").split("|")]
    body = [[c.strip() for c in r.strip("|").split("|")] for r in rows[2:]]
    table = ("<table><thead><tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in head) + "</tr></thead><tbody>"
             + "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in r) + "</tr>" for r in body)
             + "</tbody></table>")
    notes = [line for line in markdown(d).split("\n\n")[3:] if line.strip()]
    return "\n".join(['<h2 id="decision">Decision</h2>', f"<p>{inline(verdict(d))}</p>", table,
                      *(f"<p>{inline(n.strip('_'))}</p>" for n in notes), cost_plot(d)])


def cost_plot(d: Decision, width: int = 560, height: int = 300) -> str:
    """Cost per month against queries per month (log scale), one line per condition."""
    top = max([10 * d.settings.queries_per_month, *(10 * v for _, _, v in d.break_evens)])
    volumes = np.logspace(2, math.log10(top), 40)
    lines = {c: [p.per_month(q) for q in volumes] for c, p in d.priced.items()}
    high = max(max(v) for v in lines.values()) or 1.0
    x = lambda q: 60 + (math.log10(q) - 2) / (math.log10(top) - 2) * (width - 180)  # noqa: E731
    y = lambda c: height - 40 - c / high * (height - 70)  # noqa: E731
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img">',
           f'<title>cost per month vs queries per month</title>',
           f'<line x1="60" y1="{height - 40}" x2="{width - 120}" y2="{height - 40}" stroke="#444"/>',
           f'<line x1="60" y1="30" x2="60" y2="{height - 40}" stroke="#444"/>',
           f'<text x="60" y="{height - 10}" font-size="11">queries per month (log) →</text>',
           f'<text x="4" y="22" font-size="11">USD per month (max {html.escape(_usd(high))})</text>']
    palette = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b"]
    for i, (c, values) in enumerate(lines.items()):
        points = " ".join(f"{x(q):.1f},{y(v):.1f}" for q, v in zip(volumes, values))
        colour = palette[i % len(palette)]
        out.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{points}"/>')
        out.append(f'<text x="{width - 112}" y="{40 + 16 * i}" font-size="11" fill="{colour}">{html.escape(c)}</text>')
    out.append("</svg>")
    return "\n".join(out)


__all__ = ["cost_plot", "markdown", "to_html", "to_json", "verdict"]
