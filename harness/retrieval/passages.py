"""Corpus documents → indexable passages with stable ids: one per document, or chunks
``doc_id#n`` (n from 0) with character offsets back into the document's text."""

from __future__ import annotations

from dataclasses import dataclass

from harness import cache
from harness.errors import HarnessError
from harness.retrieval.chunking import chunk_spans
from harness.retrieval.config import ChunkParams

WHOLE = ChunkParams()


@dataclass(frozen=True)
class Passage:
    """A retrievable unit. ``pid`` is stable across runs; ``text == doc_text[start:end]``."""

    pid: str
    doc_id: str
    title: str
    text: str
    start: int = 0
    end: int = -1  # -1: the end of the document (whole-document passages)

    @property
    def index_text(self) -> str:
        """What the retrievers see: the title carries much of a short document's meaning."""
        return f"{self.title}\n{self.text}" if self.title else self.text


def documents(corpus: list[dict]) -> list[Passage]:
    """One whole-document passage per row, ids checked, order preserved."""
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
        text = str(row["text"])
        out.append(Passage(doc_id, doc_id, str(row.get("title") or ""), text, 0, len(text)))
    return out


def split(doc: Passage, params: ChunkParams) -> list[Passage]:
    """A document's chunks; every chunk keeps the document's title."""
    return [
        Passage(f"{doc.doc_id}#{n}", doc.doc_id, doc.title, doc.text[start:end], start, end)
        for n, (start, end) in enumerate(chunk_spans(doc.text, params))
    ]


def passages(corpus: list[dict], chunking: ChunkParams | None = None) -> list[Passage]:
    """Passages in corpus order (chunks of a document consecutive); whole documents by default."""
    docs = documents(corpus)
    if chunking is None or chunking.mode == "none":
        return docs
    return [chunk for doc in docs for chunk in split(doc, chunking)]


def passages_hash(items: list[Passage]) -> str:
    """Content hash of the passage list (ids, titles, texts, order)."""
    return cache.hash_json([[p.pid, p.doc_id, p.title, p.text] for p in items])
