"""The one entry point: ``retrieve(corpus, queries, cfg)``, with results cached on disk so a
rerun is nearly free and every model in a grid sees identical contexts."""

from __future__ import annotations

import json
import logging
from dataclasses import asdict
from pathlib import Path

from harness import cache
from harness.errors import HarnessError
from harness.retrieval.config import Hit, RetrieverConfig
from harness.retrieval.passages import Passage, passages, passages_hash

log = logging.getLogger(__name__)

STAGE = "retrieval"
SCHEMA = 2  # 2: hits carry chunk ids and character spans
HITS_FILE = "hits.json"

Ranked = list[list[tuple[int, float]]]  # per query: (passage row, score), best first


def retrieve(corpus: list[dict], queries: list[str], cfg: RetrieverConfig) -> list[list[Hit]]:
    """Top-k passage hits per query, best first. ``kind='none'`` gives empty lists.

    With chunking, hits are chunks (a document may appear more than once): contexts use the
    chunks, while ``metrics.doc_ranking`` folds them to documents for gold-id metrics.
    """
    if cfg.kind == "none":
        return [[] for _ in queries]
    items = passages(corpus, cfg.chunk_params())
    k = effective_top_k(cfg.top_k, len(items))
    if not queries:
        return []
    got: list[list[list[Hit]]] = []  # the hits read (valid entry) or computed (build)

    def valid(entry: Path) -> bool:
        cached = _read_hits(entry, len(queries))
        if cached is not None:
            got.append(cached)
        return cached is not None

    def build(scratch: Path) -> None:
        got.append(_run(items, queries, cfg, k))
        payload = {"config": cfg.to_dict(), "top_k": k, "hits": [[asdict(h) for h in q] for q in got[-1]]}
        (scratch / HITS_FILE).write_text(json.dumps(payload))

    return cache.get_or_build(STAGE, results_key(items, queries, cfg, k), build, lambda entry: got[-1], valid=valid)


def retrieve_debug(corpus: list[dict], query: str, cfg: RetrieverConfig) -> list[tuple[Hit, str]]:
    """Top-k hits for one ad-hoc query with each passage's text, best first.

    Uses the cached index but not the results cache: ad-hoc queries are not worth an entry.
    """
    if cfg.kind == "none":
        raise HarnessError("retriever kind 'none' retrieves nothing; choose retriever=dense, bm25 or hybrid")
    if not query.strip():
        raise HarnessError("the query is empty; pass the question to retrieve for in quotes")
    items = passages(corpus, cfg.chunk_params())
    by_pid = {p.pid: p for p in items}
    hits = _run(items, [query], cfg, effective_top_k(cfg.top_k, len(items)))[0]
    return [(hit, by_pid[hit.passage_id].text) for hit in hits]


def format_debug(results: list[tuple[Hit, str]], width: int = 300) -> str:
    """One block per hit: rank, score, passage id (with its span when chunked), text."""
    if not results:
        return "(no passages retrieved)"
    blocks = []
    for hit, text in results:
        span = f" [{hit.start}:{hit.end}]" if hit.passage_id != hit.doc_id else ""
        shown = text if len(text) <= width else text[: width - 1] + "…"
        blocks.append(f"{hit.rank:>2}. {hit.score:.4f}  {hit.passage_id}{span}\n    {shown}")
    return "\n".join(blocks)


def effective_top_k(top_k: int, n_passages: int) -> int:
    if top_k > n_passages:
        log.warning("retriever top_k=%d exceeds the corpus size %d; using %d", top_k, n_passages, n_passages)
        return n_passages
    return top_k


