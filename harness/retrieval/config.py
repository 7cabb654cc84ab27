"""The retriever's settings and its result type; kept import-light so configs load fast."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

from harness.errors import HarnessError
from harness.typed import coerce_fields

Kind = Literal["none", "dense", "bm25", "hybrid"]
IndexType = Literal["flat", "hnsw", "ivfpq"]
Chunking = Literal["none", "tokens", "paragraph"]

KINDS = ("none", "dense", "bm25", "hybrid")
INDEX_TYPES = ("flat", "hnsw", "ivfpq")
CHUNKINGS = ("none", "tokens", "paragraph")


@dataclass(frozen=True)
class Hit:
    """One retrieved passage for one query; ``rank`` starts at 1."""

    doc_id: str
    score: float
    rank: int
    passage_id: str = ""  # equals doc_id unless chunking split the document (then ``doc_id#n``)
    # character span of the passage in its document's text; None = the whole document
    start: int | None = None
    end: int | None = None

    def __post_init__(self) -> None:
        if not self.passage_id:
            object.__setattr__(self, "passage_id", self.doc_id)


@dataclass(frozen=True)
class RetrieverConfig:
    """Everything that changes which passages come back (and so belongs in cache keys)."""

    kind: Kind = "dense"
    top_k: int = 3
    index: IndexType = "flat"
    embedder: str = "wheel:all-minilm-l6-v2"
    batch_size: int = 64
    hnsw_m: int = 32
    hnsw_ef_construction: int = 200
    hnsw_ef_search: int = 64
    bm25_k1: float = 1.5
    bm25_b: float = 0.75
    rrf_k: int = 60
    dense_weight: float = 1.0
    bm25_weight: float = 1.0
    # how many candidates each arm contributes to the fusion (0 = max(50, 5 * top_k))
    hybrid_candidates: int = 0
    # documents -> passages: none (one per document) | tokens (sliding windows) | paragraph
    # (blank-line paragraphs packed up to chunk_size). Sizes count whitespace-separated words.
    chunking: Chunking = "none"
    chunk_size: int = 128
    chunk_overlap: int = 16
    # ivfpq: coarse lists, PQ sub-quantisers (must divide the embedding dim), bits per code,
    # and lists probed per query (search time, like hnsw_ef_search)
    ivf_nlist: int = 256
    pq_m: int = 16
    pq_nbits: int = 8
    ivf_nprobe: int = 16
    # optional second stage: a sentence-transformers CrossEncoder (local folder) rescoring the
    # first stage's rerank_top_n candidates; the best top_k of those are returned
    reranker: str | None = None
    rerank_top_n: int = 20

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise HarnessError(f"retriever kind '{self.kind}' is unknown; use one of {KINDS}")
        if self.index not in INDEX_TYPES:
            raise HarnessError(f"retriever index '{self.index}' is unknown; use one of {INDEX_TYPES}")
        if self.top_k < 1 and self.kind != "none":
            raise HarnessError(f"retriever top_k must be >= 1, got {self.top_k}")
        if self.batch_size < 1:
            raise HarnessError(f"retriever batch_size must be >= 1, got {self.batch_size}")
        if self.hnsw_m < 2 or self.hnsw_ef_search < 1 or self.hnsw_ef_construction < 1:
            raise HarnessError("retriever hnsw_m must be >= 2 and hnsw_ef_* >= 1")
        if self.rrf_k < 0 or self.dense_weight < 0 or self.bm25_weight < 0:
            raise HarnessError("retriever rrf_k and fusion weights must be >= 0")
        if self.chunking not in CHUNKINGS:
            raise HarnessError(f"retriever chunking '{self.chunking}' is unknown; use one of {CHUNKINGS}")
        if self.chunking != "none" and not 0 <= self.chunk_overlap < self.chunk_size:
            raise HarnessError(f"retriever needs chunk_size >= 1 and 0 <= chunk_overlap < chunk_size, got "
                               f"chunk_size={self.chunk_size} chunk_overlap={self.chunk_overlap}")
        if self.ivf_nlist < 1 or self.pq_m < 1 or not 1 <= self.pq_nbits <= 16 or self.ivf_nprobe < 1:
            raise HarnessError("retriever ivf_nlist, pq_m, ivf_nprobe must be >= 1 and pq_nbits in 1..16")
        if self.reranker is not None and not str(self.reranker).strip():
            object.__setattr__(self, "reranker", None)  # `retriever.reranker=` on the command line: off
        if self.reranker and self.rerank_top_n < self.top_k:
            raise HarnessError(f"retriever rerank_top_n ({self.rerank_top_n}) must be >= top_k ({self.top_k}): the "
                               f"reranker picks the top_k among that many first-stage candidates")

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RetrieverConfig:
        """Build from a (Hydra) mapping, naming unknown keys instead of a TypeError."""
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(data) - known)
        if unknown:
            raise HarnessError(f"unknown retriever setting(s) {unknown}; known: {sorted(known)}")
        return cls(**coerce_fields(cls, data, "retriever"))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def candidates(self) -> int:
        return self.hybrid_candidates or max(50, 5 * self.top_k)

    def rerank_settings(self) -> dict[str, Any] | None:
        """What the second stage adds to a results cache key (None without a reranker, so
        turning the option into existence changed no existing key)."""
        if not self.reranker:
            return None
        from harness.retrieval.embedder import fingerprint

        return {"model": fingerprint(self.reranker, "reranker"), "top_n": self.rerank_top_n}

    def index_params(self) -> dict[str, Any]:
        """Settings fixed at dense-index build time (search-time efSearch is not among them)."""
        params: dict[str, Any] = {"type": self.index, "metric": "ip", "normalized": True}
        if self.index == "hnsw":
            params.update(m=self.hnsw_m, ef_construction=self.hnsw_ef_construction)
        elif self.index == "ivfpq":
            params.update(nlist=self.ivf_nlist, m=self.pq_m, nbits=self.pq_nbits)
        return params

    def chunk_params(self) -> ChunkParams:
        """The passage-splitting settings alone (they name indexes and result caches)."""
        if self.chunking == "none":
            return ChunkParams()
        return ChunkParams(self.chunking, self.chunk_size, self.chunk_overlap)


@dataclass(frozen=True)
class ChunkParams:
    """How documents become passages; ``mode='none'`` ignores size and overlap."""

    mode: Chunking = "none"
    size: int = 128
    overlap: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {"mode": "none"} if self.mode == "none" else asdict(self)
