"""The evaluation batch size per backend, measured on the default run.

    .venv/bin/python bench/bench_eval_batch.py [--backend hf|vllm] [--sizes 16 8 32 64] [--cache DIR] [--json PATH]

Why: on a CPU, greedy decoding reads every weight once per step however many rows the batch
holds (the ``peak`` bench: decoding runs at a tenth of the GEMM ceiling), so a generation
batch's cost follows its number of steps, set by its longest answer, more than its number of
rows. A row that has stopped at the task's stop sequence rides along until the batch's last row
stops; this bench prices both levers: fewer batches, and dropping the rows that have stopped.

For each size: ``python -m harness run +exp=agri`` with only the base model's two conditions
(closed book, dense RAG) and the backend's knob at that size — ``hf``: ``eval.batch_size``;
``vllm``: ``model.client.num_concurrent``, the requests the client keeps in flight while the
server batches them — from an empty response cache, the embedded model converted once
beforehand. Printed per size: the ``evaluate:base`` stage's seconds (manifest ``timings_s``: the
model load, 2 × 25 open questions and 2 × 20 multiple-choice ones) and, for ``hf``, rebuilt from
the run's per-sample records, the open-QA decoding steps its batches ran (lm-eval's hf backend
orders requests by prompt length, longest first, and cuts them into batches) beside the answer
tokens they kept: the difference is the row-steps of rows that had already stopped. Then the
cost of one decoding step at 1–64 rows, whose slope prices what dropping stopped rows would
save. Each size's answers are compared with the first size's (left padding can move fp32
logits by rounding) and the number that differ is printed.
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


def run_once(backend: str, size: int, env: dict[str, str], work: Path, cache: Path) -> Path:
    """One default-run evaluation of the base conditions with the backend's knob at ``size``; its
    run folder."""
    shutil.rmtree(cache / "generations", ignore_errors=True)
    out = work / f"{backend}-{size}"
    cmd = [sys.executable, "-m", "harness", "run", "+exp=agri", CONDITIONS, f"model.backend={backend}",
           f"{KNOBS[backend]}={size}", f"results_dir={out}", "history_db="]
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


def step_costs(model_path: Path, sizes: list[int], new_tokens: int = 32) -> dict[int, float]:
    """Seconds per greedy decoding step at each batch size: one agri open question under the chat
    template repeated ``size`` times (so only the row count changes), timed as a generation of
    ``new_tokens`` + 1 tokens minus one of 1 token (which is the prefill); median of 3."""
    import statistics
    import time

    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(model_path)
    row = json.loads((REPO / "tasks/agri/eval/qa.jsonl").read_text().splitlines()[0])
    prompt = tokenizer.apply_chat_template([{"role": "user", "content": f"Question: {row['question']}\nAnswer:"}],
                                           tokenize=False, add_generation_prompt=True)
    model = AutoModelForCausalLM.from_pretrained(model_path, dtype=torch.float32).eval()

    def seconds(batch: Any, n: int) -> float:
        start = time.perf_counter()
        model.generate(**batch, max_new_tokens=n, min_new_tokens=n, do_sample=False,
                       pad_token_id=tokenizer.pad_token_id)
        return time.perf_counter() - start

    costs: dict[int, float] = {}
    with torch.no_grad():
        for size in sizes:
            batch = tokenizer([prompt] * size, return_tensors="pt")
            seconds(batch, 2)  # warm-up
            costs[size] = statistics.median(
                (seconds(batch, new_tokens + 1) - seconds(batch, 1)) / new_tokens for _ in range(3))
    return costs


def row_share(costs: dict[int, float]) -> float:
    """The least-squares slope of step cost on rows: what one more row adds to a decoding step."""
    xs, ys = list(costs), list(costs.values())
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sum((x - mx) ** 2 for x in xs)


def outputs(run: Path) -> dict[str, str]:
    return {f"{p.parent.name}/{r['id']}": r["output"] for p in sorted(run.glob("samples/*/*.jsonl"))
            for r in map(json.loads, p.read_text().splitlines()) if "output" in r}


KNOBS = {"hf": "eval.batch_size", "vllm": "model.client.num_concurrent"}


def sweep(backend: str, sizes: list[int], env: dict[str, str], cache: Path, tokenizer: Any) -> dict[str, Any]:
    """Each size's evaluate seconds (and, for hf, its decoding steps), printed as a table row."""
    work = Path(tempfile.mkdtemp(prefix="bench-eval-batch-"))
    print(f"{KNOBS[backend]:>28}  {'evaluate s':>10}  {'QA steps':>8}  {'row-steps':>9}  {'answer tokens':>13}  "
          "stopped-row share")
    figures: dict[str, Any] = {}
    first: dict[str, str] | None = None
    for size in sizes:
        run = run_once(backend, size, env, work, cache)
        timings = json.loads((run / "manifest.json").read_text())["timings_s"]
        figure: dict[str, Any] = {"evaluate_s": timings["evaluate:base"]}
        if backend == "hf":
            figure |= decoding_steps(run, tokenizer, size)
            figure["stopped_row_share"] = 1 - figure["answer_tokens"] / figure["row_steps"]
            print(f"{size:>28}  {figure['evaluate_s']:>10.1f}  {figure['steps']:>8}  {figure['row_steps']:>9}  "
                  f"{figure['answer_tokens']:>13}  {figure['stopped_row_share']:.0%}", flush=True)
        else:
            print(f"{size:>28}  {figure['evaluate_s']:>10.1f}  (served: the server batches)", flush=True)
        answers = outputs(run)
        first = first or answers
        figure["answers_changed"] = len([k for k in first if answers.get(k) != first[k]])
        if figure["answers_changed"]:
            print(f"{'':>28}  {figure['answers_changed']} answers differ from {KNOBS[backend]}={sizes[0]}'s")
        figures[str(size)] = figure
    return figures


