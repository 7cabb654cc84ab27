"""FAISS inner-product indexes over normalised embeddings: build, search, save, load."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np

from harness.errors import HarnessError

# faiss logs each missing SIMD variant it probes as a ModuleNotFoundError at INFO: not a problem
logging.getLogger("faiss.loader").setLevel(logging.WARNING)


def build_index(vectors: np.ndarray, params: dict[str, Any]) -> Any:
    """A ``flat`` (exact) or ``hnsw`` (approximate) index holding ``vectors`` in row order."""
    import faiss

    if vectors.ndim != 2 or vectors.shape[0] == 0:
        raise HarnessError(f"cannot index an embedding matrix of shape {vectors.shape}")
    dim = int(vectors.shape[1])
    if params["type"] == "flat":
        index = faiss.IndexFlatIP(dim)
    elif params["type"] == "hnsw":
        index = faiss.IndexHNSWFlat(dim, int(params["m"]), faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = int(params["ef_construction"])
    else:
        raise HarnessError(f"unknown dense index type '{params['type']}'")
    index.add(np.ascontiguousarray(vectors, dtype=np.float32))
    return index


def search(index: Any, queries: np.ndarray, k: int, ef_search: int = 64) -> tuple[np.ndarray, np.ndarray]:
    """Top-k (scores, row numbers); rows are -1 where the index had fewer than k."""
    import faiss

    if hasattr(index, "hnsw"):
        # efSearch below k would silently return fewer good neighbours
        faiss.ParameterSpace().set_index_parameter(index, "efSearch", max(ef_search, k))
    return index.search(np.ascontiguousarray(queries, dtype=np.float32), k)


def save_index(index: Any, path: Path) -> None:
    import faiss

    faiss.write_index(index, str(path))


def load_index(path: Path) -> Any:
    """Read an index file; FAISS raises RuntimeError on truncated or foreign files."""
    import faiss

    return faiss.read_index(str(path))
