"""Retrieval benchmark: embedder overhead vs raw sentence-transformers, flat vs HNSW recall.

Run: ``python bench/bench_retrieval.py [--n 3000 --queries 200 --batch-size 64]``.
Both embedders run side by side in one process on the same texts (interleaved, best of
``--rounds``), so the ratio is meaningful on a busy machine; absolute rates are not.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # runnable from a checkout

CROPS = ["wheat", "maize", "rice", "barley", "sorghum", "cassava", "potato", "tomato", "soybean", "coffee",
         "cocoa", "banana", "olive", "grape", "apple", "cotton", "sugarcane", "millet", "lentil", "onion"]
PESTS = ["aphids", "rust", "blight", "locusts", "nematodes", "mildew", "weevils", "thrips", "borers", "rot"]
REGIONS = ["Kenya", "Punjab", "Iowa", "Andalusia", "Java", "Bahia", "Ontario", "Anatolia", "Mekong", "Tuscany"]
TREATMENTS = ["neem oil", "copper sulphate", "crop rotation", "resistant seed", "drip irrigation",
              "biological control", "early sowing", "mulching", "pheromone traps", "lime"]
MONTHS = ["January", "March", "May", "July", "September", "November"]


def synthetic_passages(n: int, seed: int = 0) -> list[dict]:
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        crop, pest, region = rng.choice(CROPS), rng.choice(PESTS), rng.choice(REGIONS)
        treat, month, rate = rng.choice(TREATMENTS), rng.choice(MONTHS), rng.randint(1, 400)
        text = (f"{crop.title()} growers in {region} report {pest} after {month} rains; extension officers "
                f"recommend {treat} at {rate} kg per hectare and scouting every {rng.randint(2, 14)} days.")
        rows.append({"id": f"p{i:05d}", "title": f"{crop.title()} {pest} in {region}", "text": text})
    return rows


def synthetic_queries(n: int, seed: int = 1) -> list[str]:
    rng = random.Random(seed)
    return [f"How do farmers in {rng.choice(REGIONS)} deal with {rng.choice(PESTS)} on {rng.choice(CROPS)}?"
            for _ in range(n)]


def bench_embedding(texts: list[str], batch_size: int, rounds: int):
    from harness.retrieval.embedder import load_embedder

    emb = load_embedder()
    emb.encode(texts[:batch_size], batch_size=batch_size)  # warm up both paths (same weights)
    ours, raw = [], []
    vectors = None
    for _ in range(rounds):
        t0 = time.perf_counter()
        vectors = emb.encode(texts, batch_size=batch_size, progress=False)
        ours.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        emb.model.encode(texts, batch_size=batch_size, show_progress_bar=False)
        raw.append(time.perf_counter() - t0)
    return emb, vectors, len(texts) / min(ours), len(texts) / min(raw)


def bench_indexes(vectors: np.ndarray, queries: np.ndarray, k: int, ms: list[int], efs: list[int]) -> None:
    from harness.retrieval import dense

    t0 = time.perf_counter()
    flat = dense.build_index(vectors, {"type": "flat"})
    build_flat = time.perf_counter() - t0
    t0 = time.perf_counter()
    _, truth = dense.search(flat, queries, k)
    qps_flat = len(queries) / (time.perf_counter() - t0)
    print(f"flat      build {build_flat * 1e3:7.1f} ms   {qps_flat:9.0f} q/s   recall@{k} 1.000 (reference)")
    for m in ms:
        t0 = time.perf_counter()
        hnsw = dense.build_index(vectors, {"type": "hnsw", "m": m, "ef_construction": 200})
        build = time.perf_counter() - t0
        for ef in efs:
            t0 = time.perf_counter()
            _, got = dense.search(hnsw, queries, k, ef_search=ef)
            qps = len(queries) / (time.perf_counter() - t0)
            recall = np.mean([len(set(a) & set(b)) / k for a, b in zip(truth, got, strict=True)])
            print(f"hnsw M={m:<3d} build {build * 1e3:7.1f} ms   {qps:9.0f} q/s   recall@{k} {recall:.3f}"
                  f"   (efSearch {ef})")


def bench_cache(corpus: list[dict], queries: list[str]) -> None:
    """End-to-end ``retrieve``: cold (embed + index + search), index cached, results cached."""
    from harness.retrieval import RetrieverConfig, retrieve

    with tempfile.TemporaryDirectory() as tmp:
        os.environ["HARNESS_CACHE"] = tmp
        cfg = RetrieverConfig(kind="dense", top_k=5)
        for label, run_cfg in (("cold", cfg), ("index cached", RetrieverConfig(kind="dense", top_k=4)),
                               ("results cached", RetrieverConfig(kind="dense", top_k=4))):
            t0 = time.perf_counter()
            retrieve(corpus, queries, run_cfg)
            print(f"retrieve {label:15s} {time.perf_counter() - t0:7.2f} s")
        t0 = time.perf_counter()
        retrieve(corpus, queries, RetrieverConfig(kind="bm25", top_k=5))
        print(f"retrieve {'bm25 cold':15s} {time.perf_counter() - t0:7.2f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=3000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--embed-n", type=int, default=1000, help="passages for the throughput comparison")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch

    print(f"torch threads {torch.get_num_threads()}, batch size {args.batch_size}")
    corpus = synthetic_passages(args.n)
    texts = [f"{row['title']}\n{row['text']}" for row in corpus]
    emb, _, ours, raw = bench_embedding(texts[: args.embed_n], args.batch_size, args.rounds)
    print(f"embedding {args.embed_n} passages: ours {ours:.0f}/s, raw SentenceTransformer.encode {raw:.0f}/s, "
          f"ratio ours/raw {ours / raw:.3f}")
    t0 = time.perf_counter()
    vectors = emb.encode(texts, batch_size=args.batch_size)
    print(f"embedded {args.n} passages in {time.perf_counter() - t0:.1f} s")
    queries = synthetic_queries(args.queries)
    qvec = emb.encode(queries, batch_size=args.batch_size)
    bench_indexes(vectors, qvec, 10, ms=[16, 32], efs=[16, 64, 128])
    bench_cache(corpus, queries)


if __name__ == "__main__":
    main()
