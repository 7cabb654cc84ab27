"""Sweeps on existing engines: a three-way retriever sweep through submitit's local launcher
(the SLURM launcher's local mode: every job a separate process submitted through submitit),
merged into one leaderboard."""

from __future__ import annotations

import os
import subprocess
import sys

import pandas as pd

from tests.conftest import REPO


def test_three_way_sweep_through_submitit_local_and_merge(tmp_path, session_cache, smollm2):
    env = dict(os.environ, HARNESS_CACHE=str(session_cache))
    results = tmp_path / "results"
    sweep = [sys.executable, "-m", "harness", "run", "-m", "+exp=agri", "retriever=dense,bm25,hybrid",
             "suite.n_docs=1", "conditions=[{adaptation:base,rag:true}]", f"results_dir={results}",
             "hydra/launcher=submitit_local", "hydra.launcher.timeout_min=30", "history_db="]
    proc = subprocess.run(sweep, cwd=REPO, env=env, capture_output=True, text=True, timeout=1500)
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert "Submitit 'local' sweep output dir" in proc.stderr + proc.stdout
    runs = sorted(p for p in (results / "agri").iterdir() if not p.name.startswith("."))
    assert len(runs) == 3
    multirun = next((results / ".hydra").glob("multirun-*"))
    assert list(multirun.rglob("*submitit*")) or list(multirun.rglob("*.pkl")), "jobs did not go through submitit"

    out = tmp_path / "merged"
    merged = subprocess.run([sys.executable, "-m", "harness", "merge", str(multirun), "--out", str(out)],
                            cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert merged.returncode == 0, merged.stderr[-3000:]
    board = pd.read_csv(out / "leaderboard.csv")
    assert len(board) == 3
    assert sorted(board["condition"]) == ["retriever=bm25 · base+bm25", "retriever=dense · base+dense",
                                          "retriever=hybrid · base+hybrid"]
