"""Retrieval's share of a RAG run: how much of ``harness run`` the retrieval stage costs.

    .venv/bin/python bench/bench_rag_share.py [--n-docs N] [--limit N] [--cache DIR] [--json PATH]

One ``python -m harness run +exp=agri`` with only the base + dense condition, from a cache that
holds nothing but the converted model (converted before timing, as a user's second experiment
would find it): the retrieval stage is cold — it loads the embedder, embeds the corpus, builds
the FAISS index, retrieves for every eval question and writes the RAG task data. The share is
that stage's time over the sum of all stage times in the run's manifest (goal ≤ 5 %); the share of
the command's whole wall time (imports and start-up included) is printed beside it.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(REPO))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-docs", type=int, default=None, help="agri documents whose questions are evaluated "
                        "(default: all 30)")
    parser.add_argument("--limit", type=int, default=None, help="rows per task (default: all)")
    parser.add_argument("--cache", type=Path, help="harness cache (default: a fresh temporary one)")
    parser.add_argument("--json", type=Path, help="also write the share and stage times here (for bench/run_all.py)")
    args = parser.parse_args()
    from bench_overhead import prepared_cache, timed

    cache = args.cache or Path(tempfile.mkdtemp(prefix="bench-rag-share-cache-"))
    results = Path(tempfile.mkdtemp(prefix="bench-rag-share-"))
    env, _ = prepared_cache(cache)  # model converted once, outside the timing
    cmd = [sys.executable, "-m", "harness", "run", "+exp=agri", "conditions=[{adaptation: base, rag: true}]",
           f"results_dir={results}", "history_db="]
    cmd += [f"suite.n_docs={args.n_docs}"] if args.n_docs else []
    cmd += [f"eval.limit={args.limit}"] if args.limit else []
    print(f"agri, base + dense, documents {args.n_docs or 'all'}, rows per task {args.limit or 'all'}, "
          f"cache {cache}", flush=True)
    wall = timed(cmd, env, REPO)
    run_dir = next(p for p in (results / "agri").iterdir() if not p.name.startswith("."))
    stages = json.loads((run_dir / "manifest.json").read_text())["timings_s"]
    total = sum(stages.values())
    print(f"{'stage':<20} {'s':>8} {'share':>7}")
    for name, seconds in stages.items():
        print(f"{name:<20} {seconds:8.1f} {seconds / total:7.1%}")
    print(f"{'all stages':<20} {total:8.1f}\n{'command wall time':<20} {wall:8.1f}")
    share, share_wall = stages["retrieval"] / total, stages["retrieval"] / wall
    print(f"\nretrieval / all stages     {share:6.1%}   (goal ≤ 5 %)")
    print(f"retrieval / wall time      {share_wall:6.1%}")
    import bench_json

    bench_json.write(args.json, "rag_share", {"retrieval_share": share, "retrieval_share_of_wall": share_wall},
                     {"stages_s": stages, "wall_s": wall, "run_dir": str(run_dir)},
                     {"n_docs": args.n_docs, "limit": args.limit, "conditions": ["base+dense"]})


if __name__ == "__main__":
    main()
