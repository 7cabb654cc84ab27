"""Second-stage reranking with a sentence-transformers CrossEncoder.

The first stage (dense, BM25 or hybrid) returns ``rerank_top_n`` candidates per query; the cross
encoder reads each (query, passage) pair together — slower than a bi-encoder, usually more
precise — and the best ``top_k`` by its score are kept. Models load from a local folder only
(e.g. an ms-marco MiniLM cross-encoder downloaded once); the weights hash is part of the
retrieval cache key, so cached results are never served for another reranker.
"""

from __future__ import annotations

import functools
import logging
from typing import Any

import numpy as np

from harness.errors import HarnessError
from harness.retrieval.embedder import resolve
from harness.retrieval.passages import Passage

log = logging.getLogger(__name__)

Ranked = list[list[tuple[int, float]]]


@functools.lru_cache(maxsize=2)
def load_reranker(spec: str) -> Any:
    """The CrossEncoder at ``spec`` (a local folder), loaded once per process."""
    from harness.models import wheels

    local = resolve(spec, "reranker")
    wheels.offline_env()
    from sentence_transformers import CrossEncoder

    log.info("loading reranker %s from %s", spec, local.path)
    try:
        return CrossEncoder(str(local.path), device="cpu", local_files_only=True)
    except (OSError, ValueError) as err:
        raise HarnessError(f"reranker '{spec}' is not a loadable cross-encoder folder ({str(err).splitlines()[0]})") from err


def order(scores: np.ndarray, k: int) -> list[int]:
    """Candidate positions by cross-encoder score, best first; ties keep the first-stage order."""
    return sorted(range(len(scores)), key=lambda i: (-float(scores[i]), i))[:k]


def rerank(items: list[Passage], queries: list[str], ranked: Ranked, spec: str, k: int,
           batch_size: int = 64) -> Ranked:
    """Rescore each query's first-stage candidates (row, score) and keep the best ``k``.

    All pairs go through the model in one batched call; the returned scores are the cross
    encoder's (for a one-logit model with its default sigmoid, in [0, 1])."""
    model = load_reranker(spec)
    pairs = [(query, items[row].index_text) for query, cands in zip(queries, ranked, strict=True) for row, _ in cands]
    if not pairs:
        return [[] for _ in ranked]
    flat = np.asarray(model.predict(pairs, batch_size=batch_size, show_progress_bar=False), dtype=np.float64)
    if flat.ndim != 1:
        raise HarnessError(f"reranker '{spec}' returns {flat.shape[1:]} scores per pair; a reranker needs one "
                           "(a cross-encoder with num_labels=1)")
    out: Ranked = []
    start = 0
    for cands in ranked:
        scores = flat[start: start + len(cands)]
        start += len(cands)
        out.append([(cands[i][0], float(scores[i])) for i in order(scores, k)])
    return out
