"""End to end through the real stack: Hydra CLI → suite → FAISS → LoRA (peft/trl) → lm-eval (hf).

A reduced grid (a few documents of the agri suite) keeps it to a few minutes on 2 cores.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import REPO, harness, only_run, run_folders

SMALL = ["+exp=agri", "suite.n_docs=5", "finetune.epochs=8", "finetune.lr=2e-3"]


@pytest.fixture(scope="module")
def small_run(tmp_path_factory, session_cache, smollm2) -> tuple[Path, subprocess.CompletedProcess]:
    results = tmp_path_factory.mktemp("results")
    proc = harness("run", *SMALL, f"results_dir={results}", cache=session_cache)
    assert proc.returncode == 0, proc.stderr[-4000:]
    return only_run(results), proc


def test_leaderboard_shape_and_sanity(small_run):
    run_dir, proc = small_run
    assert re.fullmatch(r"\d{8}-\d{6}-[0-9a-f]{10}", run_dir.name)
    board = pd.read_csv(run_dir / "leaderboard.csv", index_col="condition")
    assert list(board.index) == ["base", "base+dense", "ft", "ft+dense"]
    for col in ("agri_qa/correct", "agri_mc/acc", "mean", "delta_vs_base"):
        assert col in board.columns
    assert board[["agri_qa/correct", "agri_mc/acc", "mean"]].apply(lambda c: c.between(0, 1)).all().all()
    assert board.loc["base", "delta_vs_base"] == 0
    # fictional location-specific facts: neither the base model nor chance knows them ...
    assert board.loc["base", "agri_qa/correct"] <= 0.2
    # ... fine-tuning on the suite's training Q&A and retrieving the suite's documents both help
    assert board.loc["ft", "agri_qa/correct"] > board.loc["base", "agri_qa/correct"] + 0.2
    assert board.loc["base+dense", "agri_qa/correct"] > board.loc["base", "agri_qa/correct"] + 0.2
    # the printed summary is the leaderboard
    assert "base+dense" in proc.stdout and "Δ mean vs base" in proc.stdout


def test_run_folder_contents(small_run):
    run_dir, _ = small_run
    for name in ("config.yaml", "manifest.json", "metrics.json", "leaderboard.md", "leaderboard.csv"):
        assert (run_dir / name).is_file(), name
    metrics = json.loads((run_dir / "metrics.json").read_text())
    retrieval = metrics["retrieval_metrics"]["agri_qa__dense"]
    assert retrieval["recall@1"] >= 0.9 and retrieval["answer_in_context"] >= 0.9
    assert "Retrieval" in (run_dir / "leaderboard.md").read_text()
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["versions"]["lm-eval"] and manifest["versions"]["torch"]
    assert len(manifest["hashes"]["base_model_sha256"]) == 64
    assert len(manifest["hashes"]["adapter_sha256"]) == 64
    assert manifest["seeds"]["run"] == 1234
    assert manifest["hardware"]["cpu_count"] >= 1 and manifest["hardware"]["cpu_model"]
    assert manifest["started_at"] < manifest["finished_at"]  # local ISO times: the history orders runs by them
    assert set(manifest["timings_s"]) >= {"suite", "model", "retrieval", "finetune", "evaluate:base"}
    records = [json.loads(line) for line in
               (run_dir / "samples" / "ft+dense" / "agri_qa.jsonl").read_text().splitlines()]
    assert records and all(r["context"] and r["prompt"] and "contains" in r["scores"] for r in records)
    assert all(r["context_ids"] for r in records)
    closed = [json.loads(line) for line in
              (run_dir / "samples" / "base" / "agri_qa.jsonl").read_text().splitlines()]
    assert len(closed) == len(records) and all(r["context"] == "" for r in closed)
    latency = metrics["latency"]  # model seconds per question, measured per condition
    assert set(latency) == {"base", "base+dense", "ft", "ft+dense"}
    assert all(v["seconds_per_sample"] > 0 and v["source"] in ("measured", "estimated", "cached") for v in latency.values())
    cost = metrics["extra"]["cost"]
    assert cost["base+dense"]["seconds_per_sample"] == latency["base+dense"]["seconds_per_sample"]
    assert "s per sample" in (run_dir / "leaderboard.md").read_text()
    memory = metrics["retrieval"]["agri_qa__dense"]  # the retriever's serving footprint, priced by the Decision
    assert memory["memory_bytes"] == memory["index_bytes"] + memory["passage_bytes"] > 0
    stored = json.loads((run_dir / "decision.json").read_text())["costs"]
    assert stored["base+dense"]["index_memory_bytes"] == memory["memory_bytes"] and stored["base"]["index_memory_bytes"] == 0


def test_base_and_adapter_never_share_answers(small_run, session_cache):
    run_dir, _ = small_run
    base = [json.loads(line) for line in (run_dir / "samples/base/agri_qa.jsonl").read_text().splitlines()]
    ft = [json.loads(line) for line in (run_dir / "samples/ft/agri_qa.jsonl").read_text().splitlines()]
    assert [r["prompt"] for r in base] == [r["prompt"] for r in ft]  # same requests ...
    differing = sum(b["output"] != f["output"] for b, f in zip(base, ft))
    assert differing >= len(base) // 2  # ... different answers: not served from one cache
    dbs = list((session_cache / "generations").glob("*/responses_rank0.db"))
    assert len(dbs) >= 2


def test_unchanged_rerun_is_cached_and_identical(small_run, session_cache, tmp_path):
    run_dir, first = small_run
    proc = harness("run", *SMALL, f"results_dir={tmp_path}", cache=session_cache)
    assert proc.returncode == 0, proc.stderr[-4000:]
    again = only_run(tmp_path)
    assert (again / "leaderboard.csv").read_text() == (run_dir / "leaderboard.csv").read_text()
    # latency is the first run's measurement, not the ~0 s of answering from the cache
    first_latency = json.loads((run_dir / "metrics.json").read_text())["latency"]
    again_latency = json.loads((again / "metrics.json").read_text())["latency"]
    assert {c: v["seconds_per_sample"] for c, v in again_latency.items()} == \
        {c: v["seconds_per_sample"] for c, v in first_latency.items()}
    assert {v["source"] for v in again_latency.values()} == {"cached"}
    log = proc.stdout + proc.stderr
    assert "adapter cache hit" in log
    assert not re.search(r"Requests remaining: [1-9]", log), "a cached rerun generated again"


def _cached_rows(cache: Path) -> int:
    total = 0
    for db in (cache / "generations").glob("*/responses_rank0.db"):
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5) as conn:
            try:
                total += conn.execute("select count(*) from unnamed").fetchone()[0]
            except sqlite3.OperationalError:
                pass
    return total


def test_killed_run_resumes_without_recomputing(tmp_path, session_cache, smollm2):
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "models").symlink_to(session_cache / "models")  # reuse the converted model only
    results = tmp_path / "results"
    args = ["+exp=agri", "suite.n_docs=6", "conditions=[{adaptation:base,rag:false}]",
            "eval.batch_size=1", f"results_dir={results}"]
    env = dict(os.environ, HARNESS_CACHE=str(cache))
    proc = subprocess.Popen([sys.executable, "-m", "harness", "run", *args], cwd=REPO, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 300
    try:
        while _cached_rows(cache) < 6 and proc.poll() is None and time.time() < deadline:
            time.sleep(0.5)
    finally:
        proc.kill()
        proc.wait()
    done_before = _cached_rows(cache)
    assert done_before >= 6, "the run ended before it could be killed mid-evaluation"
    # a killed run leaves no folder that looks complete
    assert not [p for p in (results / "agri").iterdir() if not p.name.startswith(".")]

    resumed = harness("run", *args, cache=cache)
    assert resumed.returncode == 0, resumed.stderr[-4000:]
    cached = sum(int(n) for n in re.findall(r"Cached requests: (\d+)", resumed.stdout + resumed.stderr))
    assert cached >= done_before
    assert _cached_rows(cache) >= done_before
    assert (only_run(results) / "leaderboard.csv").is_file()


def test_report_rebuilds_the_leaderboard(small_run, tmp_path):
    run_dir, _ = small_run
    copy = tmp_path / run_dir.name
    import shutil

    shutil.copytree(run_dir, copy)
    expected = (copy / "leaderboard.md").read_text()
    (copy / "leaderboard.md").unlink()
    proc = harness("report", str(copy), cache=Path(os.environ["HARNESS_CACHE"]))
    assert proc.returncode == 0, proc.stderr
    assert (copy / "leaderboard.md").read_text() == expected


def test_multirun_sweeps_retrievers(tmp_path, session_cache, smollm2):
    proc = harness("run", "-m", "+exp=agri", "retriever=dense,bm25", "suite.n_docs=1",
                   "conditions=[{adaptation:base,rag:true}]", f"results_dir={tmp_path}", cache=session_cache)
    assert proc.returncode == 0, proc.stderr[-4000:]
    runs = run_folders(tmp_path / "agri")
    assert len(runs) == 2
    conditions = sorted(pd.read_csv(r / "leaderboard.csv")["condition"].item() for r in runs)
    assert conditions == ["base+bm25", "base+dense"]


def test_parallel_sweep_shares_caches_safely(tmp_path, session_cache, smollm2):
    """Two jobs at once (Hydra's joblib launcher) write the same closed-book task entry and the
    same per-model response DB; both finish and agree on the condition they share."""
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "models").symlink_to(session_cache / "models")
    results = tmp_path / "results"
    proc = harness("run", "-m", "hydra/launcher=joblib", "hydra.launcher.n_jobs=2", "+exp=agri",
                   "retriever=dense,bm25", "suite.n_docs=2",
                   "conditions=[{adaptation:base,rag:false},{adaptation:base,rag:true}]",
                   f"results_dir={results}", cache=cache)
    assert proc.returncode == 0, proc.stderr[-4000:]
    runs = run_folders(results / "agri")
    assert len(runs) == 2
    boards = [pd.read_csv(r / "leaderboard.csv", index_col="condition") for r in runs]
    assert sorted(i for b in boards for i in b.index) == ["base", "base", "base+bm25", "base+dense"]
    assert boards[0].loc["base", "mean"] == boards[1].loc["base", "mean"]
    assert len(list((cache / "tasks").glob("*/variants.json"))) == 3  # closed, dense, bm25
