"""Retrieval arm: passages (optionally chunked), BM25 / dense (FAISS flat,
HNSW, IVF-PQ) / hybrid retrievers, cached indexes and results, retrieval metrics. (The RAG
variants of lm-eval tasks are made from its results in :mod:`harness.variants`.)

Heavy libraries (torch, faiss, bm25s, pypdf) load only when they actually run.
"""

from harness.retrieval.api import format_debug, retrieve, retrieve_debug
from harness.retrieval.config import ChunkParams, Hit, RetrieverConfig
from harness.retrieval.passages import Passage, passages

__all__ = [
    "ChunkParams",
    "Hit",
    "Passage",
    "RetrieverConfig",
    "format_debug",
    "passages",
    "retrieve",
    "retrieve_debug",
]
