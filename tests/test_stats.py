"""Statistics of the leaderboard: hand-checked small cases, then the leaderboard on a real
(slimmed) run folder in tests/fixtures/agri-run."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from harness.report import leaderboard
from harness.scoring import stats

FIXTURE = Path(__file__).parent / "fixtures" / "agri-run"


# ---------------------------------------------------------------- stats


def test_mcnemar_exact_on_known_tables():
    # 10 questions only A gets right, 5 only B: p = 2 * P(Binom(15, .5) <= 5) = 2 * 4944 / 32768
    a = [1] * 10 + [0] * 5 + [1] * 7 + [0] * 3
    b = [0] * 10 + [1] * 5 + [1] * 7 + [0] * 3
    only_a, only_b, p = stats.mcnemar_exact(a, b)
    assert (only_a, only_b) == (10, 5)
    assert p == pytest.approx(2 * 4944 / 32768)
    # 0 vs 6 discordant: p = 2 / 2^6
    assert stats.mcnemar_exact([0] * 6, [1] * 6)[2] == pytest.approx(2 / 64)
    # no discordant pair: no evidence at all
    assert stats.mcnemar_exact([1, 0, 1], [1, 0, 1]) == (0, 0, 1.0)


def test_bootstrap_ci_covers_the_mean_and_is_seeded():
    values = np.random.default_rng(3).normal(0.6, 0.2, 80)
    ci = stats.bootstrap_ci(values, seed=7)
    assert ci.n == 80 and ci.estimate == pytest.approx(values.mean())
    assert ci.low < ci.estimate < ci.high and ci.covers(values.mean())
    # the half-width is about 1.96 standard errors
    assert (ci.high - ci.low) / 2 == pytest.approx(1.96 * values.std(ddof=1) / math.sqrt(80), rel=0.15)
    assert stats.bootstrap_ci(values, seed=7) == ci
    constant = stats.bootstrap_ci([0.4] * 10)
    assert (constant.low, constant.high) == pytest.approx((0.4, 0.4))
    assert math.isnan(stats.bootstrap_ci([]).estimate)


def test_wilson_matches_the_closed_form_and_never_collapses():
    # 5/20: centre (0.25 + 1.92/20) / (1 + 3.84/20), reference values from the formula by hand
    low, high = stats.wilson(5, 20)
    assert (low, high) == pytest.approx((0.1118, 0.4687), abs=1e-4)
    ci = stats.mean_ci([0.0] * 48)
    assert ci.method == "wilson" and ci.low == 0 and ci.high == pytest.approx(0.0741, abs=1e-4)
    assert stats.clopper_pearson(0, 48)[1] == pytest.approx(1 - 0.025 ** (1 / 48))


def test_mean_over_tasks_weights_tasks_equally():
    ci = stats.groups_mean_ci([[1.0] * 100, [0.0] * 4])
    assert ci.estimate == 0.5 and ci.n == 104 and ci.method == "mover-jeffreys"
    assert ci.low < 0.5 < ci.high  # the 4-question task is uncertain, so the mean is too


def test_paired_delta_identical_shifted_binary_and_continuous():
    rng = np.random.default_rng(1)
    a = rng.uniform(0, 1, 120)
    same = stats.paired_delta(a, a.copy())
    assert same.p_value == pytest.approx(1.0) and same.estimate == 0 and not same.significant
    assert same.test == "paired-bootstrap" and same.paired
    shifted = stats.paired_delta(a, np.clip(a + 0.3, 0, 1), seed=2)
    assert shifted.significant and shifted.p_value < 0.001 and shifted.low <= shifted.estimate <= shifted.high
    binary = stats.paired_delta([0] * 30 + [1] * 10, [1] * 30 + [1] * 10)
    assert binary.test == "tango-mcnemar" and binary.estimate == pytest.approx(0.75) and binary.significant
    # McNemar score test: z = 30 / sqrt(30)
    assert binary.p_value == pytest.approx(2 * stats_norm_sf(math.sqrt(30)))
    one_flip = stats.paired_delta([0] * 20, [1] + [0] * 19)
    assert not one_flip.significant and one_flip.low < 0 < one_flip.high


def stats_norm_sf(z: float) -> float:
    from scipy.stats import norm

    return float(norm.sf(z))


def test_tango_interval_inverts_the_mcnemar_score_test():
    """At every table, the interval excludes 0 exactly when the score test rejects."""
    for up in range(0, 12):
        for down in range(0, 12):
            low, high = stats.tango_interval(up, down, 60)
            assert (low > 0 or high < 0) == (stats.mcnemar_score_p(up, down) < 0.05), (up, down)
            assert low <= (up - down) / 60 <= high


def test_paired_delta_groups_drops_missing_pairs():
    delta = stats.paired_delta_groups([[1, 0, math.nan], [0.5]], [[1, 1, 1], [0.5]])
    assert delta.n == 3 and delta.estimate == pytest.approx(0.25)  # (0.5 + 0) / 2


def test_unpaired_and_normal_deltas():
    rng = np.random.default_rng(4)
    x, y = rng.normal(0, 1, 100), rng.normal(1, 1, 100)
    far = stats.unpaired_delta(x, y)
    assert not far.paired and far.significant and far.low < far.estimate < far.high
    near = stats.unpaired_delta(x, x[::-1] + 0.01)  # the same values shifted by 0.01
    assert near.p_value > 0.05
    binary = stats.unpaired_delta([1] * 10 + [0] * 30, [1] * 30 + [0] * 10)
    assert binary.test == "newcombe" and binary.significant
    # se = sqrt(.03^2 + .04^2) = .05, z = 2: two-sided p = 0.0455
    normal = stats.normal_delta(0.5, 0.03, 0.6, 0.04)
    assert normal.p_value == pytest.approx(0.0455, abs=1e-4)
    assert normal.low == pytest.approx(0.1 - 1.959964 * 0.05)


def test_macro_f1_interval_and_delta_from_label_pairs():
    gold = np.array([0, 1, 2, 3] * 12)
    good, bad = gold.copy(), (gold + 1) % 4
    assert stats.macro_f1_ci(gold, good).estimate == 1.0
    delta = stats.macro_f1_delta(gold, bad, good)
    assert delta.estimate == pytest.approx(1.0) and delta.significant
    noise = stats.macro_f1_delta(gold, good, good)
    assert noise.estimate == 0 and not noise.significant


def test_power_helpers_follow_connor():
    # psi = 0.1, delta = 0.05: n = (1.96 sqrt(.1) + 0.8416 sqrt(.1 - .0025))^2 / .05^2
    expected = (1.959964 * math.sqrt(0.1) + 0.841621 * math.sqrt(0.0975)) ** 2 / 0.0025
    assert stats.questions_needed(0.05, 0.1) == math.ceil(expected)
    mde = stats.minimum_detectable_effect(math.ceil(expected), 0.1)
    assert mde == pytest.approx(0.05, abs=0.001)


def test_align_pairs_by_id():
    ids, a, b = stats.align({"q2": 0.0, "q1": 1.0, "q9": 1.0}, {"q1": 0.0, "q2": 1.0, "q3": 1.0})
    assert ids == ["q1", "q2"] and a.tolist() == [1.0, 0.0] and b.tolist() == [0.0, 1.0]


# ---------------------------------------------------------------- leaderboard on a run folder


@pytest.fixture
def run_dir(tmp_path: Path) -> Path:
    return Path(shutil.copytree(FIXTURE, tmp_path / "run"))


def test_leaderboard_from_samples(run_dir: Path):
    markdown = leaderboard.rebuild(run_dir)
    for suffix in ("md", "csv", "parquet", "tex", "html"):
        assert (run_dir / f"leaderboard.{suffix}").is_file(), suffix
    board = pd.read_csv(run_dir / "leaderboard.csv", index_col="condition")
    assert list(board.index) == ["base", "base+dense", "ft", "ft+dense"]
    for col in ("agri_qa/contains", "agri_mc/acc", "mean", "delta_vs_base", "agri_qa/contains_delta",
                "agri_qa/contains_ci_low", "delta_vs_base_p", "agri_mc/acc_delta_p"):
        assert col in board.columns, col
    assert board.loc["base", "delta_vs_base"] == 0
    assert "delta_vs_base_p_holm" in board.columns and "agri_mc/acc_delta_ci_level" in board.columns
    metrics = json.loads((run_dir / "metrics.json").read_text())["conditions"]
    for condition in board.index:  # per-sample means reproduce lm-eval's aggregates
        for task, metric in (("agri_qa", "contains"), ("agri_mc", "acc")):
            value = board.loc[condition, f"{task}/{metric}"]
            assert value == pytest.approx(metrics[condition][task][metric])
            assert board.loc[condition, f"{task}/{metric}_ci_low"] <= value <= board.loc[condition, f"{task}/{metric}_ci_high"]
    # fine-tuning's closed-book QA gain is large and significant; RAG's +5 pp (1 question) is not
    assert board.loc["ft", "agri_qa/contains_delta_ci_low"] > 0 and board.loc["ft", "agri_qa/contains_delta_p"] < 0.01
    assert board.loc["base+dense", "agri_qa/contains_delta_ci_low"] <= 0
    assert "Δ mean vs base" in markdown and "ns" in markdown and "RAG × FT" in markdown
    fact = pd.read_csv(run_dir / "rag_x_ft.csv")
    mc = fact[fact["task"] == "agri_mc"].iloc[0]
    assert mc["interaction"] == pytest.approx(mc["combined_gain"] - mc["ft_gain"] - mc["rag_gain"])
    assert pd.read_parquet(run_dir / "leaderboard.parquet").shape == board.shape


def test_leaderboard_rebuild_is_byte_identical(run_dir: Path):
    leaderboard.rebuild(run_dir)
    first = {s: (run_dir / f"leaderboard.{s}").read_bytes() for s in ("md", "csv", "tex", "html")}
    leaderboard.rebuild(run_dir)
    assert first == {s: (run_dir / f"leaderboard.{s}").read_bytes() for s in ("md", "csv", "tex", "html")}


def test_leaderboard_without_samples_or_reference(tmp_path: Path):
    stored = json.loads((FIXTURE / "metrics.json").read_text())
    frame = leaderboard.build(stored["conditions"], stored["primary"], "base")
    assert math.isnan(frame.loc["ft", "agri_qa/contains_ci_low"])
    markdown = leaderboard.write(frame, stored["primary"], "base", tmp_path)
    assert "0.800 ± 0.092" in markdown and "+72.5 pp" in markdown
    assert "n/a (no per-sample records)" in markdown  # the 2×2 still shows its point gains
    # a one-condition run (a multirun job) has no reference row: no deltas, no 2×2
    only = {"base+dense": stored["conditions"]["base+dense"]}
    frame = leaderboard.build(only, stored["primary"], "base")
    assert "delta_vs_base" not in frame and list(frame.index) == ["base+dense"]
    (tmp_path / "single").mkdir()
    leaderboard.write(frame, stored["primary"], "base", tmp_path / "single")
    assert not (tmp_path / "single" / "rag_x_ft.csv").exists()


def test_normal_delta_without_stderr_is_never_significant():
    """A metric lm-eval reports without a stderr (macro-F1) gets no test: a drop is shown, not gated."""
    from harness.scoring.stats import normal_delta

    drop = normal_delta(0.60, float("nan"), 0.40, float("nan"))
    assert drop.estimate == pytest.approx(-0.20)
    assert math.isnan(drop.p_value) and not drop.significant
    exact = normal_delta(0.60, 0.0, 0.40, 0.0)  # both known exactly: the delta is certain
    assert exact.significant
