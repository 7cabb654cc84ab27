"""Sweeps on existing engines: a three-way retriever sweep through submitit's local launcher
(the SLURM launcher's local mode: every job a separate process submitted through submitit) and
through Hydra's Ray launcher (a local Ray instance with 2 CPUs), each merged into one leaderboard."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from tests.conftest import harness, run_folders

SWEEP = ["run", "-m", "+exp=agri", "retriever=dense,bm25,hybrid", "suite.n_docs=1",
         "conditions=[{adaptation:base,rag:true}]", "history_db="]


def _sweep(results: Path, launcher: list[str], cache: Path, env: dict[str, str] | None = None) -> tuple[str, Path]:
    """Run the three-way sweep through ``launcher``; its output and the multirun folder."""
    proc = harness(*SWEEP, f"results_dir={results}", *launcher, cache=cache, env=env, timeout=1500)
    assert proc.returncode == 0, proc.stderr[-4000:]
    runs = run_folders(results / "agri")
    assert len(runs) == 3
    return proc.stderr + proc.stdout, next((results / ".hydra").glob("multirun-*"))


def _assert_merged(multirun: Path, out: Path, cache: Path, env: dict[str, str] | None = None) -> None:
    merged = harness("merge", multirun, "--out", out, cache=cache, env=env, timeout=600)
    assert merged.returncode == 0, merged.stderr[-3000:]
    board = pd.read_csv(out / "leaderboard.csv")
    assert len(board) == 3
    assert sorted(board["condition"]) == ["retriever=bm25 · base+bm25", "retriever=dense · base+dense",
                                          "retriever=hybrid · base+hybrid"]


def test_three_way_sweep_through_submitit_local_and_merge(tmp_path, session_cache, smollm2):
    output, multirun = _sweep(tmp_path / "results", ["hydra/launcher=submitit_local",
                                                     "hydra.launcher.timeout_min=30"], session_cache)
    assert "Submitit 'local' sweep output dir" in output
    assert list(multirun.rglob("*submitit*")) or list(multirun.rglob("*.pkl")), "jobs did not go through submitit"
    _assert_merged(multirun, tmp_path / "merged", session_cache)


def test_three_way_sweep_through_ray_and_merge(tmp_path, session_cache, smollm2):
    # RAY_AUTH_MODE=disabled: a throwaway local instance needs no token in ~/.ray
    env = {"RAY_AUTH_MODE": "disabled"}
    output, multirun = _sweep(tmp_path / "results", ["hydra/launcher=ray", "+hydra.launcher.ray.init.num_cpus=2",
                                                     "+hydra.launcher.ray.init.include_dashboard=false"],
                              session_cache, env)
    assert "Ray Launcher is launching 3 jobs" in output
    # Ray prefixes what its worker processes print with the remote function and the worker's pid
    assert "(_run_job pid=" in output and "run folder: " in output, "jobs did not run in Ray workers"
    _assert_merged(multirun, tmp_path / "merged", session_cache, env)
