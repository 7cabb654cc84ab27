"""Corpus documents → indexable passages with stable ids (the seam where chunking will go)."""

from __future__ import annotations

from dataclasses import dataclass

from harness import cache
from harness.errors import HarnessError


@dataclass(frozen=True)
class Passage:
    """A retrievable unit. ``pid`` is stable across runs; today one passage per document."""

    pid: str
    doc_id: str
    title: str
    text: str

    @property
    def index_text(self) -> str:
        """What the retrievers see: the title carries much of a short document's meaning."""
        return f"{self.title}\n{self.text}" if self.title else self.text


def passages(corpus: list[dict]) -> list[Passage]:
    """One passage per document, ids checked, order preserved."""
    if not corpus:
        raise HarnessError(
            "the retrieval corpus is empty: the suite has no corpus rows to index "
            "(check the suite's corpus file, or use retriever kind 'none')"
        )
    seen: set[str] = set()
    out: list[Passage] = []
    for i, row in enumerate(corpus):
        if "id" not in row or "text" not in row:
            raise HarnessError(f"corpus row {i} lacks 'id' or 'text' (keys: {sorted(row)})")
        doc_id = str(row["id"])
        if doc_id in seen:
            raise HarnessError(f"corpus document id '{doc_id}' occurs more than once (row {i})")
        seen.add(doc_id)
        out.append(Passage(doc_id, doc_id, str(row.get("title") or ""), str(row["text"])))
    return out


def passages_hash(items: list[Passage]) -> str:
    """Content hash of the passage list (ids, titles, texts, order)."""
    return cache.hash_json([[p.pid, p.doc_id, p.title, p.text] for p in items])
