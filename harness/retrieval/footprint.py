"""What a retriever keeps in memory to answer queries: its index and the passage texts it hands
to the prompt. RAG pays this for as long as it serves; an adapter does not, so the Decision's
cost model records it beside the index build time (docs/decision.md).

The sizes are measured on the built structures, not estimated from counts: a FAISS index by
its serialized size (FAISS writes the arrays it holds: vectors, graph links, codebooks), a BM25
index by the bytes of its sparse score matrix and vocabulary.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from harness.retrieval.config import RetrieverConfig
from harness.retrieval.passages import Passage, passages


@dataclass(frozen=True)
class Footprint:
    """Bytes a retriever holds while serving: the index(es) and the passage store."""

    index_bytes: int
    passage_bytes: int

    @property
    def total_bytes(self) -> int:
        return self.index_bytes + self.passage_bytes

    def to_dict(self) -> dict[str, int]:
        return {"index_bytes": self.index_bytes, "passage_bytes": self.passage_bytes,
                "memory_bytes": self.total_bytes}


def bm25_bytes(retriever: Any) -> int:
    """The sparse score matrix (data, indices, indptr) and the vocabulary's keys and ids."""
    arrays = sum(int(v.nbytes) for v in retriever.scores.values() if hasattr(v, "nbytes"))
    vocab = sum(len(str(term).encode("utf-8")) + 8 for term in retriever.vocab_dict)
    return arrays + vocab


def faiss_bytes(index: Any) -> int:
    import faiss

    return int(faiss.serialize_index(index).nbytes)


def _dense_bytes(items: list[Passage], cfg: RetrieverConfig) -> int:
    from harness.retrieval.embedder import load_embedder
    from harness.retrieval.index_cache import load_or_build_dense

    return faiss_bytes(load_or_build_dense(items, cfg, load_embedder(cfg.embedder)).index)


def _bm25_index_bytes(items: list[Passage], cfg: RetrieverConfig) -> int:
    from harness.retrieval.bm25 import build_bm25

    return bm25_bytes(build_bm25(items, cfg))


def footprint(corpus: list[dict], cfg: RetrieverConfig) -> Footprint | None:
    """The serving footprint of ``cfg`` over ``corpus`` (None for ``kind='none'``). A dense
    index comes from the index cache, so this costs a load, not a build, after retrieval ran."""
    if cfg.kind == "none":
        return None
    items = passages(corpus, cfg.chunk_params())
    index = 0
    if cfg.kind in ("dense", "hybrid"):
        index += _dense_bytes(items, cfg)
    if cfg.kind in ("bm25", "hybrid"):
        index += _bm25_index_bytes(items, cfg)
    return Footprint(index, sum(len(p.text.encode("utf-8")) for p in items))


__all__ = ["Footprint", "bm25_bytes", "faiss_bytes", "footprint"]
