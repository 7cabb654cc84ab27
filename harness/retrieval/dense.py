"""FAISS inner-product indexes over normalised embeddings: build, search, save, load.

Vectors are added in batches from any row source (an array, a memmap, ``NpyRows``), so a
compressed ``ivfpq`` index over a corpus far larger than RAM can be built from disk.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from harness.errors import HarnessError

log = logging.getLogger(__name__)

# faiss logs each missing SIMD variant it probes as a ModuleNotFoundError at INFO: not a problem
logging.getLogger("faiss.loader").setLevel(logging.WARNING)

ADD_BATCH_ROWS = 16384
# k-means wants ~39 points per centroid (FAISS warns below it); below that IVF-PQ is not trained
MIN_POINTS_PER_CENTROID = 39
# training on more points per centroid adds time and RAM (FAISS copies the sample, then its
# residuals) for little quality; 64 keeps a 1M-row build's training set to ~64 x nlist rows
MAX_POINTS_PER_CENTROID = 64


class Rows(Protocol):
    """A 2-D float matrix readable in row slices."""

    shape: Any

    def __getitem__(self, rows: slice) -> np.ndarray: ...


def min_train_rows(params: dict[str, Any]) -> int:
    """Vectors needed to train IVF-PQ's coarse (nlist) and PQ (2**nbits) codebooks."""
    return MIN_POINTS_PER_CENTROID * max(int(params["nlist"]), 2 ** int(params["nbits"]))


def effective_params(params: dict[str, Any], n_rows: int) -> dict[str, Any]:
    """``params``, or flat when an ``ivfpq`` index would have too few vectors to train."""
    if params["type"] == "ivfpq" and n_rows < min_train_rows(params):
        log.warning("ivfpq needs >= %d vectors to train (nlist=%s, nbits=%s) but the corpus has %d; "
                    "using an exact flat index instead", min_train_rows(params), params["nlist"],
                    params["nbits"], n_rows)
        return {"type": "flat", "metric": params.get("metric", "ip"), "normalized": True}
    return params


def _training_sample(vectors: Rows, params: dict[str, Any], seed: int = 0) -> np.ndarray:
    """An evenly spread, deterministic sample of rows, read in contiguous blocks."""
    n = int(vectors.shape[0])
    want = min(n, MAX_POINTS_PER_CENTROID * max(int(params["nlist"]), 2 ** int(params["nbits"])))
    if want == n:
        return np.ascontiguousarray(vectors[0:n], dtype=np.float32)
    rng = np.random.default_rng(seed)
    block = 256
    starts = np.sort(rng.choice(-(-n // block), size=-(-want // block), replace=False)) * block
    sample = np.concatenate([vectors[int(s): int(s) + block] for s in starts])
    return np.ascontiguousarray(sample[:want], dtype=np.float32)


def _new_index(dim: int, params: dict[str, Any]) -> Any:
    import faiss

    kind = params["type"]
    if kind == "flat":
        return faiss.IndexFlatIP(dim)
    if kind == "hnsw":
        index = faiss.IndexHNSWFlat(dim, int(params["m"]), faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = int(params["ef_construction"])
        return index
    if kind == "ivfpq":
        if dim % int(params["m"]):
            raise HarnessError(f"ivfpq pq_m={params['m']} must divide the embedding dimension {dim}")
        quantizer = faiss.IndexFlatIP(dim)
        return faiss.IndexIVFPQ(quantizer, dim, int(params["nlist"]), int(params["m"]), int(params["nbits"]),
                                faiss.METRIC_INNER_PRODUCT)
    raise HarnessError(f"unknown dense index type '{kind}'")


def build_index(vectors: Rows, params: dict[str, Any], batch_rows: int = ADD_BATCH_ROWS) -> Any:
    """A ``flat`` (exact), ``hnsw`` or ``ivfpq`` (approximate) index holding ``vectors`` in row
    order. ``ivfpq`` trains on a sample first; with too few vectors it falls back to flat."""
    shape = tuple(vectors.shape)
    if len(shape) != 2 or shape[0] == 0:
        raise HarnessError(f"cannot index an embedding matrix of shape {shape}")
    n, dim = int(shape[0]), int(shape[1])
    params = effective_params(params, n)
    index = _new_index(dim, params)
    if not index.is_trained:
        index.train(_training_sample(vectors, params))
    for start in range(0, n, batch_rows):
        index.add(np.ascontiguousarray(vectors[start: start + batch_rows], dtype=np.float32))
    return index


def search(
    index: Any, queries: np.ndarray, k: int, ef_search: int = 64, nprobe: int = 16
) -> tuple[np.ndarray, np.ndarray]:
    """Top-k (scores, row numbers); rows are -1 where the index had fewer than k."""
    import faiss

    if hasattr(index, "hnsw"):
        # efSearch below k would silently return fewer good neighbours
        faiss.ParameterSpace().set_index_parameter(index, "efSearch", max(ef_search, k))
    if hasattr(index, "nprobe"):
        index.nprobe = min(int(nprobe), int(index.nlist))
    return index.search(np.ascontiguousarray(queries, dtype=np.float32), k)


def index_type(index: Any) -> str:
    """What was actually built (``ivfpq`` may have fallen back to ``flat``)."""
    if hasattr(index, "hnsw"):
        return "hnsw"
    if hasattr(index, "nprobe"):
        return "ivfpq"
    return "flat"


def save_index(index: Any, path: Path) -> None:
    import faiss

    faiss.write_index(index, str(path))


def load_index(path: Path) -> Any:
    """Read an index file; FAISS raises RuntimeError on truncated or foreign files."""
    import faiss

    return faiss.read_index(str(path))
