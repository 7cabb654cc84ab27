"""The statistics as the reports print them: marks agree with intervals in every committed
baseline, several seeds get the two-level interval, macro-F1 gets an interval and a test, and
chance levels sit beside MC and classification metrics."""

from __future__ import annotations

import json
import math
import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from harness.jsonl import read_jsonl, write_jsonl
from harness.records import load_samples, mean_over_seeds
from harness.report import leaderboard

REPO = Path(__file__).resolve().parent.parent
BASELINES = sorted(p for p in (REPO / "results" / "baselines").iterdir() if (p / "leaderboard.csv").is_file())
FIXTURE = Path(__file__).parent / "fixtures" / "agri-run"
CELL = re.compile(r"([+-]\d+\.\d) pp \[([+-]\d+\.\d), ([+-]\d+\.\d)\][^|]*?( \*| ns)\s*\|")


@pytest.mark.parametrize("run", BASELINES, ids=lambda p: p.name)
def test_no_printed_delta_disagrees_with_its_interval(run: Path):
    board = pd.read_csv(run / "leaderboard.csv", index_col="condition")
    prefixes = {c[: -len("_p_holm")] for c in board.columns if c.endswith("_p_holm")}
    checked = 0
    for prefix in prefixes:
        for condition in board.index:
            low, high = board.loc[condition, f"{prefix}_ci_low"], board.loc[condition, f"{prefix}_ci_high"]
            p = board.loc[condition, f"{prefix}_p_holm"]
            if math.isnan(low) or math.isnan(p):
                continue
            assert (low > 0 or high < 0) == (p < 0.05), (run.name, condition, prefix, low, high, p)
            assert board.loc[condition, f"{prefix}_ci_level"] >= 0.95
            checked += 1
    fact = pd.read_csv(run / "rag_x_ft.csv")
    for _, row in fact.iterrows():
        if not math.isnan(row["interaction_ci_low"]):
            excludes = row["interaction_ci_low"] > 0 or row["interaction_ci_high"] < 0
            assert excludes == (row["interaction_p_holm"] < 0.05) == ("additive" in row["verdict"] and
                                                                       "than" in row["verdict"]), row.to_dict()
    assert checked >= 9
    # and the markdown: a printed interval that clearly excludes 0 is marked *, one that holds 0 is ns
    for estimate, low, high, mark in CELL.findall((run / "leaderboard.md").read_text()):
        lo, hi = float(low), float(high)
        if lo > 0.05 or hi < -0.05:
            assert mark == " *", (run.name, estimate, low, high)
        if lo < -0.05 and hi > 0.05:
            assert mark == " ns", (run.name, estimate, low, high)


def _three_seed_run(tmp_path: Path) -> Path:
    """The agri fixture with ``ft`` evaluated under three seeds (seed 1 and 2 flip a few answers)."""
    run = Path(shutil.copytree(FIXTURE, tmp_path / "run"))
    rng = np.random.default_rng(0)
    for task in ("agri_mc", "agri_qa"):
        rows = read_jsonl(run / "samples" / "ft" / f"{task}.jsonl")
        per_seed = {}
        for seed in (0, 1, 2):
            flipped = []
            for row in rows:
                scores = dict(row["scores"])
                metric = "acc" if task == "agri_mc" else "contains"
                if seed and rng.random() < 0.15 * seed:
                    scores[metric] = 1.0 - scores[metric]
                flipped.append(dict(row, scores=scores))
            per_seed[seed] = flipped
            write_jsonl(run / "samples" / "ft" / f"seed{seed}" / f"{task}.jsonl", flipped)
        write_jsonl(run / "samples" / "ft" / f"{task}.jsonl", mean_over_seeds(per_seed))
    return run


def test_several_seeds_get_the_two_level_interval(tmp_path: Path):
    run = _three_seed_run(tmp_path)
    stored = json.loads((run / "metrics.json").read_text())
    samples = load_samples(run)
    frame = leaderboard.build(stored["conditions"], stored["primary"], "base", samples)
    # the naive interval: bootstrap over questions of the seed means
    from harness.scoring import stats

    ft_mc = [s["acc"] for s in samples["ft"]["agri_mc"].values()]
    naive = stats.bootstrap_ci(ft_mc)
    width = frame.loc["ft", "agri_mc/acc_ci_high"] - frame.loc["ft", "agri_mc/acc_ci_low"]
    assert width > (naive.high - naive.low) * 1.2  # seed variance is now part of the interval
    assert frame.loc["ft", "agri_mc/acc"] == pytest.approx(np.mean(ft_mc))
    for col in ("delta_vs_base", "agri_mc/acc_delta"):
        low, high, p = (frame.loc["ft", f"{col}_{s}"] for s in ("ci_low", "ci_high", "p_holm"))
        assert (low > 0 or high < 0) == (p < 0.05)


def test_macro_f1_has_an_interval_and_a_paired_test_and_chance_is_shown():
    finance = REPO / "results" / "baselines" / "finance"
    board = pd.read_csv(finance / "leaderboard.csv", index_col="condition")
    assert not board["finance_cls/macro_f1_ci_low"].isna().any()
    assert not math.isnan(board.loc["ft", "finance_cls/macro_f1_delta_p"])
    markdown = (finance / "leaderboard.md").read_text()
    assert re.search(r"\| chance\s+\| 0\.1\d\d", markdown)
    medical = (REPO / "results" / "baselines" / "medical" / "leaderboard.md").read_text()
    assert re.search(r"\| chance\s+\| 0\.250\s+\| 0\.250", medical)
