"""The run-folder contract (harness.records): layout, bytes written, creation and publication."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.records import (
    RunFolder,
    load_records,
    load_samples,
    mean_metrics,
    mean_over_seeds,
    read_records,
    record_files,
    sample_key,
)


def test_layout_and_bytes(tmp_path: Path) -> None:
    run = RunFolder.create(tmp_path, "0123456789abcdef")
    assert run.path.name.startswith(".") and run.path.name.endswith(".tmp") and run.path.is_dir()
    assert run.final.name.endswith("-0123456789") and not run.final.exists()
    rows = [{"id": "q1", "output": "é 中", "scores": {"contains": 1.0}, "odd": Path("/x")},
            {"doc_id": 3, "scores": {}}]
    written = run.write_samples("ft", "agri_qa", rows, seed=1, forgetting=True)
    assert written.relative_to(run.path).as_posix() == "samples/ft/seed1/forgetting/agri_qa.jsonl"
    assert written.read_bytes() == "".join(json.dumps(r, ensure_ascii=False, default=str) + "\n"
                                           for r in rows).encode("utf-8")
    run.write_samples("ft", "agri_qa", rows)
    run.write_samples("ft", "general_qa", rows[:1], forgetting=True)
    assert [p.relative_to(run.path).as_posix() for p in record_files(run.path)] == ["samples/ft/agri_qa.jsonl"]
    assert [p.stem for p in record_files(run.path, "forgetting")] == ["general_qa"]
    assert load_samples(run.path) == {"ft": {"agri_qa": {"q1": {"contains": 1.0}, "doc:3": {}}}}
    assert load_records(run.path, "forgetting")["ft"]["general_qa"][0]["odd"] == "/x"
    assert [sample_key(r) for r in read_records(run.samples_file("ft", "agri_qa"))] == ["q1", "doc:3"]
    run.write_metrics({"b": 1, "a": 2})
    assert run.read_metrics() == {"a": 2, "b": 1} and run.read_manifest() is None
    run.write_config({"z": 1, "a": [1, 2]})
    assert run.config_file.read_text() == "z: 1\na:\n- 1\n- 2\n"
    other = RunFolder.create(tmp_path, "0123456789abcdef")  # same second, same spec: another name
    assert other.final != run.final
    other.discard()
    assert run.publish() == run.final and run.final.is_dir() and not other.path.exists()


def test_damaged_records_name_the_line(tmp_path: Path) -> None:
    path = tmp_path / "samples" / "base" / "t.jsonl"
    path.parent.mkdir(parents=True)
    path.write_text('{"id": 1}\n{broken\n')
    with pytest.raises(ValueError, match="t.jsonl line 2: invalid JSON"):
        read_records(path)


def test_seed_means() -> None:
    got = mean_metrics([{"t": {"acc": 0.2, "n": 4}}, {"t": {"acc": 0.4, "n": 4, "x": 1}}])
    assert got == {"t": {"acc": pytest.approx(0.3), "n": 4.0}}
    merged = mean_over_seeds({0: [{"id": "a", "scores": {"acc": 0.0}, "output": "x"}],
                              1: [{"id": "a", "scores": {"acc": 1.0}, "output": "y"}]})
    assert merged == [{"id": "a", "scores": {"acc": 0.5}, "output": "x", "seed_scores": {"0": {"acc": 0.0},
                       "1": {"acc": 1.0}}, "seed_outputs": {"0": "x", "1": "y"}}]
