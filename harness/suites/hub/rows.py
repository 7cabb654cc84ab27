"""Pure helpers the hub converters share: deterministic splits and caps, leakage removal,
training rows in the eval prompt, and corpora made of training pairs.

Everything here is a function of the rows and a seed (no randomness state, no file access), so a
converted suite is the same on every machine for the same raw data and options.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from harness.suites.hub.tasks import TaskSpec
from harness.suites.text import normalize_text

Row = dict[str, Any]


def _rank(seed: int, key: str) -> str:
    return hashlib.sha256(f"{seed}:{key}".encode("utf-8")).hexdigest()


def hash_split(rows: Sequence[Row], key: Callable[[Row], str], eval_fraction: float, seed: int) -> tuple[list[Row], list[Row]]:
    """(train, eval) for a dataset with one split: a row is eval when the hash of its key falls
    below ``eval_fraction`` — stable under row order and under adding rows."""
    if not 0.0 < eval_fraction < 1.0:
        raise ValueError(f"eval_fraction must be in (0, 1), got {eval_fraction}")
    train, evals = [], []
    for row in rows:
        (evals if int(_rank(seed, key(row))[:8], 16) / 0xFFFFFFFF < eval_fraction else train).append(row)
    return train, evals


def cap(rows: Sequence[Row], limit: int | None, key: Callable[[Row], str], seed: int) -> list[Row]:
    """At most ``limit`` rows, a seeded sample kept in the original order (all when None)."""
    if limit is None or len(rows) <= limit:
        return list(rows)
    keep = {id(r) for r in sorted(rows, key=lambda r: _rank(seed, key(r)))[:limit]}
    return [r for r in rows if id(r) in keep]


def drop_leaks(train: Iterable[Row], evals: Sequence[Row]) -> tuple[list[Row], int]:
    """Eval rows whose question equals a training question after normalisation are dropped
    (real datasets repeat questions across splits; the suite loader refuses such leaks)."""
    seen = {normalize_text(r["question"]) for r in train}
    kept = [r for r in evals if normalize_text(r["question"]) not in seen]
    return kept, len(evals) - len(kept)


def unique_by(rows: Iterable[Row], key: Callable[[Row], str]) -> list[Row]:
    """First row per key (duplicate ids or questions inside one split)."""
    out: dict[str, Row] = {}
    for row in rows:
        out.setdefault(key(row), row)
    return list(out.values())


def train_rows(spec: TaskSpec, rows: Sequence[Row], explain: Callable[[Row], str] | None = None) -> list[Row]:
    """Training pairs in the task's own prompt: ``prompt`` is what lm-eval renders for the row
    with an empty context, ``answer`` what the model should say (plus an explanation if given)."""
    out = []
    for row in rows:
        answer = spec.answer_text(row)
        if spec.letters:
            answer = f"{answer}. {row['choices'][row['label']]}"
        extra = explain(row).strip() if explain else ""
        item = {"id": row["id"], "question": row["question"], "answer": f"{answer}. {extra}" if extra else answer,
                "prompt": spec.render(row)}
        if row.get("gold_ids"):
            item["doc_id"] = row["gold_ids"][0]
        out.append(item)
    return out


def shorten(text: str, limit: int, mark: str = "") -> str:
    """``text`` cut at a word boundary to at most ``limit`` characters (then ``mark`` appended)."""
    return text if len(text) <= limit else text[:limit].rsplit(" ", 1)[0] + mark


def knowledge_rows(corpus: Sequence[Row], question: Callable[[Row], str], max_chars: int = 1200) -> list[Row]:
    """One training pair per corpus document (its text as the answer), so the fine-tuned arm is
    given the same knowledge the retriever draws on, not only the dataset's training questions."""
    rows = []
    for doc in corpus:
        text = shorten(doc["text"], max_chars)
        rows.append({"id": f"{doc['id']}-knowledge", "question": question(doc), "answer": text,
                     "prompt": f"Question: {question(doc)}\nAnswer:", "doc_id": doc["id"]})
    return rows


def pair_corpus(train: Sequence[Row], text: Callable[[Row], str], *, titled: bool = True) -> list[Row]:
    """A corpus made of training pairs (id ``doc-<row id>``, title the question), for datasets that
    ship none: retrieval and fine-tuning then draw on exactly the same knowledge, the training set."""
    return [{"id": f"doc-{r['id']}", "text": text(r)} | ({"title": r["question"]} if titled else {}) for r in train]
