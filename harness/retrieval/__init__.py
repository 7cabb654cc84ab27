"""Retrieval arm: passages, BM25 / dense (FAISS) / hybrid retrievers, cached indexes and
results, retrieval metrics, and materialised RAG variants of lm-eval tasks.

Heavy libraries (torch, faiss, bm25s) load only when a retriever actually runs.
"""

from harness.retrieval.api import retrieve
from harness.retrieval.config import Hit, RetrieverConfig
from harness.retrieval.materialize import MaterializedTask, materialize_rag_task
from harness.retrieval.passages import Passage, passages

__all__ = [
    "Hit",
    "MaterializedTask",
    "Passage",
    "RetrieverConfig",
    "materialize_rag_task",
    "passages",
    "retrieve",
]
