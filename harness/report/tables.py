"""The leaderboard as people read it: the numeric frame rendered as tables (markdown, LaTeX,
HTML) of "value [95% CI]" and "Δ pp [CI] p" cells.

The tables: the main one (each task's primary metric, their mean, the per-question mean, Δ mean
vs the reference, the seed spread of multi-seed runs), Δ per task, one table per side suite (the
forgetting check, harness.report.side_suites) and the RAG × FT 2×2 (harness.report.factorial).
Under the main table, ``mean_notes`` says which mean ranks and warns of tasks too small to
compare.
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping, Sequence

import pandas as pd

from harness.report.paired import SEEDS_COL, SPREAD_PREFIX, ordered
from harness.report.side_suites import SideSuite, present_columns
from harness.scoring import stats

SIG_NOTE = ("Values: 95% CIs — Wilson for 0/1 scores, MOVER over Jeffreys intervals for their mean over tasks, "
            "bootstrap for other scores (bias-corrected for macro-F1), a two-level seeds × questions interval "
            "with several fine-tuning seeds. Δ: paired per question — Tango's score interval with the McNemar "
            "score p for 0/1 scores, else a paired bootstrap with the p of the same bootstrap. The Δs of each "
            "table are one family under Holm's adjustment: (Holm p=…) is the adjusted p, * = adjusted p < 0.05, "
            "ns = not significant, and each Δ interval is at the confidence level of its Holm step (95% or "
            "more), so it excludes 0 exactly when the Δ is marked *. chance = a uniform random guess.")
Table = tuple[str, pd.DataFrame]  # (title, string frame); the main table's title is ""
PER_QUESTION = "per_question_mean"  # no "/" and no "mean_" prefix: neither a task nor a part of "mean"
FEW_QUESTIONS = 30  # below this one answer moves a task's score by more than 3 pp


def pp(x: float) -> str:
    return f"{100 * x:+.1f}"


def p_text(p: float, name: str = "p") -> str:
    if math.isnan(p):
        return ""
    return f"{name}<0.001" if p < 0.001 else f"{name}={p:.3f}"


def holm_text(p: float) -> str:
    """`` (Holm p=…)`` for a delta tested in a family, "" otherwise."""
    return "" if math.isnan(p) else f" ({p_text(p, 'Holm p')})"


def mark(low: float, high: float, p: float) -> str:
    """`` *`` or `` ns`` from the (adjusted) p; the interval agrees by construction."""
    if any(math.isnan(x) for x in (low, high, p)):
        return ""
    return " *" if p < stats.ALPHA else " ns"


def _cell_p(frame: pd.DataFrame, condition: str, prefix: str) -> tuple[float, float]:
    """(raw p, the p the mark reads: Holm-adjusted when the cell is in a family)."""
    raw = frame.loc[condition, f"{prefix}_p"]
    held = frame.loc[condition, f"{prefix}_p_holm"] if f"{prefix}_p_holm" in frame else math.nan
    return raw, (raw if math.isnan(held) else held)


def value_cell(frame: pd.DataFrame, condition: str, col: str) -> str:
    v = frame.loc[condition, col]
    low, high = frame.loc[condition, f"{col}_ci_low"], frame.loc[condition, f"{col}_ci_high"]
    if not math.isnan(low):
        return f"{v:.3f} [{low:.3f}, {high:.3f}]"
    stderr = frame[f"{col}_stderr"].get(condition, math.nan) if f"{col}_stderr" in frame else math.nan
    return f"{v:.3f} ± {stderr:.3f}" if not math.isnan(stderr) else f"{v:.3f}"


def delta_cell(frame: pd.DataFrame, condition: str, prefix: str, reference: str) -> str:
    if condition == reference:
        return "(reference)"
    v = frame.loc[condition, prefix]
    low, high = frame.loc[condition, f"{prefix}_ci_low"], frame.loc[condition, f"{prefix}_ci_high"]
    if math.isnan(low):
        return f"{pp(v)} pp"
    raw, used = _cell_p(frame, condition, prefix)
    holm = holm_text(used) if f"{prefix}_p_holm" in frame else ""
    return f"{pp(v)} pp [{pp(low)}, {pp(high)}] {p_text(raw)}{holm}{mark(low, high, used)}"


def _main_table(frame: pd.DataFrame, primary: Mapping[str, str], reference: str) -> list[Table]:
    """The main table (value [CI] per task, mean, Δ mean) and the Δ-per-task table."""
    main = pd.DataFrame(index=frame.index)
    for task, metric in primary.items():
        main[f"{task}/{metric}"] = [value_cell(frame, c, f"{task}/{metric}") for c in frame.index]
    main["mean"] = [value_cell(frame, c, "mean") if "mean_ci_low" in frame else f"{frame.loc[c, 'mean']:.3f}"
                    for c in frame.index]
    if PER_QUESTION in frame and len(primary) > 1:
        main["mean (per question)"] = [value_cell(frame, c, PER_QUESTION) for c in frame.index]
    delta = f"delta_vs_{reference}"
    tables = [("", main)]
    if delta in frame:
        main[f"Δ mean vs {reference}"] = [delta_cell(frame, c, delta, reference) for c in frame.index]
        per_task = pd.DataFrame(index=[c for c in frame.index if c != reference])
        per_task.index.name = "condition"
        for task, metric in primary.items():
            per_task[f"Δ {task}/{metric}"] = [delta_cell(frame, c, f"{task}/{metric}_delta", reference)
                                              for c in per_task.index]
        if len(per_task):
            tables.append((f"Δ per task vs {reference} (pp, paired CI at its Holm level, p (Holm p))", per_task))
    if SEEDS_COL in frame:
        main["seeds"] = ["" if math.isnan(n) else f"{int(n)}" for n in frame[SEEDS_COL]]
        main["± seed std (mean)"] = ["" if math.isnan(v) else f"±{v:.3f}" for v in frame[f"{SPREAD_PREFIX}mean"]]
    chance = frame.attrs.get("chance") or {}
    if any(not math.isnan(v) for v in chance.values()):  # beside every MC / classification metric
        main.loc["chance"] = [f"{chance[c]:.3f}" if not math.isnan(chance.get(c, math.nan)) else ""
                              for c in main.columns]
    return tables


def task_questions(frame: pd.DataFrame, primary: Mapping[str, str]) -> dict[str, int]:
    """Each task's number of questions: the most that any condition was scored on."""
    out = {}
    for task, metric in ordered(primary).items():
        sizes = frame[f"{task}/{metric}_n"].dropna() if f"{task}/{metric}_n" in frame else pd.Series(dtype=float)
        out[task] = int(sizes.max()) if len(sizes) else 0
    return out


