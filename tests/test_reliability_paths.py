"""Issue #20, items 2, 6 and 7: paths that lead out of where they should, run folders of the same
second, and the temporary folders killed runs leave (refused by every reader, swept by ``clean``)."""

from __future__ import annotations

import os
import shutil
import threading
import time
from datetime import datetime
from pathlib import Path

import pytest

from harness import completion, records
from harness.errors import HarnessError
from harness.records import COMPLETE_FILE, RunFolder
from harness.report import run_data
from harness.suites.ingest import ingest_folder
from tests.conftest import harness

FIXTURE = Path(__file__).parent / "fixtures" / "agri-run"
DIGEST = "0123456789abcdef"


def one_error(proc) -> str:
    """The refusal's one ``error:`` line (and no traceback), from a CLI call that failed."""
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert proc.returncode != 0 and len(errors) == 1, proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
    return errors[0]


# ---------------------------------------------------------------- item 2: paths out of their folder


def test_a_symlink_out_of_the_documents_folder_is_refused(tmp_path: Path) -> None:
    docs, outside = tmp_path / "docs", tmp_path / "private"
    docs.mkdir()
    outside.mkdir()
    (docs / "soil.md").write_text("# Soil\nLoam holds water.\n")
    (outside / "secret.txt").write_text("not part of the corpus\n")
    (docs / "notes.txt").symlink_to(outside / "secret.txt")
    with pytest.raises(HarnessError, match="notes.txt: a symbolic link to .*secret.txt, outside the documents folder"):
        ingest_folder(docs)
    (docs / "notes.txt").unlink()
    (docs / "more").symlink_to(outside, target_is_directory=True)  # a linked folder too
    with pytest.raises(HarnessError, match="more: a symbolic link to .*private, outside"):
        ingest_folder(docs)
    (docs / "more").unlink()
    (docs / "same.md").symlink_to(docs / "soil.md")  # a link that stays inside is read
    assert [r["id"] for r in ingest_folder(docs)] == ["same.md", "soil.md"]


def test_build_suite_names_the_link_and_its_target(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "soil.md").write_text("# Soil\nLoam holds water.\n")
    (tmp_path / "passwd.txt").write_text("root:x:0:0\n")
    (docs / "leak.txt").symlink_to(tmp_path / "passwd.txt")
    qa = tmp_path / "qa.jsonl"
    qa.write_text('{"question": "What holds water?", "answer": "loam", "gold_id": "soil.md"}\n')
    proc = harness("build-suite", docs, qa, "--out", tmp_path / "suite")
    line = one_error(proc)
    assert "leak.txt" in line and str(tmp_path / "passwd.txt") in line
    assert not (tmp_path / "suite").exists()


@pytest.mark.parametrize("name", ["../escaped", "<tmp>/absolute", "a/b", ".hidden"])
def test_an_exp_name_that_leaves_results_dir_is_refused(tmp_path: Path, name: str) -> None:
    """Before: the run went ahead and wrote ``<results_dir>/../escaped/<run>`` (or the absolute path)."""
    results = tmp_path / "out" / "results"
    name = name.replace("<tmp>", str(tmp_path))
    proc = harness("run", f"exp_name={name}", f"results_dir={results}", "eval.limit=2", timeout=120)
    line = one_error(proc)
    assert "exp_name" in line and "plain name" in line
    assert not (tmp_path / "out" / "escaped").exists() and not (tmp_path / "absolute").exists()
    assert not [p for p in tmp_path.rglob("*.tmp")] and not list(tmp_path.rglob("metrics.json"))  # no run folder


# ---------------------------------------------------------------- item 6: runs of the same second


