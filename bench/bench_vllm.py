"""vLLM-served vs in-process hf on the same grid: speed ratio and answer agreement, in one run.

    .venv/bin/python bench/bench_vllm.py [--n-docs 10] [--cache DIR] [--json PATH]

Both backends evaluate the same conditions on the same materialised tasks with the same adapter
(trained once, by the first run, and cached). Each backend starts with an empty generation cache,
so both evaluate every request. Printed: evaluation wall time per backend (the served one with
and without the server's start), the ratio, and how often the two backends' greedy answers (open
QA: the generated text; multiple choice: the chosen option) agree, per condition and task.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))


def harness_run(backend: str, args: list[str], cache: Path, results: Path) -> Path:
    env = dict(os.environ, HARNESS_CACHE=str(cache))
    cmd = [sys.executable, "-m", "harness", "run", "+exp=agri", f"model.backend={backend}",
           f"results_dir={results / backend}", *args]
    started = time.perf_counter()
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"{backend} run failed:\n{proc.stderr[-3000:]}")
    print(f"  {backend}: run finished in {time.perf_counter() - started:.0f} s", flush=True)
    runs = [p for p in (results / backend / "agri").iterdir() if not p.name.startswith(".")]
    return runs[0]


def timings(run_dir: Path) -> dict[str, float]:
    return json.loads((run_dir / "manifest.json").read_text())["timings_s"]


def answers(run_dir: Path) -> dict[tuple[str, str], dict[int, object]]:
    out = {}
    for path in sorted((run_dir / "samples").glob("*/*.jsonl")):
        rows = [json.loads(line) for line in path.read_text().splitlines() if line]
        out[(path.parent.name, path.stem)] = {r["doc_id"]: (str(r["output"]).strip(), r["scores"]) for r in rows}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-docs", type=int, default=10, help="agri documents whose questions are evaluated")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--cache", type=Path, help="harness cache to use (default: a fresh temporary one)")
    parser.add_argument("--json", type=Path, help="also write the ratios and times here (for bench/run_all.py)")
    args = parser.parse_args()
    cache = args.cache or Path(tempfile.mkdtemp(prefix="bench-vllm-cache-"))
    results = Path(tempfile.mkdtemp(prefix="bench-vllm-results-"))
    shutil.rmtree(cache / "generations", ignore_errors=True)
    grid = [f"suite.n_docs={args.n_docs}", f"finetune.epochs={args.epochs}"]
    print(f"agri grid, {args.n_docs} documents, cache {cache}", flush=True)
    hf_dir = harness_run("hf", grid, cache, results)
    served_dir = harness_run("vllm", grid, cache, results)

    t_hf, t_vllm = timings(hf_dir), timings(served_dir)
    eval_hf = sum(v for k, v in t_hf.items() if k.startswith("evaluate:"))
    eval_vllm = sum(v for k, v in t_vllm.items() if k.startswith("evaluate:"))
    serve = t_vllm.get("serve", 0.0)
    print("\n== speed (evaluation of every condition; generation caches empty) ==")
    print(f"hf in process          {eval_hf:8.1f} s")
    print(f"vLLM served            {eval_vllm:8.1f} s   (+ {serve:.1f} s server start)")
    print(f"ratio hf / vLLM        {eval_hf / eval_vllm:8.2f}x  (evaluation only)")
    print(f"ratio incl. start      {eval_hf / (eval_vllm + serve):8.2f}x")

    a, b = answers(hf_dir), answers(served_dir)
    print("\n== agreement of greedy answers (same doc, same condition) ==")
    print(f"{'condition':<12} {'task':<10} {'agree':>7} {'n':>4}  primary hf / vLLM")
    total_same = total = 0
    for key in sorted(a):
        docs = sorted(set(a[key]) & set(b.get(key, {})))
        same = sum(a[key][d][0] == b[key][d][0] for d in docs)
        total_same, total = total_same + same, total + len(docs)
        metric = "contains" if "contains" in next(iter(a[key].values()))[1] else "acc"
        mean = lambda run: sum(float(run[key][d][1][metric]) for d in docs) / max(1, len(docs))  # noqa: E731
        print(f"{key[0]:<12} {key[1]:<10} {same / max(1, len(docs)):7.2f} {len(docs):4d}  "
              f"{metric} {mean(a):.3f} / {mean(b):.3f}")
    print(f"{'all':<12} {'':<10} {total_same / max(1, total):7.2f} {total:4d}")
    print(f"\nrun folders: {hf_dir}  {served_dir}")
    import bench_json

    bench_json.write(args.json, "vllm",
                     {"vllm_vs_hf": eval_hf / eval_vllm, "vllm_vs_hf_incl_start": eval_hf / (eval_vllm + serve)},
                     {"eval_hf_s": eval_hf, "eval_vllm_s": eval_vllm, "serve_start_s": serve,
                      "answers_identical": total_same, "answers_compared": total},
                     {"n_docs": args.n_docs, "epochs": args.epochs})


if __name__ == "__main__":
    main()
