"""Numbers that mean what their names say, and the same data giving the same number (issue #22).

ROUGE-L is ``rouge_score``'s; the lexical "faithfulness" is called ``context_word_overlap``; the
leaderboard shows the per-question mean beside the task mean and warns of tiny tasks; bootstrap
draws are seeded by the data, so every verb prints the same p for the same scores; and
``python -m harness`` has ``--version`` and leaves a closed pipe without a traceback.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from harness.records import RunFolder, load_samples
from harness.report import leaderboard, merge
from harness.report.tables import FEW_QUESTIONS, PER_QUESTION, mean_notes, to_markdown
from harness.scoring import scorers, stats
from harness.scoring.answers import references
from harness.scoring.stats.evidence import Evidence
from harness.scoring.text import context_word_overlap, rouge_l
from tests.conftest import REPO

BASELINES = REPO / "results" / "baselines"

# ---------------------------------------------------------------- ROUGE-L is rouge_score's

PAIRS = [
    ("Sow maize in the mid-October, please.", "mid-October"),
    ("mid October", "mid-October"),
    ("The answer is 27 days.", "27 days"),
    ("june early", "early june"),
    ("Irrigate every 27 days with 25 mm of water", "irrigation every 27 days"),
    ("a a a b", "a b a b"),
    ("Café au lait, naïve résumé", "cafe au lait"),  # rouge_score drops non-ASCII letters
    ("FALL ARMYWORM!!", "fall armyworm"),
    ("", "x"),
    ("x", ""),
    ("", ""),
    ("   ", "the"),
]


def _rouge_score_l() -> Any:
    """rouge_score's own ROUGE-L scorer, imported after the harness's (which makes absl's log
    handler safe under pytest's capture: harness.scoring.text._rouge_l_scorer)."""
    rouge_l("", "")
    from rouge_score import rouge_scorer

    return rouge_scorer.RougeScorer(["rougeL"], use_stemmer=False)


def test_rouge_l_equals_rouge_score_on_strings():
    reference = _rouge_score_l()
    for prediction, target in PAIRS:
        assert rouge_l(prediction, target) == reference.score(target, prediction)["rougeL"].fmeasure, (prediction, target)


def test_rouge_l_scorer_on_the_agri_baseline_is_rouge_score():
    """Every ft+dense agri_qa answer scores the rouge_score F of its best reference (mean 0.277 on
    the whole version-2 suite, agri_full; 0.236 with the earlier 3-epoch adapter; on version 1 the hand-written LCS on normalised tokens gave 0.376
    where rouge_score gives 0.327)."""
    reference = _rouge_score_l()
    rows = RunFolder(BASELINES / "agri_full").load_records()["ft+dense"]["agri_qa"]
    got = [scorers.ROUGE_L.value(r, "correct") for r in rows]
    want = [max(reference.score(ref, str(r.get("output") or ""))["rougeL"].fmeasure
                for ref in references(r)) for r in rows]
    assert got == want
    assert float(np.mean(got)) == pytest.approx(0.277, abs=5e-4)


# ---------------------------------------------------------------- context_word_overlap, not faithfulness


def test_lexical_overlap_is_not_called_faithfulness():
    assert "context_word_overlap" in scorers.SCORERS.names() and "faithfulness" not in scorers.SCORERS.names()
    assert "context_word_overlap" in scorers.RAG_METRICS and "faithfulness" not in scorers.RAG_METRICS
    record = {"question": "When should maize be sown?", "context": "Sow maize in mid-October.", "target": "mid-October",
              "output": "Sow maize in early March.", "scores": {"contains": 0.0}}
    got = scorers.sample_metrics(record, "contains")
    assert got["context_word_overlap"] == pytest.approx(1 / 3) == context_word_overlap(
        record["output"], record["context"], record["question"])
    for name in ("agri", "finance", "knowledge", "medical"):
        assert "faithfulness" not in (BASELINES / name / "leaderboard.md").read_text().lower(), name


# ---------------------------------------------------------------- the per-question mean beside the task mean


def _two_task_run() -> tuple[dict, dict, dict]:
    """10 open questions and 2 MC: per question base+dense 6/12, ft+dense 3/12, yet ft+dense has
    the higher task mean (0.55 vs 0.50)."""
    right = {"base": (0, 0), "base+dense": (5, 1), "ft+dense": (1, 2)}  # (open right of 10, MC right of 2)
    samples, metrics = {}, {}
    for condition, (open_right, mc_right) in right.items():
        samples[condition] = {
            "open": {f"q{i}": {"contains": float(i < open_right)} for i in range(10)},
            "mc": {f"m{i}": {"acc": float(i < mc_right), "@n_choices": 4.0} for i in range(2)},
        }
        metrics[condition] = {"open": {"contains": open_right / 10}, "mc": {"acc": mc_right / 2}}
    return metrics, {"open": "contains", "mc": "acc"}, samples


def test_per_question_mean_beside_the_task_mean():
    metrics, primary, samples = _two_task_run()
    frame = leaderboard.build(metrics, primary, "base", samples)
    assert frame.loc["ft+dense", "mean"] == pytest.approx(0.55) and frame.loc["base+dense", "mean"] == pytest.approx(0.5)
    assert frame.loc["ft+dense", PER_QUESTION] == pytest.approx(3 / 12)
    assert frame.loc["base+dense", PER_QUESTION] == pytest.approx(6 / 12)
    for condition in frame.index:
        assert frame.loc[condition, f"{PER_QUESTION}_ci_low"] <= frame.loc[condition, PER_QUESTION] \
            <= frame.loc[condition, f"{PER_QUESTION}_ci_high"]
    text = to_markdown(frame, primary, "base")
    assert "mean (per question)" in text.splitlines()[0]
    assert "the mean the Decision ranks on" in text
    assert "disagree on the best condition: ft+dense by the task mean, base+dense per question" in text
    assert f"Too few to compare: mc has 2 questions (fewer than {FEW_QUESTIONS})" in text
    assert "Too few to compare: open has 10 questions" in text


def test_per_question_mean_weights_the_tasks_by_their_questions():
    """The agri_full baseline (150 open + 120 multiple-choice questions): the per-question mean is the
    question-weighted mean of the task scores, and here both means rank the same condition first."""
    run = RunFolder(BASELINES / "agri_full")
    stored = run.read_metrics()
    frame = leaderboard.build(stored["conditions"], stored["primary"], stored["reference"], load_samples(run.path))
    for condition in frame.index:
        qa, mc = frame.loc[condition, "agri_qa/correct"], frame.loc[condition, "agri_mc/acc"]
        assert frame.loc[condition, PER_QUESTION] == pytest.approx((150 * qa + 120 * mc) / 270, abs=1e-6)
        assert frame.loc[condition, "mean"] == pytest.approx((qa + mc) / 2, abs=1e-6)
    assert len(mean_notes(frame, stored["primary"])) == 1  # which mean ranks; no disagreement, no tiny task


def test_per_question_weights_reach_every_procedure():
    """Weighted by questions, each kind of evidence gives the pooled per-question mean."""
    big, small = np.r_[np.ones(30), np.zeros(70)], np.ones(10)
    for groups in ([big, small], [big * 0.5, small * 0.9]):  # 0/1 (MOVER) and continuous (bootstrap)
        got = stats.groups_mean_ci(groups, by_question=True)
        assert got.estimate == pytest.approx(np.concatenate(groups).mean()) and got.low < got.estimate < got.high
    seeds = [np.stack([big, np.roll(big, 3)]), np.stack([small, small])]
    assert stats.seeds_mean_ci(seeds, by_question=True).estimate == pytest.approx(np.hstack(seeds).mean())


# ---------------------------------------------------------------- same data, same p


def test_bootstraps_do_not_depend_on_the_callers_seed():
    rng = np.random.default_rng(0)
    a, b = rng.random(60), rng.random(60)
    gold, pa, pb = rng.integers(0, 3, 50), rng.integers(0, 3, 50), rng.integers(0, 3, 50)
    calls = [
        lambda s: stats.bootstrap_ci(a, seed=s),
        lambda s: stats.paired_delta(a, b, seed=s),
        lambda s: stats.unpaired_delta(a, b[:40], seed=s),
        lambda s: stats.paired_delta_groups([a, b], [b, a], seed=s),
        lambda s: stats.macro_f1_ci(gold, pa, seed=s),
        lambda s: stats.macro_f1_delta(gold, pa, pb, seed=s),
        lambda s: stats.evidence.mean_delta([(Evidence(np.full(50, np.nan), labels=(gold, pa)),
                                              Evidence(np.full(50, np.nan), labels=(gold, pb))),
                                             (Evidence(a), Evidence(b))], seed=s),
        lambda s: stats.evidence.contrast([[Evidence(a), Evidence(b), Evidence(b[::-1]), Evidence(a[::-1])]],
                                          [1, -1, -1, 1], seed=s),
    ]
    for call in calls:
        assert call(1) == call(stats.stable_seed("ft", "base", "mean", base=7))
    assert stats.paired_delta(a, b).p_value != stats.paired_delta(a, b[::-1]).p_value  # the data do count


def test_leaderboard_and_merge_print_the_same_p(tmp_path: Path):
    """The finance baseline's macro-F1 deltas are bootstraps: a run's leaderboard and ``merge``
    of two copies of it (rows renamed "run=… · ft") give every delta the same p."""
    base = BASELINES / "finance"
    run = RunFolder(base)
    stored = run.read_metrics()
    own = leaderboard.build(stored["conditions"], stored["primary"], stored["reference"], load_samples(run.path))
    copies = [shutil.copytree(base, tmp_path / f"20260101-000000-{x}") for x in "ab"]
    merged = merge.merge_runs([merge.load_run(p) for p in copies])
    columns = [c for c in own.columns if c.endswith("_delta_p") or c == "delta_vs_base_p"]
    assert any("macro_f1" in c for c in columns)
    for row in merged.frame.index:
        condition = row.rpartition(merge.SEP)[2]
        if condition == "base":
            continue
        for col in columns:
            got = merged.frame.loc[row, col.replace("delta_vs_base", f"delta_vs_{merged.reference}")]
            assert got == own.loc[condition, col], (row, col)


# ---------------------------------------------------------------- the command line


def test_version_prints_the_package_version():
    done = subprocess.run([sys.executable, "-m", "harness", "--version"], capture_output=True, text=True, cwd=REPO)
    assert done.returncode == 0 and done.stdout.split() == ["rag-ft-harness", metadata.version("rag-ft-harness")]


@pytest.mark.parametrize("args", [["-h"], ["run", "-h"]])
def test_help_into_a_closed_pipe_has_no_traceback(args: list[str]):
    piped = subprocess.run(f"{sys.executable} -m harness {' '.join(args)} | head -1", shell=True, capture_output=True,
                           text=True, cwd=REPO)
    assert piped.stdout.startswith("usage:") and "Traceback" not in piped.stderr and "Error" not in piped.stderr
    # the reader gone before the first write: deterministic, whatever the scheduling of `head`
    proc = subprocess.Popen([sys.executable, "-m", "harness", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            cwd=REPO)
    proc.stdout.close()
    err = proc.stderr.read().decode()
    assert proc.wait() == 141 and "Traceback" not in err and "BrokenPipe" not in err
