"""The churned suite: the same suite after a seeded share of its facts changed value.

Why a derivation over the suite format rather than a re-run of each generator: it works for
every suite whose rows link a fact across files — an open-QA eval row's ``fact_id``,
``gold_ids``, ``answer`` and ``candidates``, and the training rows of the same ``fact_id`` —
so a user's suite churns as the shipped ones do. A fact can change when its value is stated
exactly once in its gold documents and every training answer of the fact states it; the new
value is another candidate of the same attribute (drawn with the churn seed) or, for a user's
suite, the value a replacement file gives.

What changes for a changed fact, and only for it: the sentence of its gold document (the old
value replaced by the new one), the answers of its training rows, and its eval rows — the new
value is gold, the old one becomes a candidate (an answer asserting both scores 0) and is kept
as ``stale_answer`` so a stale answer can be counted. Questions are not touched: the held-out
paraphrases stay held out. Only the open-QA tasks are kept; the suite's multiple-choice rows
would need new distractor sets.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from harness.cache import hash_json
from harness.errors import HarnessError
from harness.jsonl import iter_numbered
from harness.suites import Suite

Row = dict[str, Any]
CHANGED, UNCHANGED = "changed", "unchanged"


@dataclass(frozen=True)
class FactChange:
    """One fact's update: its old and new value (with aliases) and the documents that state it."""

    fact_id: str
    old: str
    new: str
    old_aliases: tuple[str, ...]
    new_aliases: tuple[str, ...]
    doc_ids: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return {"fact_id": self.fact_id, "old": self.old, "new": self.new, "old_aliases": list(self.old_aliases),
                "new_aliases": list(self.new_aliases), "doc_ids": list(self.doc_ids)}


@dataclass(frozen=True)
class ChurnedSuite:
    """The updated suite (open-QA tasks only), what changed, and how many facts could change."""

    fraction: float
    suite: Suite
    changes: tuple[FactChange, ...]
    n_facts: int  # facts that could change (the n of round(fraction × n))

    @property
    def changed_docs(self) -> list[str]:
        return sorted({d for c in self.changes for d in c.doc_ids})

    @property
    def changed_train_ids(self) -> list[str]:
        ids = {c.fact_id for c in self.changes}
        return [str(r["id"]) for r in self.suite.train if r.get("fact_id") in ids]


def _open_rows(suite: Suite) -> list[Row]:
    return [r for t in suite.tasks if t.kind == "open_qa" for r in t.rows]


def changeable_facts(suite: Suite) -> dict[str, Row]:
    """fact_id -> its first open-QA eval row, for every fact the derivation can change."""
    docs = {str(d["id"]): str(d.get("text", "")) for d in suite.corpus}
    train: dict[str, list[Row]] = {}
    for row in suite.train:
        train.setdefault(str(row.get("fact_id") or ""), []).append(row)
    out: dict[str, Row] = {}
    for row in _open_rows(suite):
        fact, value = str(row.get("fact_id") or ""), str(row.get("answer") or "")
        if not fact or not value or fact in out or not row.get("candidates"):
            continue
        text = " ".join(docs.get(str(g), "") for g in row.get("gold_ids") or [])
        aliases = [a for a in row.get("aliases") or [] if a != value and a not in value]
        if text.count(value) != 1 or any(a in text for a in aliases):
            continue  # stated more than once or in another form: a clean edit is not possible
        if train.get(fact) and all(value in str(t.get("answer", "")) for t in train[fact]):
            out[fact] = row
    return out


def read_replacements(path: Path) -> dict[str, tuple[str, tuple[str, ...]]]:
    """A user's replacement file: JSONL rows ``{"fact_id", "value", "aliases"?}``."""
    out: dict[str, tuple[str, tuple[str, ...]]] = {}
    for line, row in iter_numbered(path):
        fact, value = row.get("fact_id"), row.get("value")
        if not isinstance(fact, str) or not fact or not isinstance(value, str) or not value.strip():
            raise HarnessError(f"{path} line {line}: expected {{\"fact_id\": \"...\", \"value\": \"...\"}} with "
                               "non-empty strings (aliases optional, a list of strings)")
        aliases = row.get("aliases") or []
        if not isinstance(aliases, list) or not all(isinstance(a, str) for a in aliases):
            raise HarnessError(f"{path} line {line}: field 'aliases' must be a list of strings")
        out[fact] = (value.strip(), tuple(aliases))
    return out


def _aliases_by_value(suite: Suite) -> dict[str, tuple[str, ...]]:
    return {str(r["answer"]): tuple(r.get("aliases") or ()) for r in _open_rows(suite) if r.get("answer")}