def _best(values: pd.Series) -> set[str]:
    """The conditions with the highest value (several on a tie; none when all are nan)."""
    values = values.dropna()
    return {str(c) for c in values.index[values == values.max()]} if len(values) else set()


def mean_notes(frame: pd.DataFrame, primary: Mapping[str, str]) -> list[str]:
    """The lines under the main table: which of its two means ranks, whether they disagree on
    the best condition, and each task with fewer than FEW_QUESTIONS questions (too few to
    compare: its interval is wide, and in the task mean it weighs as much as any other task)."""
    notes = []
    if PER_QUESTION in frame and len(primary) > 1:
        notes.append("mean = the mean over tasks, each task counted once whatever its number of questions: the "
                     "mean the Decision ranks on and Δ mean tests. mean (per question) = each question counted "
                     "once (tasks weighted by their questions; same interval methods), shown beside it.")
        best_task, best_question = _best(frame["mean"]), _best(frame[PER_QUESTION])
        if best_task and best_question and best_task.isdisjoint(best_question):
            notes.append(f"The two means disagree on the best condition: {', '.join(sorted(best_task))} by the task "
                         f"mean, {', '.join(sorted(best_question))} per question; the ranking rests on how the tasks "
                         "are weighted.")
    for task, n in task_questions(frame, primary).items():
        if 0 < n < FEW_QUESTIONS:
            notes.append(f"Too few to compare: {task} has {n} questions (fewer than {FEW_QUESTIONS}); one answer "
                         f"moves its score by {100 / n:.1f} pp.")
    return notes


def side_table(frame: pd.DataFrame, side: SideSuite, reference: str) -> Table | None:
    """A side suite's scores (the conditions it scored) and their paired delta against its reference."""
    cols = present_columns(frame, side)
    if not cols:
        return None
    ref = side.reference_for(reference) or ""
    rows = [c for c in frame.index if frame[cols].loc[c].notna().any()]
    shown = pd.DataFrame(index=pd.Index(rows, name="condition"))
    for col in cols:
        shown[col] = [value_cell(frame, c, col) for c in rows]
    for col in cols:
        if f"{col}_delta" in frame:
            shown[f"Δ {col}"] = [delta_cell(frame, c, f"{col}_delta", ref) for c in rows]
    return side.title(reference), shown


