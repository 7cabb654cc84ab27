"""Retrieval benchmark: embedder overhead vs raw sentence-transformers, flat vs HNSW recall,
and (``--scale``) IVF-PQ vs flat on synthetic random unit vectors at 10k / 100k (/ 1M) rows.

Run: ``python bench/bench_retrieval.py [--n 3000 --queries 200 --batch-size 64] [--json PATH]``, or
``python bench/bench_retrieval.py --scale 10000 100000 [--threads 1]`` for the index-only part
(no embedder: random vectors, each size built in a fresh subprocess so its peak RSS is its own).
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
sys.path.insert(0, str(Path(__file__).resolve().parent))

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


SCALE_DIM = 384  # all-MiniLM-L6-v2's dimension


def unit_vectors(n: int, dim: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    out = np.empty((n, dim), dtype=np.float32)
    for start in range(0, n, 65536):  # in blocks: float64 normals for 1M x 384 would be 3 GB
        block = rng.standard_normal((min(65536, n - start), dim), dtype=np.float32)
        out[start: start + len(block)] = block / np.linalg.norm(block, axis=1, keepdims=True)
    return out


def scale_one(kind: str, n: int, n_queries: int, nlist: int, m: int, nprobe: int, folder: Path) -> dict:
    """One index build from an on-disk embedding store (as the harness builds), in this process."""
    import resource

    from harness.retrieval import dense, embed_store

    store = folder / "vectors.npy"
    rows = embed_store.NpyRows.open(store)
    queries = np.load(folder / "queries.npy")
    params = {"type": kind, "metric": "ip", "normalized": True}
    if kind == "ivfpq":
        params.update(nlist=nlist, m=m, nbits=8)
    t0 = time.perf_counter()
    index = dense.build_index(rows, params)
    build = time.perf_counter() - t0
    t0 = time.perf_counter()
    _, got = dense.search(index, queries, 10, nprobe=nprobe)
    qps = n_queries / (time.perf_counter() - t0)
    np.save(folder / f"hits-{kind}.npy", got)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"build_s": build, "qps": qps, "peak_rss_mb": peak_mb, "built_as": dense.index_type(index)}


def bench_scale(sizes: list[int], n_queries: int, nprobe: int, threads: int) -> None:
    """IVF-PQ vs flat: build time, peak RSS, q/s and recall@10 against the exact flat answer.

    Queries are database rows plus noise, so each has a true nearest neighbour; the other 9 of
    the top 10 are near-ties on unstructured random data, which is the hardest case for PQ.
    """
    import json
    import subprocess

    print(f"\nscale: random unit vectors, dim {SCALE_DIM}, {n_queries} queries, faiss threads {threads}")
    print(f"{'n':>8} {'index':34} {'build s':>8} {'peak RSS MB':>12} {'q/s':>9} {'recall@10':>11} {'top-1':>6}")
    for n in sizes:
        nlist = max(16, min(4096, int(4 * np.sqrt(n)), n // 39))  # ~4 sqrt(n), but trainable
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            vectors = np.lib.format.open_memmap(folder / "vectors.npy", mode="w+", dtype=np.float32,
                                                shape=(n, SCALE_DIM))
            for start in range(0, n, 65536):  # write in blocks: the store never lives in RAM whole
                stop = min(n, start + 65536)
                vectors[start:stop] = unit_vectors(stop - start, SCALE_DIM, seed=start)
            source = np.random.default_rng(7).choice(n, n_queries, replace=False)
            queries = np.array(vectors[np.sort(source)]) + 0.1 * unit_vectors(n_queries, SCALE_DIM, seed=-1 % 997)
            vectors.flush()
            del vectors
            np.save(folder / "queries.npy", queries / np.linalg.norm(queries, axis=1, keepdims=True))
            results = {}
            for kind in ("flat", "ivfpq"):
                code = (f"import json,sys,faiss; sys.path.insert(0,{str(Path(__file__).resolve().parents[1])!r}); "
                        f"faiss.omp_set_num_threads({threads}); sys.path.insert(0,{str(Path(__file__).parent)!r}); "
                        f"from bench_retrieval import scale_one; from pathlib import Path; "
                        f"print(json.dumps(scale_one({kind!r},{n},{n_queries},{nlist},16,{nprobe},Path({tmp!r}))))")
                proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
                results[kind] = json.loads(proc.stdout.strip().splitlines()[-1])
            truth, got = np.load(folder / "hits-flat.npy"), np.load(folder / "hits-ivfpq.npy")
            recall = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(truth, got, strict=True)])
            top1 = np.mean(got[:, 0] == np.sort(source))
            for kind, r in results.items():
                rec = "1.000 (ref)" if kind == "flat" else f"{recall:.3f}"
                hit = f"{np.mean(truth[:, 0] == np.sort(source)):.3f}" if kind == "flat" else f"{top1:.3f}"
                label = kind if r["built_as"] == "flat" else f"ivfpq nlist={nlist} pq=16x8 nprobe={nprobe}"
                print(f"{n:>8} {label:34} {r['build_s']:8.2f} {r['peak_rss_mb']:12.0f} {r['qps']:9.0f} "
                      f"{rec:>11} {hit:>6}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=3000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--embed-n", type=int, default=1000, help="passages for the throughput comparison")
    parser.add_argument("--scale", type=int, nargs="*", default=None,
                        help="only the IVF-PQ vs flat part, at these corpus sizes (e.g. 10000 100000)")
    parser.add_argument("--nprobe", type=int, default=16)
    parser.add_argument("--threads", type=int, default=1, help="faiss threads for --scale")
    parser.add_argument("--json", type=Path, help="also write the embedding ratio here (for bench/run_all.py)")
    args = parser.parse_args()
    if args.scale:
        bench_scale(args.scale, args.queries, args.nprobe, args.threads)
        return
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
    embed_s = time.perf_counter() - t0
    print(f"embedded {args.n} passages in {embed_s:.1f} s")
    queries = synthetic_queries(args.queries)
    qvec = emb.encode(queries, batch_size=args.batch_size)
    bench_indexes(vectors, qvec, 10, ms=[16, 32], efs=[16, 64, 128])
    bench_cache(corpus, queries)
    import bench_json

    bench_json.write(args.json, "retrieval", {"embed_vs_raw": ours / raw},
                     {"ours_passages_per_s": ours, "raw_passages_per_s": raw, "embed_all_s": embed_s},
                     {"n": args.n, "embed_n": args.embed_n, "batch_size": args.batch_size, "rounds": args.rounds,
                      "queries": args.queries, "torch_threads": torch.get_num_threads()})


if __name__ == "__main__":
    main()