def results_key(items: list[Passage], queries: list[str], cfg: RetrieverConfig, k: int) -> str:
    """Everything that can change the hits (chunking included); batch size and the embedder's
    path do not."""
    skip = ("batch_size", "embedder", "chunking", "chunk_size", "chunk_overlap", "reranker", "rerank_top_n")
    settings = {name: value for name, value in cfg.to_dict().items() if name not in skip}
    settings["chunking"] = cfg.chunk_params().to_dict()  # size/overlap only matter when chunking
    settings["top_k"] = k
    from harness.retrieval.embedder import fingerprint

    embedder = fingerprint(cfg.embedder) if cfg.kind in ("dense", "hybrid") else None
    key = {
        "schema": SCHEMA,
        "passages": passages_hash(items),
        "embedder": embedder,
        "settings": settings,
        "queries": cache.hash_json(list(queries)),
    }
    rerank = cfg.rerank_settings()
    if rerank is not None:  # absent otherwise: results cached before rerankers existed stay valid
        key["rerank"] = rerank
    return cache.hash_json(key)


def _read_hits(entry: Path, n_queries: int) -> list[list[Hit]] | None:
    try:
        payload = json.loads((entry / HITS_FILE).read_text())
        hits = [[Hit(**h) for h in q] for q in payload["hits"]]
    except (OSError, ValueError, KeyError, TypeError) as err:
        log.warning("retrieval cache entry %s is unreadable (%s); recomputing", entry, err)
        return None
    if len(hits) != n_queries:
        log.warning("retrieval cache entry %s has %d query rows, expected %d; recomputing",
                    entry, len(hits), n_queries)
        return None
    return hits


def _run(items: list[Passage], queries: list[str], cfg: RetrieverConfig, k: int) -> list[list[Hit]]:
    first = max(k, min(cfg.rerank_top_n, len(items))) if cfg.reranker else k
    if cfg.kind == "dense":
        ranked = _dense_rows(items, queries, cfg, first)
    elif cfg.kind == "bm25":
        ranked = _bm25_rows(items, queries, cfg, first)
    elif cfg.kind == "hybrid":
        ranked = _hybrid_rows(items, queries, cfg, first)
    else:  # pragma: no cover - RetrieverConfig validates kinds
        raise HarnessError(f"unknown retriever kind '{cfg.kind}'")
    if cfg.reranker:
        from harness.retrieval.rerank import rerank

        ranked = rerank(items, queries, ranked, cfg.reranker, k, cfg.batch_size)
    return [
        [_hit(items[row], score, rank) for rank, (row, score) in enumerate(q, start=1)]
        for q in ranked
    ]


def _hit(item: Passage, score: float, rank: int) -> Hit:
    return Hit(item.doc_id, score, rank, item.pid, item.start, item.end)


def _dense_rows(items: list[Passage], queries: list[str], cfg: RetrieverConfig, k: int) -> Ranked:
    from harness.retrieval import dense
    from harness.retrieval.embedder import load_embedder
    from harness.retrieval.index_cache import load_or_build_dense

    embedder = load_embedder(cfg.embedder)
    built = load_or_build_dense(items, cfg, embedder)
    vectors = embedder.encode(list(queries), batch_size=cfg.batch_size)
    scores, rows = dense.search(built.index, vectors, k, cfg.hnsw_ef_search, cfg.ivf_nprobe)
    return [
        [(int(r), float(s)) for r, s in zip(row_ids, row_scores, strict=True) if r >= 0]
        for row_ids, row_scores in zip(rows, scores, strict=True)
    ]


def _bm25_rows(items: list[Passage], queries: list[str], cfg: RetrieverConfig, k: int) -> Ranked:
    from harness.retrieval.bm25 import build_bm25, search_bm25

    return search_bm25(build_bm25(items, cfg), list(queries), k)


def _hybrid_rows(items: list[Passage], queries: list[str], cfg: RetrieverConfig, k: int) -> Ranked:
    from harness.retrieval.hybrid import rrf_fuse

    pool = min(cfg.candidates, len(items))
    dense_ranked = _dense_rows(items, queries, cfg, pool)
    bm25_ranked = _bm25_rows(items, queries, cfg, pool)
    return [
        rrf_fuse([[r for r, _ in d], [r for r, _ in b]], [cfg.dense_weight, cfg.bm25_weight], cfg.rrf_k, k)
        for d, b in zip(dense_ranked, bm25_ranked, strict=True)
    ]
