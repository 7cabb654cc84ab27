"""Knowledge churn (issue #18): the derived suite changes exactly round(k·n) facts and nothing
else, never keeps an old value as gold, leaks no changed fact's eval question into training,
and a stale model's old answers are counted as stale. Fast tests read the shipped suites (no
model); one slow test runs a tiny ``+exp=agri_churn`` end to end."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from harness.churn.derive import CHANGED, UNCHANGED, changeable_facts, churn_suite
from harness.churn.measure import measure, suite_scorer
from harness.churn.settings import ChurnSettings
from harness.errors import HarnessError
from harness.jsonl import write_jsonl
from harness.suites import load_suite, normalize_text, subset_suite
from tests.conftest import REPO, harness, run_folders

TASKS = REPO / "tasks"
CHURNABLE = ("agri", "finance", "knowledge")  # shipped suites with changeable open-QA facts


def _suite(name: str):
    return load_suite(name, tasks_root=TASKS)


def _rows(suite) -> dict[str, dict[str, Any]]:
    return {f"{t.name}/{r['id']}": r for t in suite.tasks for r in t.rows}


@pytest.mark.parametrize("name", CHURNABLE)
@pytest.mark.parametrize("fraction", [0.05, 0.2, 0.5])
def test_exactly_round_k_n_facts_change_and_nothing_else(name: str, fraction: float) -> None:
    suite = _suite(name)
    churned = churn_suite(suite, fraction, seed=0)
    n = len(changeable_facts(suite))
    assert churned.n_facts == n > 0 and len(churned.changes) == round(fraction * n)
    changed_facts = {c.fact_id for c in churned.changes}
    assert len(changed_facts) == len(churned.changes)
    before = {f"{t.name}/{r['id']}": r for t in suite.tasks if t.kind == "open_qa" for r in t.rows}
    after = _rows(churned.suite)
    assert set(after) == set(before)  # the same questions, open-QA tasks only
    for key, row in after.items():
        moved = row["answer"] != before[key]["answer"]
        assert moved == (row["churn"] == CHANGED), key
        assert row["question"] == before[key]["question"]  # held-out paraphrases stay as they were
        if row["churn"] == UNCHANGED:
            assert {k: v for k, v in row.items() if k not in ("churn", "stale_answer", "stale_aliases")} == before[key]
    edited_docs = {d["id"] for d, old in zip(churned.suite.corpus, suite.corpus, strict=True) if d != old}
    assert edited_docs == set(churned.changed_docs)
    edited_train = {r["fact_id"] for r, old in zip(churned.suite.train, suite.train, strict=True) if r != old}
    assert edited_train == changed_facts


@pytest.mark.parametrize("name", CHURNABLE)
def test_an_old_value_is_never_gold_and_the_documents_state_the_new_one(name: str) -> None:
    suite = _suite(name)
    churned = churn_suite(suite, 0.5, seed=3)
    docs = {d["id"]: d["text"] for d in churned.suite.corpus}
    old_docs = {d["id"]: d["text"] for d in suite.corpus}
    by_fact = {c.fact_id: c for c in churned.changes}
    for row in _rows(churned.suite).values():
        change = by_fact.get(row["fact_id"])
        if row["churn"] != CHANGED:
            continue
        assert row["answer"] == change.new != change.old == row["stale_answer"]
        assert change.old not in [row["answer"], *row["aliases"]]
        assert change.old in row["candidates"] and change.new not in row["candidates"]  # asserting both scores 0
        gold = " ".join(docs[g] for g in row["gold_ids"])
        before = " ".join(old_docs[g] for g in row["gold_ids"])
        assert change.new in gold and gold.count(change.old) == before.count(change.old) - 1
    for row in churned.suite.train:
        change = by_fact.get(row.get("fact_id"))
        if change is not None:
            assert change.new in row["answer"] and change.old not in row["answer"]


@pytest.mark.parametrize("name", CHURNABLE)
def test_no_eval_question_of_a_changed_fact_is_in_any_training_set(name: str) -> None:
    churned = churn_suite(_suite(name), 0.5, seed=0)
    trained = {normalize_text(r["question"]) for r in churned.suite.train}
    asked = [normalize_text(r["question"]) for r in _rows(churned.suite).values() if r["churn"] == CHANGED]
    assert asked and not [q for q in asked if q in trained]


def test_the_draw_is_seeded_and_a_subset_churns_its_own_facts() -> None:
    suite = subset_suite(_suite("agri"), 10)
    one, again, other = churn_suite(suite, 0.2, 0), churn_suite(suite, 0.2, 0), churn_suite(suite, 0.2, 1)
    assert one.changes == again.changes and one.suite.content_hash == again.suite.content_hash
    assert one.changes != other.changes and one.suite.content_hash != other.suite.content_hash
    assert one.n_facts == 40 and len(one.changes) == 8
    assert one.suite.content_hash != suite.content_hash


def _stale_case(tmp_path: Path) -> tuple[Path, Any]:
    """A churned agri subset and a hand-written run folder: a 'stale' condition answering every
    changed question with the old value, a 'fresh' one with the new value, a 'hedge' with both."""
    churned = churn_suite(subset_suite(_suite("agri"), 3), 0.5, seed=0)
    task = churned.suite.tasks[0]
    score = suite_scorer(task.yaml_path)
    for condition, pick in (("stale", lambda r: r.get("stale_answer") or r["answer"]),
                            ("fresh", lambda r: r["answer"]),
                            ("hedge", lambda r: f"{r['answer']} or {r['stale_answer']}" if r["stale_answer"] else r["answer"])):
        records = []
        for row in task.rows:
            output = f"It is {pick(row)}."
            records.append({"id": row["id"], "output": output, "scores": dict(score(dict(row), [output]))})
        write_jsonl(tmp_path / "samples" / condition / f"{task.name}.jsonl", records)
    return tmp_path, churned


def test_a_stale_models_old_answers_are_counted_stale(tmp_path: Path) -> None:
    run_dir, churned = _stale_case(tmp_path)
    got = measure(run_dir, ["fresh", "stale", "hedge"], churned, rag="fresh")
    n = len(churned.changes)
    stale, fresh, hedge = (got["conditions"][c] for c in ("stale", "fresh", "hedge"))
    assert stale["stale"]["k"] == stale["stale"]["n"] == n and stale["changed"]["k"] == 0
    assert fresh["changed"]["k"] == n and fresh["stale"]["k"] == 0
    assert hedge["changed"]["k"] == 0 and hedge["stale"]["k"] == 0  # both values: neither right nor stale
    assert stale["unchanged"]["k"] == stale["unchanged"]["n"] == fresh["unchanged"]["n"] > 0
    delta = got["vs_rag"]["deltas"]["stale"]
    assert delta["delta"] == -1.0 and delta["p_holm"] < 0.05


def test_what_an_update_costs_the_unchanged_facts_is_a_paired_delta(tmp_path: Path) -> None:
    """A continued adapter that forgot every unchanged fact the stale one knew: -100 pp, significant."""
    churned = churn_suite(subset_suite(_suite("agri"), 3), 0.5, seed=0)
    task = churned.suite.tasks[0]
    for condition, knows_unchanged in (("ft_stale", True), ("ft_continue", False), ("ft_retrain", True)):
        records = [{"id": r["id"], "output": "", "scores": {"correct": float(knows_unchanged and r["churn"] == UNCHANGED)}}
                   for r in task.rows]
        write_jsonl(tmp_path / "samples" / condition / f"{task.name}.jsonl", records)
    kept = measure(tmp_path, ["ft_stale", "ft_retrain", "ft_continue"], churned, rag=None)["retained"]
    assert set(kept) == {"ft_retrain", "ft_continue"} and kept["ft_continue"]["reference"] == "ft_stale"
    assert kept["ft_continue"]["delta"] == -1.0 and kept["ft_continue"]["p_holm"] < 0.05
    assert kept["ft_retrain"]["delta"] == 0.0 and kept["ft_continue"]["n"] == 6


def test_bad_churn_settings_are_one_message_each(tmp_path: Path) -> None:
    for given, says in (({"fraction": 0}, "churn.fraction=0.0"), ({"fraction": [0.2, 1.5]}, "churn.fraction=1.5"),
                        ({"fraction": 0.2, "epochs": 3}, "unknown setting"),
                        ({"fraction": [0.05, 0.2], "priced_fraction": 0.5}, "not one of churn.fraction"),
                        ({"fraction": 0.2, "continue_epochs": 0}, "churn.continue_epochs=0"),
                        ({"fraction": 0.2, "replacements": str(tmp_path / "none.jsonl")}, "no such file")):
        with pytest.raises(HarnessError, match=re.escape(says)):
            ChurnSettings.from_dict(given)
    assert ChurnSettings.from_dict(None) is None
    assert ChurnSettings.from_dict({"fraction": [0.5, 0.05, 0.2]}).priced == 0.2


def test_a_replacement_file_sets_the_new_values(tmp_path: Path) -> None:
    suite = subset_suite(_suite("agri"), 3)
    fact = sorted(changeable_facts(suite))[0]
    path = tmp_path / "new.jsonl"
    write_jsonl(path, [{"fact_id": fact, "value": "late July", "aliases": ["end of July"]}])
    churned = churn_suite(suite, 1.0, seed=0, replacements=path)
    (change,) = churned.changes
    assert (change.fact_id, change.new, change.new_aliases) == (fact, "late July", ("end of July",))
    row = next(r for r in _rows(churned.suite).values() if r["fact_id"] == fact)
    assert row["answer"] == "late July" and row["aliases"] == ["end of July"]
    path.write_text('{"fact_id": "agri-fact-999", "value": "x"}\n')
    with pytest.raises(HarnessError, match="agri-fact-999"):
        churn_suite(suite, 1.0, seed=0, replacements=path)
    path.write_text('{"fact_id": "agri-fact-001"}\n')
    with pytest.raises(HarnessError, match="line 1"):
        churn_suite(suite, 1.0, seed=0, replacements=path)


def test_a_grid_without_a_fine_tuned_arm_refuses_churn(tmp_path: Path) -> None:
    proc = harness("run", "+exp=agri_churn", "conditions=[{adaptation: base, rag: false}]",
                   f"results_dir={tmp_path}", timeout=120)
    assert proc.returncode == 2 and "no condition has adaptation: ft" in proc.stderr, proc.stderr[-2000:]
    assert not (tmp_path / "agri_churn").exists()  # refused before any work: no run folder


@pytest.mark.slow
def test_churn_experiment_runs_end_to_end(session_cache: Path, tmp_path: Path) -> None:
    """Two guides (8 facts), half of them changed, BM25, one epoch: every strategy's row, the
    stale counts, the update times, the leaderboard table, the report's plots and the Decision's
    refresh cost all come from one real run."""
    results = tmp_path / "results"
    proc = harness("run", "+exp=agri_churn", "suite.n_docs=2", "churn.fraction=[0.5]", "retriever=bm25",
                   "retriever.top_k=1", "finetune.epochs=1", "churn.continue_epochs=1", f"results_dir={results}",
                   cache=session_cache, timeout=1500)
    assert proc.returncode == 0, proc.stderr[-4000:]
    (run_dir,) = run_folders(results / "agri_churn")
    document = json.loads((run_dir / "churn.json").read_text())
    (block,) = document["fractions"]
    assert block["n_facts"] == 8 and block["n_changed"] == 4
    assert block["order"] == ["base", "base+bm25", "ft_stale", "ft_stale+bm25", "ft_retrain", "ft_retrain+bm25",
                              "ft_continue", "ft_continue+bm25"]
    for name in block["order"]:
        cells = block["conditions"][name]
        assert cells["changed"]["n"] == cells["stale"]["n"] == 4 and cells["unchanged"]["n"] == 4
    train = block["update_s"]["train"]
    assert train["ft_retrain"] > 0 and train["ft_continue"] > 0 and block["update_s"]["reindex"]["full_s"] > 0
    assert set(block["vs_rag"]["deltas"]) == set(block["order"]) - {"base+bm25"}
    assert set(block["retained"]) == {"ft_retrain", "ft_continue", "ft_retrain+bm25", "ft_continue+bm25"}
    assert block["retained"]["ft_continue+bm25"]["reference"] == "ft_stale+bm25"
    assert (run_dir / "churn" / "k0.50" / "suite" / "changes.jsonl").is_file()
    board = (run_dir / "leaderboard.md").read_text()
    assert "Knowledge churn, k = 0.5: 4 of 8 facts changed" in board and "FT retrained from scratch" in board
    assert "Δ unchanged vs not updated" in board
    page = (run_dir / "report.html").read_text()
    assert "Stale answers on the changed facts" in page
    decision = json.loads((run_dir / "decision.json").read_text())
    assert decision["costs"]["ft"]["refresh_s"] == pytest.approx(train["ft_retrain"])
    assert decision["costs"]["base"]["refresh_s"] == 0.0