def factorial_table(fact: pd.DataFrame) -> Table:
    """The RAG × FT gains and their interaction, one row per retriever × task."""
    shown = pd.DataFrame({
        "retriever": fact["retriever"],
        "task": [t if m == "mean" else f"{t}/{m}" for t, m in zip(fact["task"], fact["metric"])],
        "FT gain": [f"{pp(v)} pp" for v in fact["ft_gain"]],
        "RAG gain": [f"{pp(v)} pp" for v in fact["rag_gain"]],
        "FT+RAG gain": [f"{pp(v)} pp" for v in fact["combined_gain"]],
        "FT + RAG (sum)": [f"{pp(v)} pp" for v in fact["sum_of_gains"]],
        "interaction": [
            f"{pp(v)} pp" + (f" [{pp(lo)}, {pp(hi)}] {p_text(p)}{holm_text(ph)}" if not math.isnan(lo) else "")
            for v, lo, hi, p, ph in zip(fact["interaction"], fact["interaction_ci_low"], fact["interaction_ci_high"],
                                        fact["interaction_p"], fact["interaction_p_holm"])],
        "do they add up?": fact["verdict"],
    }).set_index("retriever")
    return "RAG × FT (gains vs base; interaction = FT+RAG gain − (FT gain + RAG gain))", shown


def display_tables(frame: pd.DataFrame, primary: Mapping[str, str], reference: str,
                   fact: pd.DataFrame | None = None, sides: Sequence[SideSuite] = ()) -> list[Table]:
    """The human tables as (title, string frame): main, Δ per task, side suites, RAG × FT."""
    tables = _main_table(frame, ordered(primary), reference)
    for side in sides:
        table = side_table(frame, side, reference)
        if table is not None:
            tables.append(table)
    if fact is not None and len(fact):
        tables.append(factorial_table(fact))
    return tables


def to_markdown(frame: pd.DataFrame, primary: Mapping[str, str], reference: str,
                fact: pd.DataFrame | None = None, sides: Sequence[SideSuite] = ()) -> str:
    """All tables as markdown, the main one first and untitled (it is what the run prints)."""
    parts = []
    for title, table in display_tables(frame, primary, reference, fact, sides):
        parts.append(f"**{title}**\n\n{table.to_markdown()}" if title else table.to_markdown())
        if not title:
            parts += [f"_{note}_" for note in mean_notes(frame, primary)]
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


def to_latex(tables: list[Table]) -> str:
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


# the table styles leaderboard.html and report.html share (report.html adds its own on top)
TABLE_CSS = """
table{border-collapse:collapse;font-size:12px;margin:6px 0 12px}
th,td{border:1px solid #ddd;padding:4px 7px;text-align:left;vertical-align:top}
th{background:#f5f6f8}
"""
PAGE_CSS = ("body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:24px auto;max-width:1280px;"
            "padding:0 16px;color:#222;line-height:1.4}h3{font-size:14px;margin:18px 0 6px}" + TABLE_CSS)


def to_html(tables: list[Table], notes: Sequence[str] = ()) -> str:
    """A standalone page with every table (``notes``: mean_notes, under the main table), styled
    like report.html's tables; report.html is the page with the Decision, plots and samples."""
    body = []
    for title, table in tables:
        if title:
            body.append(f"<h3>{html.escape(title)}</h3>")
        body.append(table.to_html(escape=True))
        if not title:
            body += [f"<p><em>{html.escape(note)}</em></p>" for note in notes]
    body.append(f"<p><em>{html.escape(SIG_NOTE)}</em></p>")
    return ("<!doctype html>\n<html><head><meta charset=\"utf-8\"><meta http-equiv=\"Content-Security-Policy\" "
            "content=\"default-src 'none'; style-src 'unsafe-inline'\"><title>leaderboard</title>"
            f"<style>{PAGE_CSS}</style></head><body>\n<p><em>The tables of the run; report.html has the Decision, "
            "the plots and every answer.</em></p>\n" + "\n".join(body) + "\n</body></html>\n")


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


__all__ = ["FEW_QUESTIONS", "PER_QUESTION", "SIG_NOTE", "Table", "delta_cell", "display_tables", "factorial_table",
           "holm_text", "mark", "mean_notes", "p_text", "pp", "retrieval_markdown", "side_table", "task_questions",
           "to_html", "to_latex", "to_markdown", "value_cell"]
