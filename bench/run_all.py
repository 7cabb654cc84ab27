"""Every benchmark in one command, each ratio beside its goal, on a described machine.

    .venv/bin/python bench/run_all.py [--quick] [--only NAME ...] [--skip NAME ...] [--out DIR]

Runs the benches one after another, each as its own process (so one bench's memory and threads
never colour the next), with ``--json`` so each writes its ratios; then prints one table —
figure, measured, goal, met? — under a description of the machine (CPU model, cores, RAM, load
average before and after, versions) and writes it as Markdown (``summary.md``, ready to paste
into docs/benchmarks.md) and JSON (``summary.json``) to ``--out`` (default
``results/bench/<time>[-quick]/``), with every bench's output in ``<bench>.log``.

Default sizes are the ones docs/benchmarks.md records (about 70 min on 2 cores); ``--quick``
uses small sizes (minutes) that check the machinery but cannot judge every goal — the table says
which and why. A bench that fails is reported with the end of its log and the others still run;
the exit status is 1 when any failed.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
sys.path.insert(0, str(BENCH_DIR))

from goals import GOALS, INFO, Goal  # noqa: E402
from machine import describe, load_average, markdown  # noqa: E402


@dataclass(frozen=True)
class Bench:
    script: str
    full: tuple[str, ...]      # arguments at the recorded sizes
    quick: tuple[str, ...]     # arguments for --quick
    takes_cache: bool          # has --cache (gets a fresh one, deleted after the bench)


# cheapest first, so a --quick run shows its first rows within a minute
BENCHES: dict[str, Bench] = {
    "retrieval": Bench("bench_retrieval.py", (), ("--n", "400", "--queries", "50", "--embed-n", "256"), False),
    "rag_share": Bench("bench_rag_share.py", (), ("--n-docs", "2", "--limit", "8"), True),
    "overhead": Bench("bench_overhead.py", ("--limit", "40"), ("--limit", "4"), True),
    "vllm": Bench("bench_vllm.py", ("--n-docs", "10"), ("--n-docs", "1", "--epochs", "1"), True),
    "cpu_speedups": Bench("bench_cpu_speedups.py", ("--questions", "40", "--steps", "6"),
                          ("--questions", "8", "--steps", "2"), False),
    "peak": Bench("bench_peak.py", ("--repeats", "5"), ("--repeats", "1"), False),
    "packing": Bench("bench_packing.py", ("--repeats", "5"), ("--repeats", "1"), False),
    "eval_batch": Bench("bench_eval_batch.py", ("--sizes", "16", "8", "32", "64"), ("--sizes", "16", "32"), True),
    "full_ft": Bench("bench_full_ft.py", ("--steps", "4", "--rounds", "2"), ("--steps", "1", "--rounds", "1"), False),
    "index_scale": Bench("bench_index_scale.py", ("--sizes", "10000", "100000", "1000000"),
                         ("--sizes", "10000"), False),
}


def run_bench(name: str, bench: Bench, quick: bool, out: Path, scratch: Path) -> dict[str, Any]:
    """One bench as a subprocess: its stdout to the console and the log, stderr to the log."""
    json_path, log_path = out / f"{name}.json", out / f"{name}.log"
    cmd = [sys.executable, str(BENCH_DIR / bench.script), *(bench.quick if quick else bench.full),
           "--json", str(json_path)]
    cache = scratch / f"cache-{name}"
    if bench.takes_cache:
        cmd += ["--cache", str(cache)]
    shown = " ".join(["python", f"bench/{bench.script}", *(bench.quick if quick else bench.full)])
    print(f"\n=== {name}: {shown}", flush=True)
    load_before, started = load_average(), time.perf_counter()
    with log_path.open("w") as log:
        log.write(f"$ {' '.join(cmd)}\n")
        log.flush()
        proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=log, text=True, bufsize=1)
        assert proc.stdout is not None
        for line in proc.stdout:
            print(f"  {line}", end="", flush=True)
            log.write(line)
        returncode = proc.wait()
    wall = time.perf_counter() - started
    shutil.rmtree(cache, ignore_errors=True)
    result: dict[str, Any] = {"command": shown, "returncode": returncode, "wall_s": round(wall, 1),
                              "load_before": load_before, "load_after": load_average()}
    if returncode == 0 and json_path.is_file():
        result.update(json.loads(json_path.read_text()))
    else:
        tail = log_path.read_text().splitlines()[-15:]
        result["error"] = f"exit {returncode}" + ("" if json_path.is_file() else ", no JSON result")
        print(f"  FAILED ({result['error']}); end of {log_path}:\n    " + "\n    ".join(tail), flush=True)
    return result


def goal_row(goal: Goal, results: dict[str, dict[str, Any]], quick: bool) -> dict[str, Any]:
    """The table row of one goal: measured value, met?, and why it cannot be judged if so."""
    result = results.get(goal.bench)
    row = {"figure": goal.label, "key": goal.key, "bench": goal.bench, "goal": goal.shown,
           "value": None, "measured": "—", "met": "—", "note": ""}
    if result is None:
        row["note"] = "bench not selected"
    elif "error" in result:
        row["note"] = f"bench failed ({result['error']}); see {goal.bench}.log"
    elif goal.key not in result.get("ratios", {}):
        row["note"] = goal.quick_note if quick and goal.quick_note else "not measured at these sizes"
    else:
        value = result["ratios"][goal.key]
        row.update(value=value, measured=goal.fmt.format(value), met="yes" if goal.met(value) else "no")
        if quick and goal.quick_note:
            row.update(met=f"({row['met']})", note=f"not judged at quick sizes — {goal.quick_note}")
    return row


def markdown_table(header: list[str], rows: list[list[str]], align: str) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(":--" if a == "l" else "--:" for a in align) + "|"]
    return "\n".join(lines + ["| " + " | ".join(str(c) for c in row) + " |" for row in rows])


def busy_note(machine: dict[str, Any], load: dict[str, Any], results: dict[str, dict[str, Any]]) -> str:
    """A warning when other work shared the cores: timings then carry its noise."""
    seen = [la[0] for la in [load["before"], load["after"]] + [r[k] for r in results.values()
                                                               for k in ("load_before", "load_after")] if la]
    cores = machine.get("cpu_count") or 1
    if not seen or max(seen) <= cores:
        return ""
    return (f" **The machine was busy** (1-min load up to {max(seen):.1f} on {cores} cores): absolute times are "
            "pessimistic and the ratios carry the noise of whatever shared the cores.")


def summary_markdown(machine: dict[str, Any], load: dict[str, Any], rows: list[dict[str, Any]],
                     results: dict[str, dict[str, Any]], quick: bool, argv: list[str], started: str) -> str:
    fmt_load = lambda la: "n/a" if la is None else " / ".join(f"{x:.2f}" for x in la)  # noqa: E731
    parts = [
        f"#### {'Quick run' if quick else 'Recorded run'}, {started}: `{' '.join(['python bench/run_all.py', *argv])}`",
        "", markdown(machine),
        f"Load average (1 / 5 / 15 min) before: {fmt_load(load['before'])}; after: {fmt_load(load['after'])}."
        + busy_note(machine, load, results), "",
        markdown_table(["figure", "measured", "goal", "met?", "note"],
                       [[r["figure"], r["measured"], r["goal"], r["met"], r["note"]] for r in rows], "lrlll"),
    ]
    info = [[label, fmt.format(results[bench]["ratios"][key])] for key, bench, label, fmt in INFO
            if key in results.get(bench, {}).get("ratios", {})]
    if info:
        parts += ["", markdown_table(["also measured", "value"], info, "lr")]
    index_rows = results.get("index_scale", {}).get("measurements", {}).get("rows", [])
    if index_rows:
        parts += ["", markdown_table(
            ["n", "index", "build s", "peak RSS MB", "index MB", "q/s", "recall@10 vs flat", "top-1"],
            [[f"{r['n']:,}", r["index"], f"{r['build_s']:.1f}", f"{r['peak_rss_mb']:,.0f}", f"{r['index_mb']:.1f}",
              f"{r['qps']:,.0f}", f"{r['recall_at_10']:.3f}", f"{r['top1']:.3f}"] for r in index_rows], "rlrrrrrr")]
    parts += ["", markdown_table(
        ["bench", "command", "wall s", "load before → after (1 min)", "status"],
        [[name, f"`{r['command']}`", f"{r['wall_s']:.0f}",
          f"{(r['load_before'] or [0])[0]:.2f} → {(r['load_after'] or [0])[0]:.2f}", r.get("error", "ok")]
         for name, r in results.items()], "llrll")]
    return "\n".join(parts) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     epilog=f"benches, in order: {', '.join(BENCHES)}")
    parser.add_argument("--quick", action="store_true", help="small sizes (minutes); cannot judge every goal")
    parser.add_argument("--only", nargs="+", choices=list(BENCHES), metavar="NAME", help="run only these benches")
    parser.add_argument("--skip", nargs="+", choices=list(BENCHES), default=[], metavar="NAME",
                        help="run all but these benches")
    parser.add_argument("--out", type=Path, help="folder for summary.md/.json and the logs "
                        "(default: results/bench/<time>[-quick]/; must not hold a summary yet)")
    args = parser.parse_args(argv)
    selected = [n for n in BENCHES if (not args.only or n in args.only) and n not in args.skip]
    if not selected:
        parser.error("--only/--skip leave no bench to run; choose from " + ", ".join(BENCHES))
    started = datetime.now().strftime("%Y-%m-%d %H:%M")
    out = args.out or REPO / "results" / "bench" / (datetime.now().strftime("%Y%m%d-%H%M%S")
                                                    + ("-quick" if args.quick else ""))
    if (out / "summary.md").exists():
        parser.error(f"{out / 'summary.md'} exists: pass another --out (a recorded summary is never overwritten)")
    out.mkdir(parents=True, exist_ok=True)

    machine = describe()
    load = {"before": load_average(), "after": None}
    print(markdown(machine), flush=True)
    print(f"benches: {', '.join(selected)}{' (quick sizes)' if args.quick else ''}; output {out}", flush=True)
    results: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-run-all-") as scratch:
        for name in selected:
            results[name] = run_bench(name, BENCHES[name], args.quick, out, Path(scratch))
    load["after"] = load_average()

    rows = [goal_row(g, results, args.quick) for g in GOALS if g.bench in selected]
    text = summary_markdown(machine, load, rows, results, args.quick, list(argv if argv is not None else
                                                                           sys.argv[1:]), started)
    from harness.cache import write_json_atomic

    write_json_atomic(out / "summary.json", {"started": started, "quick": args.quick, "machine": machine,
                                             "load_average": load, "goals": rows, "benches": results})
    tmp = out / ".summary.md.tmp"
    tmp.write_text(text)
    tmp.replace(out / "summary.md")
    print("\n" + text)
    print(f"written: {out / 'summary.md'} and summary.json (paste summary.md into docs/benchmarks.md)")
    return 1 if any("error" in r for r in results.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