@pytest.fixture
def frozen_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every run folder stamped with the same second."""

    class Frozen(datetime):
        @classmethod
        def now(cls, tz=None):  # noqa: ANN001, ANN206 - datetime's own signature
            return datetime(2024, 5, 1, 12, 0, 0)

    monkeypatch.setattr(records, "datetime", Frozen)


def test_three_runs_of_one_spec_in_one_second_get_three_folders(tmp_path: Path, frozen_clock: None) -> None:
    made: list[RunFolder] = []
    errors: list[BaseException] = []
    start = threading.Barrier(3)

    def create() -> None:
        start.wait()
        try:
            made.append(RunFolder.create(tmp_path / "agri", DIGEST))
        except BaseException as err:  # noqa: BLE001 - reported below
            errors.append(err)

    threads = [threading.Thread(target=create) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and len({f.path for f in made}) == 3 and len({f.final for f in made}) == 3
    finals = [f.publish() for f in made]
    assert all((p / COMPLETE_FILE).is_file() and not p.name.startswith(".") for p in finals)
    assert sorted(p.name for p in (tmp_path / "agri").iterdir()) == sorted(p.name for p in finals)


def racing_mkdir(monkeypatch: pytest.MonkeyPatch, other_process) -> list[Path]:
    """``Path.mkdir`` that lets ``other_process(tmp)`` act first on the first ``.<name>.tmp`` made."""
    real_mkdir = Path.mkdir
    raced: list[Path] = []

    def mkdir(self: Path, *args, **kwargs) -> None:  # noqa: ANN002, ANN003
        if self.name.endswith(".tmp") and not raced:
            raced.append(self)
            other_process(self, real_mkdir)
        return real_mkdir(self, *args, **kwargs)

    monkeypatch.setattr(Path, "mkdir", mkdir)
    return raced


def test_a_name_claimed_between_the_check_and_the_mkdir_is_skipped(tmp_path: Path, frozen_clock: None,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """The old create checked the names, then ``mkdir``-ed: another run's mkdir in between was a
    FileExistsError."""
    raced = racing_mkdir(monkeypatch, lambda tmp, mkdir: mkdir(tmp))  # the other run claims it
    run = RunFolder.create(tmp_path, DIGEST)
    assert raced and run.path != raced[0] and run.final.name == "20240501-120000-0123456789-1"


def test_a_name_published_between_the_check_and_the_mkdir_is_skipped(tmp_path: Path, frozen_clock: None,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """The other run renames its ``.<name>.tmp`` to ``<name>`` just after our check: its name is
    free as a temporary one again, but taking it would publish onto that run."""

    def publish(tmp: Path, mkdir) -> None:  # noqa: ANN001
        mkdir(tmp.with_name(tmp.name[1:-len(".tmp")]))

    raced = racing_mkdir(monkeypatch, publish)
    run = RunFolder.create(tmp_path, DIGEST)
    assert raced and run.final.name.endswith("-1") and not raced[0].exists()
    assert run.publish().is_dir() and len(list(tmp_path.iterdir())) == 2


def test_publish_never_overwrites_an_existing_run(tmp_path: Path) -> None:
    run = RunFolder.create(tmp_path, DIGEST)
    run.final.mkdir()
    (run.final / "metrics.json").write_text('{"earlier": true}')
    with pytest.raises(HarnessError, match="already exists"):
        run.publish()
    assert (run.final / "metrics.json").read_text() == '{"earlier": true}' and run.path.is_dir()


# ---------------------------------------------------------------- item 7: incomplete folders


def killed_run(parent: Path, name: str = "20240101-000000-0123456789") -> Path:
    """What a run killed while writing its folder leaves: a complete-looking ``.<name>.tmp``."""
    return Path(shutil.copytree(FIXTURE, parent / f".{name}.tmp"))


def test_compare_and_report_refuse_a_temporary_folder(tmp_path: Path) -> None:
    tmp = killed_run(tmp_path / "agri")
    with pytest.raises(HarnessError, match="temporary run folder"):
        run_data.load(tmp)
    with pytest.raises(HarnessError, match="temporary run folder"):
        run_data.load(tmp / "metrics.json")
    compare = harness("compare", FIXTURE, tmp)
    assert "temporary run folder" in one_error(compare) and "PASS" not in compare.stdout
    report = harness("report", tmp, "--no-similarity")
    assert "temporary run folder" in one_error(report) and not (tmp / "report.html").exists()


def test_finished_folders_are_complete_with_or_without_the_marker(tmp_path: Path) -> None:
    assert completion.incomplete_reason(FIXTURE) is None  # written before the marker existed
    run = RunFolder.create(tmp_path, DIGEST)
    assert completion.incomplete_reason(run.path) is not None
    final = run.publish()
    assert completion.incomplete_reason(final) is None and not (final / records.LOCK_FILE).exists()
    assert "completion marker" in str(completion.incomplete_reason(tmp_path / "empty-dir"))


def test_clean_removes_a_killed_runs_folder_and_keeps_the_others(tmp_path: Path) -> None:
    results = tmp_path / "results"
    old = killed_run(results / "agri")
    hours_ago = time.time() - 3 * 3600
    os.utime(old, (hours_ago, hours_ago))
    fresh = killed_run(results / "agri", "20240101-000001-0123456789")  # e.g. a run that just started
    os.utime(fresh)  # (copytree gave it the fixture's time)
    live = RunFolder.create(results / "finance", DIGEST)  # a running job, quiet for hours (fine-tuning)
    os.utime(live.path, (hours_ago, hours_ago))
    hydra_log = results / ".hydra" / ".x.tmp"  # not a run folder: never looked into
    hydra_log.mkdir(parents=True)
    os.utime(hydra_log, (hours_ago, hours_ago))
    finished = Path(shutil.copytree(FIXTURE, results / "agri" / "20240101-000002-0123456789"))

    dry = harness("clean", results, "--dry-run")
    assert dry.returncode == 0 and f"would remove {old}" in dry.stdout and old.is_dir()
    proc = harness("clean", results)
    assert proc.returncode == 0 and f"removed {old}" in proc.stdout, proc.stderr
    assert not old.exists() and fresh.is_dir() and live.path.is_dir() and hydra_log.is_dir() and finished.is_dir()
    assert str(fresh) not in proc.stdout and str(live.path) not in proc.stdout

    scratch = finished / ".judge.0badc0de.tmp"  # a judge's scratch is not a run folder
    scratch.mkdir()
    assert harness("clean", results / "agri", "--older-than", "0").returncode == 0  # one experiment's folder
    assert not fresh.exists() and scratch.is_dir() and finished.is_dir()
    assert harness("clean", results, "--older-than", "0").returncode == 0
    assert live.path.is_dir()  # the live one only goes once its process is gone
    assert live.publish().is_dir()


def test_clean_refuses_a_missing_folder(tmp_path: Path) -> None:
    assert "not a folder" in one_error(harness("clean", tmp_path / "nowhere"))
