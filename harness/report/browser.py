"""The sample browser of report.html: every question with its context and each condition's answer,
filtered to where the conditions disagree (only the RAG arm right, only the FT arm right, both,
neither), by task and by question template.

The page carries no script (its Content-Security-Policy forbids any), so the filters are radio
buttons and CSS: a checked option hides every row without its class, and one rule per group
makes the groups combine (task AND template AND who). Ids and classes are indices (``t3``), never
a task's or template's name, so no name reaches a selector; every text is HTML-escaped.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from html import escape
from typing import Any

from harness.records import Records, sample_key
from harness.scoring.answers import CORRECT_AT, answer_text, references
from harness.scoring.result import RunScores

MAX_ROWS = 1500  # the page stays light; the full records are in samples/
MAX_TEMPLATES = 40  # beyond this many templates, the filter offers their families (the attribute)
EXTRA_NOTES = ("rouge_l", "answer_similarity", "supported_by_context", "judge_correctness")
WHO = ("disagree", "only_rag", "only_ft", "both", "neither")


@dataclass
class Question:
    """One question of one task, as every condition answered it."""

    task: str
    key: str
    template: str
    by_condition: dict[str, Mapping[str, Any]] = field(default_factory=dict)
    who: set[str] = field(default_factory=set)


def _e(value: Any) -> str:
    return escape("" if value is None else str(value), quote=True)


def _correct(record: Mapping[str, Any] | None, metric: str) -> bool | None:
    """Right or wrong by the primary metric; None when the score is not a number (a label metric)."""
    value = ((record or {}).get("scores") or {}).get(metric)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value):
        return None
    return value >= CORRECT_AT


def _who(q: Question, metric: str, rag: str | None, ft: str | None) -> set[str]:
    flags = [f for f in (_correct(r, metric) for r in q.by_condition.values()) if f is not None]
    out = {"disagree"} if True in flags and False in flags else set()
    r = _correct(q.by_condition.get(rag), metric) if rag else None
    f = _correct(q.by_condition.get(ft), metric) if ft else None
    if r is not None and f is not None:
        out.add({(True, False): "only_rag", (False, True): "only_ft", (True, True): "both"}.get((r, f), "neither"))
    return out


def questions(records: Records, primary: Mapping[str, str], arms: tuple[str | None, str | None]) -> list[Question]:
    """Every question of every task, in task order then the suite's order."""
    out: list[Question] = []
    for task in sorted({t for rows in records.values() for t in rows}):
        found: dict[str, Question] = {}
        order: dict[str, Any] = {}
        for condition in sorted(records):
            for r in records[condition].get(task, []):
                key = sample_key(r)
                template = str(r.get("template") or r.get("attribute") or "—")
                found.setdefault(key, Question(task, key, template)).by_condition[condition] = r
                order.setdefault(key, r.get("doc_id") if isinstance(r.get("doc_id"), int) else 1 << 30)
        for key in sorted(found, key=lambda k: (order[k], k)):
            q = found[key]
            q.who = _who(q, primary.get(task, ""), *arms)
            out.append(q)
    return out


def _families(qs: Sequence[Question]) -> None:
    """Too many templates to list: filter by their family (the part before the first dot)."""
    if len({q.template for q in qs}) > MAX_TEMPLATES:
        for q in qs:
            q.template = q.template.split(".", 1)[0]


def _answer(record: Mapping[str, Any]) -> str:
    if "choices" in record:
        text = answer_text(record)
        return f"({record.get('output')}) {text}" if text is not None else str(record.get("output"))
    return "" if record.get("output") is None else str(record.get("output"))


def _gold(record: Mapping[str, Any]) -> str:
    refs = references(record)
    if "choices" in record:
        return f"({record.get('target')}) {refs[0]}" if refs else str(record.get("target"))
    return " | ".join(refs)


def _cell(q: Question, condition: str, metric: str, extras: RunScores | None) -> str:
    r = q.by_condition.get(condition)
    if r is None:
        return '<td class="na"></td>'
    score = (r.get("scores") or {}).get(metric)
    right = _correct(r, metric)
    extra = extras.per_sample.get(condition, {}).get(q.task, {}).get(q.key, {}) if extras is not None else {}
    notes = [f"{metric}={score:g}" if isinstance(score, (int, float)) else f"{metric}=—"]
    notes += [f"{n}={extra[n]:.2f}" for n in EXTRA_NOTES if n in extra and not math.isnan(extra[n])]
    cls = "na" if right is None else ("ok" if right else "bad")
    return f'<td class="{cls}">{_e(_answer(r))}<span class="score">{_e(" · ".join(notes))}</span></td>'


def _context(q: Question) -> str:
    contexts: dict[str, list[str]] = {}
    for c, r in q.by_condition.items():
        if str(r.get("context") or "").strip():
            contexts.setdefault(str(r["context"]), []).append(c)
    return "".join(f"<details><summary>{_e(', '.join(names))} ({len(text)} chars)</summary><pre>{_e(text)}</pre>"
                   "</details>" for text, names in contexts.items()) or '<span class="note">closed book</span>'


