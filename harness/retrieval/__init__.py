"""Retrieval arm: corpus ingestion, passages (optionally chunked), BM25 / dense (FAISS flat,
HNSW, IVF-PQ) / hybrid retrievers, cached indexes and results, retrieval metrics, and
materialised RAG variants of lm-eval tasks.

Heavy libraries (torch, faiss, bm25s, pypdf) load only when they actually run.
"""

from harness.retrieval.api import format_debug, retrieve, retrieve_debug
from harness.retrieval.config import ChunkParams, Hit, RetrieverConfig
from harness.retrieval.ingest import ingest_folder
from harness.retrieval.materialize import MaterializedTask, materialize_rag_task
from harness.retrieval.passages import Passage, passages

__all__ = [
    "ChunkParams",
    "Hit",
    "MaterializedTask",
    "Passage",
    "RetrieverConfig",
    "format_debug",
    "ingest_folder",
    "materialize_rag_task",
    "passages",
    "retrieve",
    "retrieve_debug",
]
