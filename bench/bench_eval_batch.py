"""The in-process backend's evaluation batch size, measured on the default run.

    .venv/bin/python bench/bench_eval_batch.py [--sizes 8 16 32 64] [--cache DIR] [--json PATH]

Why: on a CPU, greedy decoding reads every weight once per step whatever the batch holds (the
``peak`` bench: decoding runs at a tenth of the GEMM ceiling), so what a generation batch costs
is its number of steps — set by its longest answer — far more than its number of rows. A row
that has stopped at the task's stop sequence still rides along until the batch's last row
stops; the lever is therefore fewer batches, not dropping finished rows.

For each ``eval.batch_size``: ``python -m harness run +exp=agri`` with only the base model's two
conditions (closed book, dense RAG), from an empty response cache, the embedded model converted
once beforehand. Printed per size: the ``evaluate:base`` stage's seconds (manifest
``timings_s``: the model load, 2 × 25 open questions and 2 × 20 multiple-choice ones), and,
rebuilt from the run's per-sample records, the open-QA decoding steps the batches ran (lm-eval's
hf backend orders requests by prompt length, longest first, and cuts them into batches) beside
the answer tokens they kept: their ratio is the share of row-steps spent on rows that had
already stopped. Left padding can move fp32 logits by rounding, so each size's answers are
compared with the first size's and the number that differ is printed.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))

CONDITIONS = "conditions=[{adaptation: base, rag: false}, {adaptation: base, rag: true}]"
MAX_GEN_TOKS = 32  # conf/config.yaml eval.max_gen_toks


def run_once(size: int, env: dict[str, str], work: Path, cache: Path) -> Path:
    """One default-run evaluation of the base conditions at ``eval.batch_size=size``; its run folder."""
    shutil.rmtree(cache / "generations", ignore_errors=True)
    out = work / f"b{size}"
    cmd = [sys.executable, "-m", "harness", "run", "+exp=agri", CONDITIONS, f"eval.batch_size={size}",
           f"results_dir={out}", "history_db="]
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"failed: {' '.join(cmd)}\n{proc.stderr[-3000:]}")
    return next(p.parent for p in out.rglob("manifest.json"))


def decoding_steps(run: Path, tokenizer: Any, size: int) -> dict[str, int]:
    """Open-QA decoding steps the batches ran, and the answer tokens (stop token included) kept."""
    steps = kept = row_steps = 0
    for records in sorted(run.glob("samples/*/agri_qa.jsonl")):
        rows = [json.loads(line) for line in records.read_text().splitlines() if line.strip()]
        lengths = [(len(tokenizer(r["prompt"])["input_ids"]),
                    min(MAX_GEN_TOKS, len(tokenizer(r["output"])["input_ids"]) + 1)) for r in rows]
        lengths.sort(key=lambda pair: -pair[0])
        for start in range(0, len(lengths), size):
            batch = [answer for _, answer in lengths[start:start + size]]
            steps += max(batch)
            row_steps += max(batch) * len(batch)
            kept += sum(batch)
    return {"steps": steps, "row_steps": row_steps, "answer_tokens": kept}


def outputs(run: Path) -> dict[str, str]:
    return {f"{p.parent.name}/{r['id']}": r["output"] for p in sorted(run.glob("samples/*/*.jsonl"))
            for r in map(json.loads, p.read_text().splitlines()) if "output" in r}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[8, 16, 32, 64])
    parser.add_argument("--cache", type=Path, help="harness cache (default: a fresh temporary one)")
    parser.add_argument("--json", type=Path, help="also write the figures here (for bench/run_all.py)")
    args = parser.parse_args()
    from bench_overhead import prepared_cache
    from machine import cpu_model
    from transformers import AutoTokenizer

    cache = args.cache or Path(tempfile.mkdtemp(prefix="bench-eval-batch-cache-"))
    work = Path(tempfile.mkdtemp(prefix="bench-eval-batch-"))
    env, model = prepared_cache(cache)
    tokenizer = AutoTokenizer.from_pretrained(model.path)
    print(f"{cpu_model()}; +exp=agri, base model, closed book + dense RAG", flush=True)
    print(f"{'batch':>5}  {'evaluate s':>10}  {'QA steps':>8}  {'row-steps':>9}  {'answer tokens':>13}  stopped-row share")
    figures: dict[str, Any] = {}
    first: dict[str, str] | None = None
    for size in args.sizes:
        run = run_once(size, env, work, cache)
        seconds = json.loads((run / "manifest.json").read_text())["timings_s"]["evaluate:base"]
        counts = decoding_steps(run, tokenizer, size)
        idle = 1 - counts["answer_tokens"] / counts["row_steps"]
        print(f"{size:>5}  {seconds:>10.1f}  {counts['steps']:>8}  {counts['row_steps']:>9}  "
              f"{counts['answer_tokens']:>13}  {idle:.0%}", flush=True)
        answers = outputs(run)
        first = first or answers
        changed = sorted(k for k in first if answers.get(k) != first[k])
        if changed:
            print(f"       {len(changed)} answers differ from batch {args.sizes[0]}'s (e.g. {changed[:3]})")
        figures[str(size)] = {"evaluate_s": seconds, **counts, "stopped_row_share": idle,
                              "answers_changed": len(changed)}
    best = min(figures, key=lambda s: figures[s]["evaluate_s"])
    default = figures.get("16", figures[str(args.sizes[0])])
    print(f"\nfastest: batch {best}, {figures[best]['evaluate_s'] / default['evaluate_s']:.2f}× the time of "
          f"batch {16 if '16' in figures else args.sizes[0]}")
    import bench_json

    bench_json.write(args.json, "eval_batch",
                     {"best_vs_default_eval": figures[best]["evaluate_s"] / default["evaluate_s"]},
                     {"sizes": figures, "fastest": int(best), "cpu_model": cpu_model()},
                     {"sizes": args.sizes, "exp": "agri", "conditions": CONDITIONS})


if __name__ == "__main__":
    main()
