"""The open-QA scorer cannot be gamed: degenerate answers score at the floor on every shipped task.

Fast (no model): the scorer is the suites' own ``utils.py`` (as lm-eval runs it), the
copy-the-context answers come from a real BM25 index over each suite's corpus.
"""

from __future__ import annotations

import os

os.environ["HF_DATASETS_OFFLINE"] = "1"
os.environ["HF_HUB_OFFLINE"] = "1"

import runpy
import shutil
from pathlib import Path
from typing import Any

import pytest

from harness.scoring.degenerate import TOLERANCE, audit_suite, binomial_excess_p, uniform_guess_macro_f1
from harness.suites import load_suite, normalize_text

REPO = Path(__file__).resolve().parents[1]
TASKS = REPO / "tasks"
SHIPPED = ("agri", "finance", "knowledge", "medical", "general")
UTILS: dict[str, Any] = runpy.run_path(str(TASKS / "agri" / "utils.py"))


def _score(output: str, answer: str, aliases: tuple[str, ...] = (), candidates: tuple[str, ...] = (),
           question: str = "") -> dict[str, float]:
    doc = {"answer": answer, "aliases": list(aliases), "candidates": list(candidates), "question": question}
    return UTILS["process_qa"](doc, [output])


def test_normalisation_matches_the_harness() -> None:
    for text in ["Mid-March.", "The amber stem borer!", "  Tessaly-4 ", "every “9” days…", "An Ear—Moth"]:
        assert UTILS["normalize"](text) == normalize_text(text)


def test_correct_answers_in_a_sentence_score_one() -> None:
    scores = _score("In the Velmora Plateau, sow maize in mid-October.", "mid-October", ("middle of October",),
                    ("early October", "late October", "mid-March"))
    assert scores["correct"] == scores["contains"] == 1.0 and scores["exact_match"] == 0.0
    assert _score("tessaly4", "Tessaly-4", ("Tessaly4",)) == {"correct": 1.0, "contains": 1.0, "exact_match": 1.0,
                                                               "f1": 1.0}
    assert _score("Tessaly-41", "Tessaly-4")["correct"] == 0.0  # word boundaries, not raw substrings
    assert _score("", "mid-March") == {"correct": 0.0, "contains": 0.0, "exact_match": 0.0, "f1": 0.0}


def test_a_hedged_list_scores_zero_but_the_lenient_scorer_credits_it() -> None:
    cands = ("early October", "late October", "mid-March", "early May")
    for hedge in ("mid-October, early May or mid-March", "Mid-March. Or mid-October. Or early May."):
        scores = _score(hedge, "mid-October", candidates=cands)
        assert scores["correct"] == 0.0 and scores["contains"] == 1.0


def test_only_the_first_clause_is_the_answer() -> None:
    assert _score("I am not sure. Perhaps mid-October.", "mid-October")["correct"] == 0.0
    assert _score("mid-October; keep the soil moist.", "mid-October")["correct"] == 1.0
    assert _score("4.25% this year", "4.25%")["correct"] == 1.0  # a decimal point ends no clause


def test_full_names_and_candidates_the_question_names() -> None:
    people = ("Odessa Vrane", "Quentin Quarrington", "Tamsin Kellorow")
    assert _score("Quentin Quarrington", "Maelis Quarrington", candidates=people)["correct"] == 0.0
    # the person asked about is a candidate value of "mentor" too, but naming them is not hedging
    question = "Who was the mentor of Odessa Vrane?"
    assert _score("The mentor of Odessa Vrane was Maelis Quarrington.", "Maelis Quarrington", candidates=people,
                  question=question)["correct"] == 1.0
    # a candidate inside the gold value counts only outside the gold mention
    assert _score("Maelis Quarrington", "Maelis Quarrington", candidates=("Quarrington",))["correct"] == 1.0
    assert _score("Maelis Quarrington or Quarrington", "Maelis Quarrington",
                  candidates=("Quarrington",))["correct"] == 0.0


@pytest.mark.parametrize("name", SHIPPED)
def test_degenerate_answers_score_at_the_floor(name: str) -> None:
    """List every candidate, paste the top-3 BM25 passages, echo the question, always the same
    option or the majority label: none beats the task's floor by more than 2 points (the longest
    option: no significant excess over chance)."""
    results = audit_suite(load_suite(name, TASKS))
    kinds = {t.kind for t in load_suite(name, TASKS).tasks}
    assert len(results) >= len(kinds)
    failing = [f"{r.task} {r.strategy}: {r.score:.3f} vs floor {r.floor:.3f}" for r in results if not r.at_floor]
    assert not failing, failing


def test_degenerate_strategies_do_reach_the_answer() -> None:
    """The audit is not vacuous: the listed candidates and the copied passages contain the gold
    value, so the lenient scorer credits them (agri: near 1 and far above 0)."""
    suite = load_suite("agri", TASKS)
    task = suite.tasks[0]
    rows = task.rows[:40]
    listed = [UTILS["process_qa"](r, [", ".join([r["answer"], *r["candidates"]])]) for r in rows]
    assert all(s["contains"] == 1.0 and s["correct"] == 0.0 for s in listed)


def test_floors() -> None:
    assert uniform_guess_macro_f1([0, 1, 2, 3] * 10, 4) == pytest.approx(0.25)
    assert binomial_excess_p(10, 40, 0.25) == pytest.approx(0.5605, abs=1e-3)
    assert binomial_excess_p(20, 40, 0.25) < 0.01 and TOLERANCE == 0.02


def test_shared_scorer_enters_every_suite_hash(tmp_path: Path) -> None:
    """Editing tasks/agri/utils.py changes the hash of every suite that runs it by path."""
    copy = tmp_path / "tasks"
    shutil.copytree(TASKS, copy, ignore=shutil.ignore_patterns("__pycache__"))
    before = {name: load_suite(name, copy).content_hash for name in SHIPPED}
    for name in SHIPPED:
        if name != "agri":
            assert "../agri/utils.py" in (copy / name / "suite.yaml").read_text(), name
            assert "agri" in (copy / name / "utils.py").read_text()
    utils = copy / "agri" / "utils.py"
    utils.write_text(utils.read_text() + "\n# a scorer change\n")
    after = {name: load_suite(name, copy).content_hash for name in SHIPPED}
    assert all(before[n] != after[n] for n in SHIPPED), (before, after)