def draw_changes(suite: Suite, fraction: float, seed: int,
                 replacements: Mapping[str, tuple[str, tuple[str, ...]]] | None = None) -> tuple[list[FactChange], int]:
    """round(fraction × n) changes over the n changeable facts (those of ``replacements`` only,
    when given), drawn with ``seed``; returns them and n."""
    facts = changeable_facts(suite)
    if replacements is not None:
        unknown = sorted(set(replacements) - set(facts))
        if unknown:
            raise HarnessError(f"churn.replacements: facts {unknown[:5]} are not changeable facts of suite "
                               f"'{suite.name}' (a fact_id of an open-QA row whose value its gold document states "
                               "once and every training answer of the fact states)")
        facts = {f: facts[f] for f in replacements}
    n = len(facts)
    k = round(fraction * n)
    if n == 0 or (fraction > 0 and k == 0):
        raise HarnessError(f"churn.fraction={fraction}: {n} changeable facts in suite '{suite.name}' give no change; "
                           "raise the fraction or suite.n_docs")
    rng = random.Random(f"churn:{seed}:{fraction}")
    docs = {str(d["id"]): str(d.get("text", "")) for d in suite.corpus}
    aliases = _aliases_by_value(suite)
    changes = []
    for fact in sorted(rng.sample(sorted(facts), k)):
        row = facts[fact]
        old = str(row["answer"])
        if replacements is not None:
            new, new_aliases = replacements[fact]
        else:
            others = {str(c) for c in row["candidates"]} - {old}
            canonical = sorted(others & set(aliases))  # values some row answers: their aliases are known
            new = rng.choice(canonical or sorted(others))
            new_aliases = aliases.get(new, ())
        if new == old:
            raise HarnessError(f"churn.replacements: fact {fact} keeps its value {old!r}; give another value")
        stating = tuple(str(g) for g in row.get("gold_ids") or () if old in docs.get(str(g), ""))
        changes.append(FactChange(fact, old, new, tuple(row.get("aliases") or ()), tuple(new_aliases), stating))
    return changes, n


def _edit_corpus(corpus: Sequence[Row], changes: Sequence[FactChange]) -> list[Row]:
    by_doc: dict[str, list[FactChange]] = {}
    for change in changes:
        for doc in change.doc_ids:
            by_doc.setdefault(doc, []).append(change)
    out = []
    for doc in corpus:
        text = str(doc.get("text", ""))
        for change in by_doc.get(str(doc["id"]), []):
            text = text.replace(change.old, change.new, 1)
        out.append({**doc, "text": text} if text != doc.get("text") else dict(doc))
    return out


def _edit_train(train: Sequence[Row], changes: Mapping[str, FactChange]) -> list[Row]:
    out = []
    for row in train:
        change = changes.get(str(row.get("fact_id") or ""))
        out.append({**row, "answer": str(row["answer"]).replace(change.old, change.new)} if change else dict(row))
    return out


def _edit_eval(row: Row, change: FactChange | None) -> Row:
    if change is None or str(row.get("answer")) != change.old:  # another row of the fact asks another value
        return {**row, "churn": UNCHANGED, "stale_answer": "", "stale_aliases": []}
    candidates = sorted(({str(c) for c in row.get("candidates") or []} - {change.new}) | {change.old})
    return {**row, "answer": change.new, "aliases": list(change.new_aliases), "candidates": candidates,
            "churn": CHANGED, "stale_answer": change.old, "stale_aliases": list(change.old_aliases)}


def churn_suite(suite: Suite, fraction: float, seed: int, replacements: Path | None = None) -> ChurnedSuite:
    """``suite`` after round(fraction × n) of its n changeable facts changed (see the module doc)."""
    if not 0.0 < fraction <= 1.0:
        raise HarnessError(f"churn.fraction={fraction}: expected shares in (0, 1], e.g. [0.05, 0.2, 0.5]")
    given = read_replacements(replacements) if replacements is not None else None
    changes, n = draw_changes(suite, fraction, seed, given)
    by_fact = {c.fact_id: c for c in changes}
    tasks = [replace(t, rows=[_edit_eval(r, by_fact.get(str(r.get("fact_id") or ""))) for r in t.rows])
             for t in suite.tasks if t.kind == "open_qa"]
    updated = replace(suite, corpus=_edit_corpus(suite.corpus, changes), train=_edit_train(suite.train, by_fact),
                      tasks=tasks, content_hash=hash_json({"suite": suite.content_hash, "churn": fraction,
                                                           "changes": [c.to_json() for c in changes]}))
    return ChurnedSuite(fraction, updated, tuple(changes), n)
