"""A suite cut down to some of its documents, for runs that must be quick (``suite.docs``).

Why not only ``suite.n_docs`` (the first N corpus documents): a suite whose difficulty lives in
its *other* documents — agri's near-duplicate guides of neighbouring regions and the seed
catalogue its two-document questions need sit after the asked guides — loses that difficulty
when cut to its first documents, and its RAG rows then measure an easy retrieval. ``suite.docs``
keeps the documents whose id or title matches one of its glob patterns, every question about
them, and every further document those questions cite as gold (a two-document question brings
its catalogue entry); the training set keeps the rows of the kept documents, so both arms still
hold the same knowledge and the distractors stay in the corpus.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from fnmatch import fnmatchcase

from harness.cache import hash_json
from harness.errors import HarnessError
from harness.suites.loader import Suite


def matching_docs(suite: Suite, patterns: Sequence[str]) -> set[str]:
    """Ids of the corpus documents whose id or title matches a pattern (case-insensitive globs)."""
    wanted = [p.lower() for p in patterns]
    return {str(doc["id"]) for doc in suite.corpus
            if any(fnmatchcase(str(doc["id"]).lower(), p) or fnmatchcase(str(doc.get("title", "")).lower(), p)
                   for p in wanted)}


def subset_by_docs(suite: Suite, patterns: Sequence[str]) -> Suite:
    """The questions about the matching documents, with the documents they need, and the
    training rows of every kept document (see the module docstring)."""
    if not patterns:
        raise HarnessError("suite.docs is an empty list: give glob patterns of document ids or titles, e.g. ['*Velmora*']")
    matched = matching_docs(suite, patterns)
    if not matched:
        raise HarnessError(f"suite.docs={list(patterns)} matches no document of suite '{suite.name}' "
                           "(patterns are globs over document ids and titles, e.g. '*Velmora*' or 'agri-doc-00*')")
    keep = set(matched)
    for task in suite.tasks:
        for row in task.rows:
            if set(row.get("gold_ids") or ()) & matched:
                keep |= set(row["gold_ids"])
    tasks = [replace(t, rows=[r for r in t.rows if r.get("gold_ids") and set(r["gold_ids"]) <= keep
                              and set(r["gold_ids"]) & matched]) for t in suite.tasks]
    train = [r for r in suite.train if r.get("doc_id") is None or r["doc_id"] in keep]
    for label, rows in [("train", train)] + [(f"task {t.name}", t.rows) for t in tasks]:
        if not rows:
            raise HarnessError(f"suite '{suite.name}' with suite.docs={list(patterns)} leaves {label} empty; "
                               "match more documents")
    return replace(suite, corpus=[d for d in suite.corpus if d["id"] in keep], train=train, tasks=tasks,
                   content_hash=hash_json({"suite": suite.content_hash, "docs": sorted(keep)}))


__all__ = ["matching_docs", "subset_by_docs"]
