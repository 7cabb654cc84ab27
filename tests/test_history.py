"""Results history: SQLite rows per run, the `history` verb, concurrent writers."""

from __future__ import annotations

import io
import logging
import shutil
import sqlite3
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from harness.errors import HarnessError
from harness.report import history, leaderboard, run_report
from tests.conftest import REPO

FIXTURE = Path(__file__).parent / "fixtures" / "agri-run"


def make_run(tmp_path: Path, name: str, *, extras: bool = False) -> Path:
    run = Path(shutil.copytree(FIXTURE, tmp_path / "results" / "agri" / name))
    if extras:
        run_report.report_run(run, similarity=False)
    else:
        leaderboard.rebuild(run)
    return run


def cli(*args: str) -> tuple[int, str]:
    out = io.StringIO()
    return history.main(list(args), out=out), out.getvalue()


def count(db: Path, sql: str = "SELECT COUNT(*) FROM results") -> int:
    with sqlite3.connect(db) as conn:
        return conn.execute(sql).fetchone()[0]


def test_rows_of_a_run(tmp_path: Path):
    run = make_run(tmp_path, "20261101-120000-aaaa", extras=True)
    rows = history.run_rows(run)
    primary = [r for r in rows if r.kind == "primary"]
    assert {(r.condition, r.task, r.metric) for r in primary} == {
        (c, t, m) for c in ("base", "base+dense", "ft", "ft+dense") for t, m in (("agri_mc", "acc"), ("agri_qa", "contains"))}
    ft_qa = next(r for r in primary if r.condition == "ft" and r.task == "agri_qa")
    assert ft_qa.value == pytest.approx(0.8) and ft_qa.ci_low < 0.8 < ft_qa.ci_high and ft_qa.n == 20
    assert (ft_qa.run_id, ft_qa.time, ft_qa.exp, ft_qa.suite, ft_qa.model) == (
        "20261101-120000-aaaa", "2026-11-01T12:00:00", "agri", "agri", "smollm2-135m-instruct")
    assert ft_qa.git_sha.startswith("aa82603") and len(ft_qa.spec_hash) == 64
    kinds = {r.kind for r in rows}
    assert kinds == {"primary", "mean", "extra", "cost"}
    assert any(r.metric == "rouge_l" and r.condition == "ft+dense" for r in rows)
    assert any(r.task == "cost" and r.metric == "finetune_s" and r.value == pytest.approx(865.13) for r in rows)


def test_import_query_trend_and_plot(tmp_path: Path):
    db = tmp_path / "h.sqlite"
    older = make_run(tmp_path, "20261101-120000-aaaa", extras=True)
    newer = make_run(tmp_path, "20261102-120000-bbbb")
    code, out = cli("--db", str(db), "--import", str(newer), str(older))
    assert code == 0 and out.count("imported") == 2
    n = count(db)
    assert cli("--db", str(db), "--import", str(older))[0] == 0
    assert count(db) == n  # importing a run again replaces its rows

    code, out = cli("--db", str(db), "--exp", "agri")
    assert code == 0 and out.startswith("mean over 2 run(s)")
    lines = [line for line in out.splitlines() if line.startswith("| 2026")]
    assert [line.split(" | ")[1] for line in lines] == ["20261101-120000-aaaa", "20261102-120000-bbbb"]  # oldest first
    assert "0.850 [" in lines[0] and "| base | base+dense | ft | ft+dense |" in out

    plot = tmp_path / "plots" / "trend.svg"
    code, out = cli("--db", str(db), "--metric", "agri_qa/contains", "--condition", "ft", "--condition", "ft+dense",
                    "--plot", str(plot))
    assert code == 0 and "| ft | ft+dense |" in out and "base+dense" not in out
    svg = ET.parse(plot).getroot()  # well-formed XML
    assert svg.tag.endswith("svg") and len([e for e in svg.iter() if e.tag.endswith("circle")]) == 4

    code, out = cli("--db", str(db), "--metric", "rouge_l", "--last", "1")
    assert code == 0 and "over 1 run(s)" in out and "20261101-120000-aaaa" in out  # only the run with extras
    code, out = cli("--db", str(db), "--metric", "contains")  # bare metric name: every task that has it
    assert "ft · agri_qa" not in out and "| ft |" in out  # one task only: plain condition names
    with pytest.raises(HarnessError, match="no rows for metric 'nope'"):
        cli("--db", str(db), "--metric", "nope")
    with pytest.raises(HarnessError, match="only .svg"):
        cli("--db", str(db), "--plot", str(tmp_path / "x.png"))
    with pytest.raises(HarnessError, match="no history database yet"):
        cli("--db", str(tmp_path / "none.sqlite"))


