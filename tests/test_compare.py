"""`compare`: the regression gate between two runs, on copies of the fixture run folder."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import pytest

from harness.report import compare, leaderboard
from tests.conftest import REPO, harness

FIXTURE = Path(__file__).parent / "fixtures" / "agri-run"


def copy_run(tmp_path: Path, name: str) -> Path:
    return Path(shutil.copytree(FIXTURE, tmp_path / name))


def degrade(run_dir: Path, condition: str, task: str, metric: str, n: int) -> int:
    """Turn the first ``n`` correct answers of one condition × task wrong; returns how many flipped."""
    path = run_dir / "samples" / condition / f"{task}.jsonl"
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    flipped = 0
    for row in rows:
        if flipped < n and row["scores"][metric] == 1:
            row["scores"] = {k: 0.0 for k in row["scores"]}
            flipped += 1
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return flipped


def edit_manifest(run_dir: Path, edit) -> None:
    path = run_dir / "manifest.json"
    manifest = json.loads(path.read_text())
    edit(manifest)
    path.write_text(json.dumps(manifest))


def gate(baseline: Path, candidate: Path, *extra: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = compare.main([str(baseline), str(candidate), *extra], out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def test_identical_copy_passes(tmp_path: Path):
    code, out, _ = gate(copy_run(tmp_path, "a"), copy_run(tmp_path, "b"))
    assert code == 0 and "PASS" in out and "REGRESSION" not in out
    assert "mcnemar-exact (paired)" in out


def test_degraded_copy_fails_the_gate(tmp_path: Path):
    baseline, candidate = copy_run(tmp_path, "a"), copy_run(tmp_path, "b")
    assert degrade(candidate, "ft", "agri_qa", "contains", 10) == 10  # 0.80 -> 0.30
    code, out, _ = gate(baseline, candidate, "--csv", str(tmp_path / "cmp.csv"))
    assert code == 1 and "FAIL" in out and "ft/agri_qa" in out
    table = compare.compare(compare.load(baseline), compare.load(candidate))
    row = table[(table["condition"] == "ft") & (table["task"] == "agri_qa")].iloc[0]
    assert row["delta"] == pytest.approx(-0.5) and row["paired"] and row["status"] == "REGRESSION"
    assert row["p"] == pytest.approx(2 / 2**10)  # McNemar: 10 discordant pairs, all one way
    untouched = table[(table["condition"] == "base")]
    assert set(untouched["status"]) == {"ok"}
    assert (tmp_path / "cmp.csv").is_file()


def test_noise_sized_drop_does_not_fail(tmp_path: Path):
    baseline, candidate = copy_run(tmp_path, "a"), copy_run(tmp_path, "b")
    degrade(candidate, "ft", "agri_qa", "contains", 2)  # -10 pp on 20 questions: not significant
    code, out, _ = gate(baseline, candidate)
    assert code == 0 and "PASS" in out
    # ... but a tolerance larger than the drop passes even a significant one
    degrade(candidate, "ft", "agri_qa", "contains", 8)
    assert gate(baseline, candidate, "--tolerance", "0.6")[0] == 0


@pytest.mark.parametrize("edit, reason", [
    (lambda m: m["hashes"].__setitem__("suite", "0" * 64), "suite content hash"),
    (lambda m: m["hashes"]["task_data_sha256"].__setitem__("agri_qa__closed", "f" * 64), "agri_qa__closed"),
    (lambda m: m["spec"]["eval"].__setitem__("max_gen_toks", 64), "eval.max_gen_toks"),
])
def test_incomparable_runs_are_refused_unless_forced(tmp_path: Path, edit, reason):
    baseline, candidate = copy_run(tmp_path, "a"), copy_run(tmp_path, "b")
    edit_manifest(candidate, edit)
    code, _, err = gate(baseline, candidate)
    assert code == 2 and "not comparable" in err and reason in err
    code, out, err = gate(baseline, candidate, "--force")
    assert code == 0 and "warning" in err and "PASS" in out


def test_batch_size_and_model_changes_stay_comparable(tmp_path: Path):
    baseline, candidate = copy_run(tmp_path, "a"), copy_run(tmp_path, "b")

    def edit(m):
        m["spec"]["eval"]["batch_size"] = 1
        m["hashes"]["adapter_sha256"] = "a" * 64

    edit_manifest(candidate, edit)
    assert gate(baseline, candidate)[0] == 0


def test_aggregate_baseline_is_compared_unpaired(tmp_path: Path):
    baseline, candidate = copy_run(tmp_path, "a"), copy_run(tmp_path, "b")
    leaderboard.rebuild(baseline)
    code, out, _ = gate(baseline / "leaderboard.csv", candidate)
    assert code == 0 and "(unpaired)" in out and "(paired)" not in out
    code, out, _ = gate(baseline / "metrics.json", candidate)
    assert code == 0 and "(paired)" in out  # metrics.json inside a run folder finds its samples


def test_cli_exit_statuses(tmp_path: Path):
    baseline, candidate = copy_run(tmp_path, "a"), copy_run(tmp_path, "b")
    degrade(candidate, "ft+dense", "agri_qa", "contains", 10)
    env = {"PYTHONPATH": str(REPO)}
    proc = harness("compare", baseline, candidate, env=env)
    assert proc.returncode == 1, proc.stderr
    assert "ft+dense" in proc.stdout and "REGRESSION" in proc.stdout
    proc = harness("compare", baseline, tmp_path / "nowhere", env=env)
    assert proc.returncode == 2 and "metrics.json" in proc.stderr


def test_committed_baseline_gates_itself_and_refuses_other_suites(tmp_path):
    """results/baselines/agri is the nightly reference: comparable with itself, not with a subset."""
    repo = Path(__file__).resolve().parent.parent
    baseline = repo / "results" / "baselines" / "agri"
    same = harness("compare", baseline, baseline, timeout=120)
    assert same.returncode == 0, same.stderr
    assert "PASS" in same.stdout
    other = repo / "tests" / "fixtures" / "agri-run"
    refused = harness("compare", baseline, other, timeout=120)
    assert refused.returncode == 2, refused.stdout + refused.stderr