def price_stopped_rows(figures: dict[str, Any], model_path: Path) -> dict[str, Any]:
    """The decoding step's cost by rows, and what dropping stopped rows would save at each size."""
    costs = step_costs(model_path, [1, 8, 16, 32, 64])
    per_row = row_share(costs)
    print("\ndecoding step: " + ", ".join(f"{b} rows {1000 * c:.0f} ms" for b, c in costs.items())
          + f"; each further row adds {1000 * per_row:.1f} ms")
    for size, fig in figures.items():
        stopped = fig["row_steps"] - fig["answer_tokens"]
        fig["drop_stopped_rows_saves_s"] = per_row * stopped
        print(f"batch {size}: dropping the {stopped} row-steps of stopped rows would save about "
              f"{per_row * stopped:.1f} s of {fig['evaluate_s']:.1f} s")
    return {"step_s": {str(b): c for b, c in costs.items()}, "row_step_s": per_row}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=sorted(KNOBS), default="hf")
    parser.add_argument("--sizes", type=int, nargs="+", default=[16, 8, 32, 64], help="the first is the reference")
    parser.add_argument("--cache", type=Path, help="harness cache (default: a fresh temporary one)")
    parser.add_argument("--json", type=Path, help="also write the figures here (for bench/run_all.py)")
    args = parser.parse_args()
    from bench_overhead import prepared_cache
    from machine import cpu_model
    from transformers import AutoTokenizer

    cache = args.cache or Path(tempfile.mkdtemp(prefix="bench-eval-batch-cache-"))
    env, model = prepared_cache(cache)
    print(f"{cpu_model()}; +exp=agri, model.backend={args.backend}, base model, closed book + dense RAG", flush=True)
    figures = sweep(args.backend, args.sizes, env, cache, AutoTokenizer.from_pretrained(model.path))
    extra = price_stopped_rows(figures, Path(model.path)) if args.backend == "hf" else {}
    best, ref = min(figures, key=lambda s: figures[s]["evaluate_s"]), str(args.sizes[0])
    ratio = figures[best]["evaluate_s"] / figures[ref]["evaluate_s"]
    print(f"\nfastest: {KNOBS[args.backend]}={best}, {ratio:.2f}× the time of {ref}")
    import bench_json

    bench_json.write(args.json, "eval_batch", {"best_vs_default_eval": ratio},
                     {"sizes": figures, "fastest": int(best), "cpu_model": cpu_model(), **extra},
                     {"backend": args.backend, "knob": KNOBS[args.backend], "sizes": args.sizes, "exp": "agri"})


if __name__ == "__main__":
    main()
