"""Index scale benchmark: FAISS flat / HNSW / IVF-PQ over 10k, 100k and 1M 384-d passages.

The passages are not embedded (1M MiniLM encodes take hours on a CPU): deterministic random unit
vectors are written into the harness's own resumable embedding store (``embed_store.fill``, a
float32 ``.npy`` memmap filled batch by batch), and every index is built from that store with
``dense.build_index`` exactly as the harness builds one — rows read in batches, IVF-PQ trained
on a sample. Each (size, index) build runs in a fresh subprocess, so the peak RSS
(``resource.getrusage``) is that build's alone. Queries are 1,000 stored rows plus noise (each
has a true nearest neighbour); recall@10 is against the exact flat index's top 10.

Random vectors are the worst case for approximate search: beyond the true neighbour the
top 10 are near-ties, which real embeddings (clustered) do not have. Read recall@10 as a lower
bound, and top-1 (the planted neighbour found) as the easy case.

Run: ``python bench/bench_index_scale.py [--sizes 10000 100000 1000000] [--kinds flat hnsw ivfpq]``
(``--workdir`` keeps the stores between runs; ``--threads`` sets FAISS's OpenMP threads;
``--json PATH`` also writes every row, and the largest peak RSS at 1M in GiB, for ``bench/run_all.py``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # runnable from a checkout
sys.path.insert(0, str(Path(__file__).resolve().parent))

DIM = 384  # all-MiniLM-L6-v2
K = 10
BATCH = 65536


class RowIds:
    """The "texts" handed to ``embed_store.fill``: row numbers, so the fake encoder can seed each
    batch by its position (any batch is reproducible, and a resumed fill gives the same store)."""

    def __init__(self, n: int) -> None:
        self.n = n

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, rows: slice) -> list[str]:
        return [str(i) for i in range(*rows.indices(self.n))]


def random_encode(texts: list[str]) -> np.ndarray:
    from bench_retrieval import unit_vectors

    return unit_vectors(len(texts), DIM, seed=int(texts[0]))


def make_store(n: int, folder: Path) -> Path:
    """``folder/vectors.npy`` (n × 384 unit rows) via the harness embedding store, plus queries."""
    from harness.retrieval import embed_store

    store = folder / f"store-{n}"
    if not (store / "queries.npy").is_file():
        t0 = time.perf_counter()
        embed_store.fill(RowIds(n), random_encode, store, DIM, BATCH, identity=f"random-unit-{n}")
        rows = embed_store.NpyRows.open(store / embed_store.VECTORS_FILE)
        picked = np.sort(np.random.default_rng(7).choice(n, 1000 if n >= 1000 else n, replace=False))
        from bench_retrieval import unit_vectors

        queries = np.stack([rows[int(i): int(i) + 1][0] for i in picked]) + 0.1 * unit_vectors(len(picked), DIM, 997)
        np.save(store / "queries.npy", (queries / np.linalg.norm(queries, axis=1, keepdims=True)).astype(np.float32))
        np.save(store / "planted.npy", picked)
        print(f"  store {n:>9,} rows written in {time.perf_counter() - t0:.1f} s", flush=True)
    return store


def params_for(kind: str, n: int, args: argparse.Namespace) -> dict:
    params = {"type": kind, "metric": "ip", "normalized": True}
    if kind == "hnsw":
        params.update(m=args.hnsw_m, ef_construction=args.ef_construction)
    elif kind == "ivfpq":
        nlist = max(16, min(4096, int(4 * np.sqrt(n)), n // 39))  # ~4 sqrt(n), trainable
        params.update(nlist=nlist, m=args.pq_m, nbits=8)
    return params


def worker(store: Path, params: dict, search: dict, threads: int) -> dict:
    """One build + search in this (fresh) process; hits saved for the recall comparison."""
    import resource

    import faiss

    from harness.retrieval import dense, embed_store

    faiss.omp_set_num_threads(threads)
    rows = embed_store.NpyRows.open(store / embed_store.VECTORS_FILE)
    queries = np.load(store / "queries.npy")
    t0 = time.perf_counter()
    index = dense.build_index(rows, params)
    build_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    _, hits = dense.search(index, queries, K, ef_search=search["ef_search"], nprobe=search["nprobe"])
    qps = len(queries) / (time.perf_counter() - t0)
    np.save(store / f"hits-{params['type']}.npy", hits)
    with tempfile.TemporaryDirectory() as tmp:
        dense.save_index(index, Path(tmp) / "index.faiss")
        size_mb = (Path(tmp) / "index.faiss").stat().st_size / 2**20
    return {"build_s": build_s, "qps": qps, "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "index_mb": size_mb, "built_as": dense.index_type(index)}


def run_one(store: Path, params: dict, args: argparse.Namespace) -> dict:
    search = {"ef_search": args.ef_search, "nprobe": args.nprobe}
    code = (f"import json,sys; sys.path.insert(0,{str(Path(__file__).resolve().parent)!r}); "
            f"from bench_index_scale import worker; from pathlib import Path; "
            f"print(json.dumps(worker(Path({str(store)!r}), {params!r}, {search!r}, {args.threads})))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    if proc.returncode:
        raise SystemExit(f"build {params} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def recall(store: Path, kind: str) -> tuple[float, float]:
    truth, got = np.load(store / "hits-flat.npy"), np.load(store / f"hits-{kind}.npy")
    at_k = float(np.mean([len(set(a) & set(b)) / K for a, b in zip(truth, got, strict=True)]))
    return at_k, float(np.mean(got[:, 0] == np.load(store / "planted.npy")))


def describe(params: dict, built_as: str, args: argparse.Namespace) -> str:
    if built_as == "hnsw":
        return f"hnsw M={params['m']} efC={params['ef_construction']} efS={args.ef_search}"
    if built_as == "ivfpq":
        return f"ivfpq nlist={params['nlist']} pq={params['m']}x8 nprobe={args.nprobe}"
    return "flat" if params["type"] == "flat" else f"flat (fallback from {params['type']})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--kinds", nargs="+", default=["flat", "hnsw", "ivfpq"], choices=["flat", "hnsw", "ivfpq"])
    parser.add_argument("--hnsw-m", type=int, default=32)
    parser.add_argument("--ef-construction", type=int, default=40)
    parser.add_argument("--ef-search", type=int, default=64)
    parser.add_argument("--pq-m", type=int, default=16)
    parser.add_argument("--nprobe", type=int, default=16)
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--workdir", type=Path, default=None, help="keep the vector stores here (default: a temp dir)")
    parser.add_argument("--json", type=Path, help="also write every row here (for bench/run_all.py)")
    args = parser.parse_args()
    kinds = ["flat"] + [k for k in args.kinds if k != "flat"]  # flat is the recall reference
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, {platform.platform()}; faiss threads "
          f"{args.threads}; dim {DIM}, {K}-NN, 1,000 queries", flush=True)
    header = (f"{'n':>9} {'index':40} {'build s':>8} {'peak RSS MB':>12} {'index MB':>9} {'q/s':>8} "
              f"{'recall@10':>10} {'top-1':>6}")
    lines = [header]
    rows: list[dict] = []
    with tempfile.TemporaryDirectory(dir=args.workdir) as tmp:
        for n in args.sizes:
            store = make_store(n, args.workdir or Path(tmp))
            for kind in kinds:
                params = params_for(kind, n, args)
                got = run_one(store, params, args)
                rec, top1 = recall(store, kind)
                line = (f"{n:>9,} {describe(params, got['built_as'], args):40} {got['build_s']:8.1f} "
                        f"{got['peak_rss_mb']:12.0f} {got['index_mb']:9.1f} {got['qps']:8.0f} "
                        f"{rec if kind != 'flat' else 1.0:10.3f} {top1:6.3f}")
                lines.append(line)
                rows.append({"n": n, "index": describe(params, got["built_as"], args), **got,
                             "recall_at_10": rec if kind != "flat" else 1.0, "top1": top1})
                print(line if len(lines) > 2 else f"{header}\n{line}", flush=True)
    print("\n" + "\n".join(lines))
    import bench_json

    at_1m = [r["peak_rss_mb"] for r in rows if r["n"] == 1_000_000]
    bench_json.write(args.json, "index_scale", {"peak_rss_1m_gib": max(at_1m) / 1024} if at_1m else {},
                     {"rows": rows}, {"sizes": args.sizes, "kinds": kinds, "threads": args.threads,
                                      "hnsw_m": args.hnsw_m, "ef_construction": args.ef_construction,
                                      "ef_search": args.ef_search, "pq_m": args.pq_m, "nprobe": args.nprobe})


if __name__ == "__main__":
    main()