def test_concurrent_writers_never_corrupt_the_database(tmp_path: Path):
    db = tmp_path / "h.sqlite"
    runs = [make_run(tmp_path, f"20261101-12000{i}-r{i}") for i in range(4)]
    procs = [subprocess.Popen([sys.executable, "-m", "harness", "history", "--db", str(db), "--import", str(run)],
                              cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for run in runs]
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
    assert count(db, "SELECT COUNT(DISTINCT run_id) FROM results") == 4
    assert count(db) == 4 * len(history.run_rows(runs[0]))
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_record_run_is_off_when_empty_and_never_fails_a_run(tmp_path: Path, caplog):
    run = make_run(tmp_path, "20261101-120000-aaaa")
    history.record_run(run, None)
    history.record_run(run, "")
    assert not list(tmp_path.rglob("*.sqlite"))
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with caplog.at_level(logging.WARNING):
        history.record_run(run, blocker / "h.sqlite")  # its parent is a file: cannot be created
    assert "could not append" in caplog.text and "history --import" in caplog.text
    history.record_run(run, tmp_path / "ok" / "h.sqlite")
    assert count(tmp_path / "ok" / "h.sqlite") > 0


def test_config_default_follows_results_dir():
    from hydra import compose, initialize_config_dir

    with initialize_config_dir(version_base="1.3", config_dir=str(REPO / "conf")):
        cfg = compose(config_name="config", overrides=["results_dir=/tmp/elsewhere"])
        assert cfg.history_db == "/tmp/elsewhere/history.sqlite"
        cfg = compose(config_name="config")
        assert cfg.history_db == "results/history.sqlite"


def _edit_manifest(run: Path, **changes: object) -> None:
    import json

    manifest = json.loads((run / "manifest.json").read_text())
    for key, value in changes.items():
        if key == "n_docs":
            manifest["spec"]["suite"]["n_docs"] = value
        elif key == "suite":
            manifest["spec"]["suite"]["name"] = value
        else:
            manifest[key] = value
    (run / "manifest.json").write_text(json.dumps(manifest))


def test_a_copied_run_keeps_its_start_time(tmp_path: Path):
    """A baseline copied to results/baselines/agri has no time in its name and a fresh mtime; its
    manifest's started_at orders it (issue #22)."""
    run = make_run(tmp_path, "20261101-120000-aaaa")
    copy = Path(shutil.copytree(run, tmp_path / "baselines" / "agri"))
    assert history.run_time(copy) != "2026-11-01T12:00:00"  # the copy time, without the manifest's record
    _edit_manifest(copy, started_at="2026-11-01T12:00:00")
    assert history.run_time(copy) == "2026-11-01T12:00:00"


def test_a_trend_never_mixes_suites_or_subsets(tmp_path: Path):
    db = tmp_path / "h.sqlite"
    whole = make_run(tmp_path, "20261101-120000-aaaa")
    _edit_manifest(whole, n_docs=None)
    part = make_run(tmp_path, "20261102-120000-bbbb")  # the fixture's 5 documents
    other = make_run(tmp_path, "20261103-120000-cccc")
    _edit_manifest(other, suite="finance", n_docs=None)
    cli("--db", str(db), "--import", str(whole), str(part), str(other))
    assert {r["subset"] for r in history.query(db, exp="agri")} == {"", "n_docs=5"}
    with pytest.raises(HarnessError, match=r"different question sets: agri \(whole suite\), agri \(n_docs=5\), "
                                           r"finance \(whole suite\)"):
        cli("--db", str(db), "--exp", "agri")
    code, out = cli("--db", str(db), "--suite", "finance")
    assert code == 0 and "over 1 run(s)" in out


def test_an_older_database_gains_the_subset_column(tmp_path: Path):
    db = tmp_path / "old.sqlite"
    with sqlite3.connect(db) as conn:  # the schema before subsets were recorded
        conn.execute(history.SCHEMA.split(";")[0].replace(" subset TEXT,", ""))
    cli("--db", str(db), "--import", str(make_run(tmp_path, "20261101-120000-aaaa")))
    assert count(db, "SELECT COUNT(*) FROM results WHERE subset = 'n_docs=5'") > 0
