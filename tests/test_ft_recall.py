"""Training-set recall (issue #16): the definition of "recalled", the seeded sample, the interval,
the manifest block and the lines (and warning) under the Decision. No model: plain data in.

The model half — the adapter asked its own questions through the eval backend — runs in the
one slow tuning test (tests/test_tune.py)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from harness import decision
from harness.decision import arms
from harness.finetune.recall import estimate, fact_keys, is_recalled, recall_sample
from harness.records import RunFolder
from harness.report import manifest
from harness.scoring.stats import wilson
from harness.suites import Suite, SuiteTask

TRAIN = [
    {"id": "t1", "question": "When is maize sown in Velmora?", "answer": "In Velmora, sow maize in mid-October.",
     "doc_id": "d1", "fact_id": "f1"},
    {"id": "t2", "question": "Which maize variety suits Velmora?", "answer": "The maize variety for Velmora is Lusk-9.",
     "doc_id": "d1", "fact_id": "f2"},
    {"id": "t3", "question": "What pest troubles maize in Velmora?", "answer": "Maize in Velmora suffers from stem borer.",
     "doc_id": "d1", "fact_id": "f3"},
]


def _suite() -> Suite:
    qa = SuiteTask("t_qa", Path("qa.yaml"), Path("qa.jsonl"), "open_qa", "contains",
                   [{"id": "q1", "question": "?", "answer": "mid-October", "aliases": ["middle of October"],
                     "fact_id": "f1", "gold_ids": ["d1"]}])
    mc = SuiteTask("t_mc", Path("mc.yaml"), Path("mc.jsonl"), "multiple_choice", "acc",
                   [{"id": "m1", "question": "?", "choices": ["Brell-2", "Lusk-9"], "label": 1, "fact_id": "f2",
                     "gold_ids": ["d1"]}])
    return Suite("tiny", "1", Path("."), [{"id": "d1", "title": "Velmora", "text": "..."}], TRAIN,
                 {"prompt": "Question: {question}\nAnswer:", "completion": " {answer}"}, [qa, mc], "hash")


def test_key_values_come_from_the_eval_rows_of_the_same_fact():
    keys = fact_keys(_suite())
    assert keys == {"f1": ["mid october", "middle of october"], "f2": ["lusk 9"]}


@pytest.mark.parametrize("completion, row, expected", [
    ("Sow it in mid-October.", 0, True),             # the short answer, normalised (hyphen, case)
    ("In the middle of October", 0, True),           # an alias
    ("In mid-November.", 0, False),
    ("Sow in mid-Octobers", 0, False),               # whole words only
    ("Lusk-9 is recommended.", 1, True),             # a multiple-choice row's correct choice
    ("Brell-2.", 1, False),
    ("Maize in Velmora suffers from stem borer!", 2, True),  # no eval row: the whole training answer
    ("Stem borer.", 2, False),
])
def test_recalled_means_the_completion_contains_a_key_value(completion, row, expected):
    assert is_recalled(completion, TRAIN[row], fact_keys(_suite())) is expected


def test_the_sample_is_seeded_capped_and_in_file_order():
    rows = [{"id": f"r{i}", "question": "q", "answer": "a"} for i in range(200)]
    first = recall_sample(rows, 60, seed=1234)
    assert len(first) == 60 and first == recall_sample(rows, 60, seed=1234)
    assert first != recall_sample(rows, 60, seed=1)
    assert [int(r["id"][1:]) for r in first] == sorted(int(r["id"][1:]) for r in first)
    assert recall_sample(rows[:5], 60, seed=1234) == rows[:5]  # fewer rows than n: all of them


def test_estimate_is_the_share_with_its_wilson_interval():
    got = estimate([True] * 25 + [False] * 35, warn_below=0.9)
    assert (got.n, got.correct) == (60, 25) and got.recall == pytest.approx(25 / 60)
    assert (got.low, got.high) == pytest.approx(wilson(25, 60))
    assert got.under_trained
    assert not estimate([True] * 57 + [False] * 3, warn_below=0.9).under_trained  # 0.95
    assert estimate([True] * 9 + [False], warn_below=0.95).under_trained
    record = got.to_json()
    assert set(record) >= {"n", "recall", "ci_low", "ci_high", "warn_below", "definition"}


def _block(recall: float, n: int = 60, warn_below: float = 0.9, seeds: tuple[str, ...] = ("0",)) -> dict:
    made = estimate([True] * round(recall * n) + [False] * (n - round(recall * n)), warn_below).to_json()
    return {"training_recall": {"ft": {s: made for s in seeds}}}


def test_the_recall_line_and_the_warning_below_the_threshold():
    low = arms.recall_lines(_block(0.42))
    assert low[0].startswith("FT training-set recall 0.42 [0.30, 0.54] (n=60)")
    assert arms.WARNING == "FT did not learn its training set; its row measures under-training"
    assert arms.WARNING in low[1] and "below 0.9" in low[1] and "finetune.recall.warn_below" in low[1]
    assert len(arms.recall_lines(_block(0.95))) == 1  # learned: no warning
    assert "below 0.99" in arms.recall_lines(_block(0.95, warn_below=0.99))[1]  # the threshold is the config's
    several = arms.recall_lines(_block(0.5, seeds=("0", "1")))
    assert "seed 0 0.50" in several[0] and "seed 1 0.50" in several[0]
    assert arms.recall_lines(None) == [] and arms.recall_lines({}) == []


def _run_with_arms(folder: Path, block: dict | None) -> Path:
    """A tiny run folder (one 0/1 task, base / base+dense / ft) whose manifest holds ``block``."""
    run = RunFolder(folder)
    folder.mkdir(parents=True)
    answers = {"base": [0.0] * 30 + [1.0] * 10, "base+dense": [1.0] * 30 + [0.0] * 10, "ft": [1.0] * 12 + [0.0] * 28}
    run.write_metrics({"conditions": {c: {"t_qa": {"contains": float(np.mean(v))}} for c, v in answers.items()},
                       "primary": {"t_qa": "contains"}, "reference": "base",
                       "extra": {"cost": {c: {"seconds_per_sample": 0.1, "finetune_s": 60.0 if c == "ft" else 0.0}
                                          for c in answers}}})
    specs = [{"name": c, "adaptation": "ft" if c == "ft" else "base", "rag": "+" in c} for c in answers]
    run.write_manifest({"spec": {"conditions": specs}, "timings_s": {"finetune": 60.0, "retrieval": 1.0},
                        "hardware": {"cuda": False}} | ({"arms": block} if block else {}))
    for condition, scores in answers.items():
        run.write_samples(condition, "t_qa", [{"id": f"q{i:03d}", "scores": {"contains": s}} for i, s in enumerate(scores)])
    return folder


def test_the_decision_section_carries_the_lines_from_the_manifest(tmp_path: Path):
    made = decision.decide(decision.load_inputs(_run_with_arms(tmp_path / "run", _block(0.42))),
                           decision.cost_settings())
    text = decision.markdown(made)
    assert "FT training-set recall 0.42 [0.30, 0.54] (n=60)" in text and arms.WARNING in text
    assert text.index("FT training-set recall") > text.index("_Quality:")  # under the Decision's table
    assert "FT training-set recall 0.42" in decision.to_html(made)
    assert decision.to_json(made)["other_evidence"]["arms"]["training_recall"]["ft"]["0"]["n"] == 60
    plain = decision.markdown(decision.decide(decision.load_inputs(_run_with_arms(tmp_path / "plain", None)),
                                              decision.cost_settings()))
    assert "training-set recall" not in plain  # runs without the block (the baselines) render as before


def test_manifest_records_the_block_only_when_there_is_one():
    with_arms = manifest.build({"seed": 1}, "h", {}, {}, [], arms=_block(0.5))
    assert with_arms["arms"]["training_recall"]["ft"]["0"]["recall"] == 0.5
    assert "arms" not in manifest.build({"seed": 1}, "h", {}, {}, [])
    json.dumps(with_arms)  # plain JSON
