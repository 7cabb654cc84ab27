"""Reciprocal-rank fusion: combines rankings without calibrating dense and BM25 scores."""

from __future__ import annotations


def rrf_fuse(
    rankings: list[list[int]], weights: list[float], k: int = 60, top_k: int = 10
) -> list[tuple[int, float]]:
    """Fuse ranked row lists: score(row) = sum_i weights[i] / (k + rank_i(row)), rank from 1.

    Ties break by the best single-list rank, then by row number, so results are deterministic.
    """
    scores: dict[int, float] = {}
    best_rank: dict[int, int] = {}
    for ranking, weight in zip(rankings, weights, strict=True):
        for rank, row in enumerate(ranking, start=1):
            scores[row] = scores.get(row, 0.0) + weight / (k + rank)
            best_rank[row] = min(best_rank.get(row, rank), rank)
    ordered = sorted(scores, key=lambda r: (-scores[r], best_rank[r], r))
    return [(row, scores[row]) for row in ordered[:top_k]]
