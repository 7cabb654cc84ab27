"""`run +exp=all`: every listed suite's grid through the real stack, then one leaderboard.

Two suites (agri, knowledge) on one document each, two eval rows per task, base closed book and
dense RAG, with the general suite as every suite's forgetting check: one real lm-eval pass per
suite. A second run over agri and finance hits agri's
caches and fails on finance (one document leaves its classification task empty): the failure
names the suite and leaves no combined folder.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pandas as pd
import pytest

from harness import multi_suite
from harness.errors import HarnessError
from harness.report import compare
from tests.conftest import harness, run_folders

TINY = ["suite.n_docs=1", "eval.limit=2", "conditions=[{adaptation:base,rag:false},{adaptation:base,rag:true}]",
        "forgetting_suite=general"]
TASKS = {"agri": ["agri_mc/acc", "agri_qa/correct"], "knowledge": ["knowledge_gen/correct", "knowledge_mem/correct"]}


@pytest.fixture(scope="module")
def all_run(tmp_path_factory, session_cache, smollm2) -> tuple[Path, Path, subprocess.CompletedProcess]:
    results = tmp_path_factory.mktemp("results")
    proc = harness("run", "+exp=all", "suites=[agri,knowledge]", *TINY, f"results_dir={results}", cache=session_cache,
                   timeout=1200)
    assert proc.returncode == 0, proc.stderr[-4000:]
    (combined,) = run_folders(results / "all")
    return results, combined, proc


def test_one_leaderboard_across_suites(all_run):
    results, combined, proc = all_run
    assert re.fullmatch(r"\d{8}-\d{6}-[0-9a-f]{10}", combined.name)
    assert not [p for p in (results / "all").iterdir() if p.name.startswith(".")]  # no temporary left
    board = pd.read_csv(combined / "leaderboard.csv", index_col="condition")
    assert list(board.index) == ["base", "base+dense"]  # rows = conditions
    every_task = [col for cols in TASKS.values() for col in cols]
    for col in every_task + ["mean", "delta_vs_base", "suite_mean:agri", "suite_mean:knowledge",
                             "suite_mean:agri_delta", "agri_qa/correct_delta"]:
        assert col in board.columns, col
    assert board[every_task + ["mean"]].apply(lambda c: c.between(0, 1)).all().all()
    assert board.loc["base+dense", "mean"] == pytest.approx(board.loc["base+dense", every_task].mean())
    # every number equals the one in that suite's own run folder (same conditions, same seeds)
    for suite, cols in TASKS.items():
        (own_dir,) = run_folders(results / suite)
        own = pd.read_csv(own_dir / "leaderboard.csv", index_col="condition")
        for cond in board.index:
            for col in cols + [f"{cols[0]}_ci_low"]:
                assert board.loc[cond, col] == pytest.approx(own.loc[cond, col], abs=1e-6)
            for mine, theirs in (("", ""), ("_ci_high", "_ci_high"), ("_delta", "delta_vs_base")):
                source = "mean" + theirs if not mine.startswith("_delta") else theirs
                assert board.loc[cond, f"suite_mean:{suite}{mine}"] == pytest.approx(own.loc[cond, source], abs=1e-6)
        # links and paths to the per-suite run folders
        assert (combined / "runs" / suite).resolve() == own_dir.resolve()
        assert (combined / "samples" / "base+dense" / f"{cols[0].split('/')[0]}.jsonl").is_file()
    manifest = json.loads((combined / "manifest.json").read_text())
    assert manifest["spec"]["suites"] == ["agri", "knowledge"]
    assert set(manifest["hashes"]["suite"]) == {"agri", "knowledge"}
    assert all(Path(r["run"]).is_dir() for r in manifest["hashes"]["suite_runs"].values())
    assert manifest["spec"]["per_suite"]["knowledge"]["retriever"]["top_k"] == 2  # its own exp settings
    md = (combined / "leaderboard.md").read_text()
    assert "**Suite means" in md and "knowledge/mean" in md and "**Runs**" in md and "knowledge_gen__dense" in md
    # the forgetting check, one column set per suite, closed-book rows only
    for suite in TASKS:
        assert board.loc["base", f"forgetting:{suite}:general_qa:correct"] >= 0
        assert pd.isna(board.loc["base+dense", f"forgetting:{suite}:general_qa:correct"])
    assert "knowledge · general_mc/acc" in md and "**Forgetting" in md
    # printed: each suite's own leaderboard, then the combined one and where everything is
    out = proc.stdout
    assert out.index("== agri leaderboard") < out.index("== knowledge leaderboard") < out.index("== all suites")
    assert f"combined run folder: {combined}" in out


def test_combined_folder_is_a_compare_target(all_run, capsys):
    _, combined, _ = all_run
    data = compare.load(combined)
    assert set(data.primary) == {c.split("/")[0] for cols in TASKS.values() for c in cols}
    assert compare.gate(combined, combined) == 0
    assert "PASS" in capsys.readouterr().out


def test_report_rebuilds_the_combined_leaderboard(all_run, session_cache):
    _, combined, _ = all_run
    expected = (combined / "leaderboard.md").read_text()
    (combined / "leaderboard.md").unlink()
    proc = harness("report", combined, cache=session_cache, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert (combined / "leaderboard.md").read_text() == expected
    assert proc.stdout.startswith("**Decision per suite") and "**Suite means" in proc.stdout


def test_a_failing_suite_leaves_no_combined_folder(all_run, session_cache):
    results, _, _ = all_run
    before = run_folders(results / "agri")
    proc = harness("run", "+exp=all", "suites=[agri,finance]", *TINY, f"results_dir={results}", cache=session_cache,
                   timeout=1200)
    assert proc.returncode == 2
    message = proc.stderr.strip().splitlines()[-1]
    assert message.startswith("error: +exp=all: suite 'finance' failed:") and "raise n_docs" in message
    assert "completed before it: agri" in message and "no combined leaderboard was written" in message
    assert len(run_folders(results / "agri")) == len(before) + 1  # agri ran (from its caches)
    assert len(run_folders(results / "all")) == 1 and not [p for p in (results / "all").iterdir()
                                                       if p.name.startswith(".")]


def test_unknown_suite_is_one_clear_error(tmp_path):
    proc = harness("run", "+exp=all", "suites=[agri,agronomy]", f"results_dir={tmp_path}", cache=tmp_path / "cache",
                   timeout=120)
    assert proc.returncode == 2
    line = proc.stderr.strip().splitlines()[-1]
    assert line.startswith("error: suites: unknown suite(s) agronomy; known suites: agri, ")
    assert all(name in line for name in ("finance", "general", "knowledge", "medical"))
    assert not (tmp_path / "agri").exists() and not (tmp_path / "all").exists()


def test_suite_list_and_overrides():
    assert multi_suite.suite_overrides(["+exp=all", "suites=[agri]", "suite.n_docs=2", "exp_name=x",
                                        "retriever.top_k=3", "++eval.limit=4"]) == \
        ["suite.n_docs=2", "retriever.top_k=3", "++eval.limit=4"]
    known = multi_suite.known_suites()
    assert {"agri", "finance", "medical", "knowledge", "general"} <= set(known) and "all" not in known
    with pytest.raises(HarnessError, match="listed twice"):
        multi_suite.suite_names({"suites": ["agri", "agri"]})
    with pytest.raises(HarnessError, match="non-empty list"):
        multi_suite.suite_names({"suites": "agri"})
    configs = multi_suite.compose_suites(["agri", "finance"], ["suite.n_docs=2"])
    assert {n: (c["exp_name"], c["suite"]["n_docs"], c["retriever"]["top_k"]) for n, c in configs.items()} == \
        {"agri": ("agri", 2, 1), "finance": ("finance", 2, 1)}
    with pytest.raises(HarnessError, match="suite 'agri'.*does not compose"):
        multi_suite.compose_suites(["agri"], ["retriever.nope=1"])
