"""The retriever's settings and its result type; kept import-light so configs load fast."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

from harness.errors import HarnessError

Kind = Literal["none", "dense", "bm25", "hybrid"]
IndexType = Literal["flat", "hnsw"]

KINDS = ("none", "dense", "bm25", "hybrid")
INDEX_TYPES = ("flat", "hnsw")


@dataclass(frozen=True)
class Hit:
    """One retrieved passage for one query; ``rank`` starts at 1."""

    doc_id: str
    score: float
    rank: int
    passage_id: str = ""  # equals doc_id until chunking splits documents

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

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RetrieverConfig:
        """Build from a (Hydra) mapping, naming unknown keys instead of a TypeError."""
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(data) - known)
        if unknown:
            raise HarnessError(f"unknown retriever setting(s) {unknown}; known: {sorted(known)}")
        return cls(**data)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def candidates(self) -> int:
        return self.hybrid_candidates or max(50, 5 * self.top_k)

    def index_params(self) -> dict[str, Any]:
        """Settings fixed at dense-index build time (search-time efSearch is not among them)."""
        params: dict[str, Any] = {"type": self.index, "metric": "ip", "normalized": True}
        if self.index == "hnsw":
            params.update(m=self.hnsw_m, ef_construction=self.hnsw_ef_construction)
        return params