@dataclass(frozen=True)
class Group:
    """One filter: its id prefix, its title, and (option label, count) in order."""

    prefix: str
    title: str
    options: list[tuple[str, int]]


def _groups(qs: Sequence[Question], arms: tuple[str | None, str | None]) -> tuple[list[Group], list[list[str]]]:
    """The three filters and, per question, the classes it carries (one option of each group)."""
    tasks = sorted({q.task for q in qs})
    templates = sorted({q.template for q in qs})
    rag, ft = (a or "?" for a in arms)
    who_names = {"disagree": "conditions disagree", "only_rag": f"only {rag} right", "only_ft": f"only {ft} right",
                 "both": f"both {rag} and {ft} right", "neither": f"neither {rag} nor {ft} right"}
    who = [w for w in WHO if any(w in q.who for q in qs)]
    groups = [Group("w", "who is right", [(who_names[w], sum(w in q.who for q in qs)) for w in who]),
              Group("t", "task", [(t, sum(q.task == t for q in qs)) for t in tasks]),
              Group("p", "template", [(p, sum(q.template == p for q in qs)) for p in templates])]
    classes = [[f"w{who.index(w)}" for w in WHO if w in q.who] + [f"t{tasks.index(q.task)}",
                                                                  f"p{templates.index(q.template)}"] for q in qs]
    return groups, classes


def _css(groups: Sequence[Group]) -> str:
    rules = [".browser-box input.f{position:absolute;opacity:0;pointer-events:none}",
             ".filters label{display:inline-block;border:1px solid #ccd;border-radius:3px;padding:1px 6px;"
             "margin:2px;cursor:pointer;font-size:12px}", ".filters b{display:inline-block;min-width:110px}"]
    for g in groups:
        ids = [f"{g.prefix}-all"] + [f"{g.prefix}{i}" for i in range(len(g.options))]
        rules += [f"#{i}:checked~.filters label[for={i}]{{background:#35577d;color:#fff}}" for i in ids]
        rules += [f"#{g.prefix}{i}:checked~table.browser tbody tr:not(.{g.prefix}{i}){{display:none}}"
                  for i in range(len(g.options))]
    return "<style>" + "\n".join(rules) + "</style>"


def _controls(groups: Sequence[Group], checked: Mapping[str, int]) -> list[str]:
    """The radio inputs (siblings of the table, as the CSS needs) and their labels."""
    inputs, rows = [], []
    for g in groups:
        chosen = checked.get(g.prefix)
        ids = [(f"{g.prefix}-all", "all", sum(n for _, n in g.options) if g.prefix != "w" else None, chosen is None)]
        ids += [(f"{g.prefix}{i}", label, n, chosen == i) for i, (label, n) in enumerate(g.options)]
        inputs += [f'<input class="f" type="radio" name="{g.prefix}" id="{i}"{" checked" if on else ""}>'
                   for i, _, _, on in ids]
        labels = "".join(f'<label for="{i}">{_e(label)}{"" if n is None else f" ({n})"}</label>' for i, label, n, _ in ids)
        rows.append(f"<div><b>{_e(g.title)}</b>{labels}</div>")
    return inputs + ['<div class="filters">', *rows, "</div>"]


def browser(records: Records, primary: Mapping[str, str], extras: RunScores | None,
            arms: tuple[str | None, str | None] = (None, None), *, checked: Mapping[str, int] | None = None) -> str:
    """The Samples section's HTML. ``arms``: the RAG and FT conditions the who-is-right filter
    compares (the Decision's oracle arms); ``checked``: an option pre-selected per group prefix
    (``{"w": 1}``), as a reader's click would select it."""
    qs = questions(records, primary, arms)
    if not qs:
        return '<p class="note">the run folder has no per-sample records</p>'
    _families(qs)
    shown = qs[:MAX_ROWS]
    groups, classes = _groups(shown, arms)
    conditions = sorted(records)
    head = "".join(f"<th>{_e(c)}</th>" for c in conditions)
    parts = ['<div class="browser-box">', _css(groups), *_controls(groups, checked or {}),
             f'<table class="samples browser"><thead><tr><th>id</th><th>task · template</th><th>question / gold</th>'
             f"<th>context</th>{head}</tr></thead><tbody>"]
    for q, cls in zip(shown, classes):
        any_row = next(iter(q.by_condition.values()))
        question = next((r.get("question") for r in q.by_condition.values() if r.get("question")), "")
        cells = "".join(_cell(q, c, primary.get(q.task, ""), extras) for c in conditions)
        parts.append(f'<tr class="{" ".join(cls)}"><td>{_e(q.key)}</td><td>{_e(q.task)}<span class="score">'
                     f'{_e(q.template)}</span></td><td>{_e(question)}<span class="score">gold: {_e(_gold(any_row))}'
                     f"</span></td><td>{_context(q)}</td>{cells}</tr>")
    parts.append("</tbody></table>")
    if len(qs) > len(shown):
        parts.append(f'<p class="note">first {len(shown)} of {len(qs)} questions; every record is in '
                     "samples/&lt;condition&gt;/&lt;task&gt;.jsonl</p>")
    parts.append("</div>")
    return "\n".join(parts)


__all__ = ["MAX_ROWS", "Question", "browser", "questions"]
