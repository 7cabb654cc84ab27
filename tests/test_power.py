"""`power`: planning a paired comparison from a pilot run (Connor 1987), on the committed agri
baseline (read only) and the small fixture run."""

from __future__ import annotations

import io
import json
import math
from pathlib import Path

import numpy as np
import pytest
from scipy import stats as sps

from harness.records import load_samples
from harness.report import power
from harness.scoring import stats
from tests.conftest import REPO, harness

BASELINE = REPO / "results" / "baselines" / "agri_full"  # the whole suite: 150 open + 120 MC questions
FIXTURE = REPO / "tests" / "fixtures" / "agri-run"


def plan(*argv: str | Path) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = power.main([str(a) for a in argv], out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def scores(run: Path, condition: str, task: str, metric: str) -> dict[str, float]:
    lines = (run / "samples" / condition / f"{task}.jsonl").read_text().splitlines()
    return {r["id"]: float(r["scores"][metric]) for r in map(json.loads, lines)}


def snapshot(folder: Path) -> dict[str, float]:
    return {str(p.relative_to(folder)): p.stat().st_mtime for p in folder.rglob("*")}


def test_plan_of_the_committed_baseline_matches_connor_by_hand():
    before = snapshot(BASELINE)
    code, out, err = plan(BASELINE)
    assert code == 0, err
    assert snapshot(BASELINE) == before  # planning reads the run, never writes into it
    assert "vs base" in out and "Connor 1987" in out and "n for ±5 pp" in out

    table = power.plan(load_samples(BASELINE), {"agri_mc": "acc", "agri_qa": "correct"}, "base")
    assert len(table) == 6 and set(table["condition"]) == {"base+dense", "ft", "ft+dense"}
    row = table[(table["condition"] == "ft") & (table["task"] == "agri_qa")].iloc[0]
    # by hand, from the records: the share of questions where ft and base disagree
    a, b = scores(BASELINE, "base", "agri_qa", "correct"), scores(BASELINE, "ft", "agri_qa", "correct")
    psi = sum(a[i] != b[i] for i in a) / len(a)
    assert row["n"] == len(a) == 150 and row["null_var"] == pytest.approx(psi)
    assert row["delta"] == pytest.approx(sum(b[i] - a[i] for i in a) / len(a))
    delta, za, zb = 0.05, sps.norm.ppf(0.975), sps.norm.ppf(0.8)
    s0 = math.sqrt(max(psi, delta))  # a 5-point difference needs at least 5% discordant questions
    by_hand = math.ceil(((za * s0 + zb * math.sqrt(s0**2 - delta**2)) / delta) ** 2)
    assert row["n_needed"] == by_hand
    assert f"| {by_hand}" in out
    # the MDE is the delta that the same formula says the current n detects
    mde = row["mde"]
    s0 = math.sqrt(max(psi, mde))
    assert math.sqrt(150) * mde == pytest.approx(za * s0 + zb * math.sqrt(s0**2 - mde**2), rel=1e-4)


def test_options_and_the_cli_verb():
    code, out, _ = plan(FIXTURE, "--effect", "0.1", "--reference", "ft", "--power", "0.9", "--alpha", "0.01")
    assert code == 0 and "vs ft" in out and "n for ±10 pp" in out and "90% power" in out
    assert "| base " in out and "| ft " not in out.split("\n", 3)[3]  # the reference is not planned against itself
    proc = harness("power", BASELINE, env={"PYTHONPATH": str(REPO)})
    assert proc.returncode == 0 and "MDE" in proc.stdout, proc.stderr
    assert "power" in harness("--help", env={"PYTHONPATH": str(REPO)}).stdout


def test_unplannable_runs_exit_2(tmp_path: Path):
    code, _, err = plan(tmp_path)
    assert code == 2 and "metrics.json" in err
    (tmp_path / "metrics.json").write_text(json.dumps({"conditions": {}, "primary": {"t": "acc"}}))
    code, _, err = plan(tmp_path)
    assert code == 2 and "per-question records" in err
    code, _, err = plan(FIXTURE, "--reference", "nope")
    assert code == 2 and "nope" in err and "base+dense" in err


def test_spread_of_several_tasks_is_their_mean():
    """Two tasks of different sizes as one comparison: psi_eff / N is the null variance of the
    unweighted mean of the task deltas."""
    rng = np.random.default_rng(0)
    pairs = [(rng.integers(0, 2, 30).astype(float), rng.integers(0, 2, 30).astype(float)),
             (rng.integers(0, 2, 90).astype(float), rng.integers(0, 2, 90).astype(float))]
    got = power.spread(pairs)
    parts = [power.spread([p]) for p in pairs]
    assert got.n == 120 and got.binary
    assert got.delta == pytest.approx((parts[0].delta + parts[1].delta) / 2)
    assert got.null_var / got.n == pytest.approx((parts[0].null_var / 30 + parts[1].null_var / 90) / 4)
    assert power.spread([]) is None and power.spread([(np.array([np.nan]), np.array([1.0]))]) is None


def test_degenerate_spreads():
    continuous = power.PairedSpread(50, 0.0, 0.0, binary=False)
    assert math.isnan(power.mde(continuous))  # nothing ever differs: no spread to plan with
    identical = power.PairedSpread(120, 0.0, 0.0, binary=True)
    assert 0 < power.mde(identical) < 0.1  # floor: a drop shows up as one-way discordant questions
    # a margin on identical 0/1 runs still needs the n at which -z²/(n+z²) clears it
    assert power.margin_n(0.05, identical) == math.ceil(sps.norm.ppf(0.975) ** 2 * 0.95 / 0.05)
    assert power.margin_n(0.05, power.PairedSpread(120, 0.0, 0.2, True)) == stats.margin_questions(0.05, 0.2)
