"""Caches that heal (issue #20, item 4): a damaged entry is found on read, moved aside, rebuilt,
and the run says so in one line — for every cache kind built through cache.get_or_build (the
adapter's weights among them) and for lm-eval's response database."""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path

import pytest

from harness import cache
from harness.evaluate import response_db


@pytest.fixture(autouse=True)
def _cache_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("HARNESS_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def _entry(builds: list[int]) -> Path:
    def build(scratch: Path) -> None:
        builds.append(1)
        (scratch / "adapter_model.safetensors").write_bytes(b"w" * 4096)

    return cache.get_or_build("adapters", "k" * 64, build, lambda entry: entry)


@pytest.mark.parametrize("damage", ["truncate", "flip", "delete"])
def test_a_damaged_entry_is_quarantined_and_rebuilt(damage: str, caplog: pytest.LogCaptureFixture):
    builds: list[int] = []
    entry = _entry(builds)
    weights = entry / "adapter_model.safetensors"
    if damage == "truncate":
        weights.write_bytes(b"w" * 100)  # what a killed copy leaves
    elif damage == "flip":
        weights.write_bytes(b"x" + b"w" * 4095)  # same size, other bytes
    else:
        weights.unlink()
    with caplog.at_level(logging.WARNING, logger="harness.cache"):
        again = _entry(builds)
    assert builds == [1, 1] and (again / "adapter_model.safetensors").read_bytes() == b"w" * 4096
    assert list(entry.parent.glob(f"{entry.name}.corrupt-*")), "the damaged entry is kept aside"
    assert [r for r in caplog.records if "is damaged" in r.getMessage() and "rebuilt" in r.getMessage()]
    _entry(builds)
    assert builds == [1, 1]  # healed: the next read is a hit


def test_an_intact_or_old_style_entry_is_a_hit():
    builds: list[int] = []
    entry = _entry(builds)
    _entry(builds)
    (entry / cache.COMPLETE_MARKER).write_text("ok\n")  # marked before markers held an inventory
    _entry(builds)
    assert builds == [1]


def _db(path: Path, rows: int = 2000) -> None:
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE unnamed (key TEXT PRIMARY KEY, value BLOB)")
        db.executemany("INSERT INTO unnamed VALUES (?, ?)", [(f"k{i}", b"x" * 200) for i in range(rows)])


def test_a_truncated_response_database_is_moved_aside(tmp_path: Path, caplog: pytest.LogCaptureFixture):
    prefix = tmp_path / "generations" / "responses"
    prefix.parent.mkdir()
    good, bad = Path(f"{prefix}_rank0.db"), Path(f"{prefix}_rank1.db")
    _db(good)
    _db(bad)
    bad.write_bytes(bad.read_bytes()[: bad.stat().st_size // 2])
    with pytest.raises(sqlite3.DatabaseError):  # what every later run hit before
        with sqlite3.connect(bad) as db:
            db.execute("SELECT count(*) FROM unnamed").fetchone()
    with caplog.at_level(logging.WARNING, logger="harness.cache"):
        moved = response_db.heal(prefix)
    assert len(moved) == 1 and moved[0].name.startswith(bad.name + ".corrupt-")
    assert good.is_file() and not bad.exists()
    assert response_db.heal(prefix) == []  # nothing else to heal; the good database was left alone
    assert sum("is damaged" in r.getMessage() for r in caplog.records) == 1


def test_a_second_identical_pass_waits_for_the_first(tmp_path: Path):
    """Item 8: the pass lock of one (model fingerprint, task variants) serialises two runs, so
    the second reads the first's committed answers; other task variants do not wait."""
    import subprocess
    import sys
    import time

    prefix = tmp_path / "generations" / "responses"
    prefix.parent.mkdir()
    holder = ("import sys, time; from pathlib import Path; from harness.evaluate import response_db\n"
              "with response_db.answering(Path(sys.argv[1]), ['agri_qa', 'agri_mc']):\n"
              "    print('held', flush=True); time.sleep(2.0)\n")
    first = subprocess.Popen([sys.executable, "-c", holder, str(prefix)], stdout=subprocess.PIPE, text=True)
    assert first.stdout.readline().strip() == "held"
    start = time.monotonic()
    with response_db.answering(prefix, ["agri_mc__dense"]):  # another pass: no wait
        other = time.monotonic() - start
    with response_db.answering(prefix, ["agri_mc", "agri_qa"]):  # the same pass (any order): waits
        same = time.monotonic() - start
    first.wait(timeout=30)
    assert other < 0.5 and same > 1.0
