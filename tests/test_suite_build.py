"""build-suite: your documents + your Q&A file (CSV or JSONL) → a suite every verb accepts.

Errors must name the Q&A file's line and field. The built tasks are loaded through lm-eval's
TaskManager (no model), so the YAML, the loaders and the label set are known to work.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.errors import HarnessError
from harness.suites import load_suite
from harness.suites.build import build_suite
from tests.conftest import harness

HEADER = "question,answer,split,gold_id,choices,label\n"
ROWS = [
    "When is maize sown on the Orvan Flats?,late April,train,maize.md,,",  # line 2
    "How often is Orvan maize irrigated in dry spells?,every 9 days,train,maize.md,,",  # 3
    "When do Orvan Flats farmers plant their maize?,late April,eval,maize.md,,",  # 4
    "What controls the ash weevil?,,eval,maize.md,neem oil|copper|lime|sulphur,A",  # 5
    "When is Selk Delta rice transplanted?,early June,eval,rice.txt,,",  # 6
    "Topic of: the ash weevil attacks maize,,eval,maize.md,,pest",  # 7
    "Topic of: rice goes in in June,,test,rice.txt,,date",  # 8
    'Which dye plant grows on the Kest moor?,"woad, mostly",eval,notes.jsonl-is-not-an-id|kest-1,,',  # 9
]


@pytest.fixture()
def docs(tmp_path: Path) -> Path:
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "maize.md").write_text("# Maize on the Orvan Flats\n\nSow maize in late April. Irrigate every 9 days "
                                     "in dry spells. Treat the ash weevil with neem oil.\n")
    (folder / "rice.txt").write_text("Rice in the Selk Delta is transplanted in early June.\n")
    (folder / "notes.jsonl").write_text(json.dumps({"id": "kest-1", "title": "Kest moor", "text": "Woad grows on "
                                                    "the Kest moor, mostly on the south slopes."}) + "\n")
    return folder


def _csv(tmp_path: Path, rows: list[str]) -> Path:
    path = tmp_path / "qa.csv"
    path.write_text(HEADER + "\n".join(rows) + "\n")
    return path


def test_csv_with_every_kind_builds_a_suite_lm_eval_loads(docs: Path, tmp_path: Path) -> None:
    rows = ROWS[:-1] + ['Which dye plant grows on the Kest moor?,"woad, mostly",eval,kest-1,,']
    suite = build_suite(docs, _csv(tmp_path, rows), tmp_path / "tasks" / "orvan")
    again = load_suite(tmp_path / "tasks" / "orvan", tmp_path / "tasks")
    assert again.content_hash == suite.content_hash and suite.name == "orvan"
    assert sorted(d["id"] for d in suite.corpus) == ["kest-1", "maize.md", "rice.txt"]  # ingest ids
    assert [r["id"] for r in suite.train] == ["orvan-train-L00002", "orvan-train-L00003"]
    assert suite.train[0]["doc_id"] == "maize.md"
    by_name = {t.name: t for t in suite.tasks}
    assert {n: (t.kind, t.primary_metric, len(t.rows)) for n, t in by_name.items()} == {
        "orvan_qa": ("open_qa", "correct", 3), "orvan_mc": ("multiple_choice", "acc", 1),
        "orvan_cls": ("classification", "macro_f1", 2)}
    assert by_name["orvan_qa"].rows[2] == {"id": "orvan-qa-L00009", "question": "Which dye plant grows on the Kest moor?",
                                           "answer": "woad, mostly", "aliases": [], "gold_ids": ["kest-1"],
                                           "context": ""}
    assert by_name["orvan_mc"].rows[0]["label"] == 0 and by_name["orvan_cls"].labels == ("pest", "date")

    from lm_eval.tasks import TaskManager

    loaded = TaskManager(include_path=str(tmp_path / "tasks"), include_defaults=False).load(list(by_name))["tasks"]
    assert len(list(loaded["orvan_qa"].test_docs())) == 3
    mc = next(iter(loaded["orvan_mc"].test_docs()))
    assert loaded["orvan_mc"].doc_to_choice(mc)[0] == "neem oil"
    cls = next(iter(loaded["orvan_cls"].test_docs()))
    assert loaded["orvan_cls"].doc_to_choice(cls) == ["pest", "date"]
    assert loaded["orvan_cls"].doc_to_target(cls) == "pest"


def test_jsonl_questions_with_lists_and_a_declared_label_set(docs: Path, tmp_path: Path) -> None:
    qa = tmp_path / "qa.jsonl"
    qa.write_text("\n".join(json.dumps(r) for r in [
        {"id": "t1", "question": "When is maize sown on the Orvan Flats?", "answer": "late April", "split": "train"},
        {"id": "q1", "question": "Planting month for Orvan maize?", "answer": "April", "aliases": ["late April"],
         "gold_ids": ["maize.md"]},
        {"id": "m1", "question": "Pest of Orvan maize?", "choices": ["ash weevil", "locust"], "label": "ash weevil",
         "gold_ids": ["maize.md"]},
        {"id": "c1", "question": "Topic: weevils", "label": "pest", "gold_ids": []},
    ]) + "\n")
    suite = build_suite(docs, qa, tmp_path / "out", name="My Farm", labels=["pest", "date", "price"])
    assert suite.name == "my_farm"
    assert suite.task("my_farm_qa").rows[0]["aliases"] == ["late April"]
    assert suite.task("my_farm_mc").rows[0]["label"] == 0
    assert suite.task("my_farm_cls").labels == ("pest", "date", "price")


@pytest.mark.parametrize(("line", "row", "message"), [
    (4, "When do Orvan Flats farmers plant their maize?,,eval,maize.md,,", "line 4: missing required field 'answer'"),
    (7, "Topic of: the ash weevil attacks maize,,eval,maize.md,,weather",
     "line 7: field 'label' is 'weather', an unknown label"),
    (6, "When is Selk Delta rice transplanted?,early June,eval,rice.md,,",
     "line 6: field 'gold_ids' names 'rice.md', which is not a corpus document id"),
    (4, "When is maize sown on the Orvan Flats?,late April,eval,maize.md,,",
     "line 4: field 'question' leaks: it equals the question on"),
    (5, "What controls the ash weevil?,,eval,maize.md,neem oil|copper,E", "line 5: field 'label' is 'E'"),
    (6, "When is Selk Delta rice transplanted?,early June,holdout,rice.txt,,", "line 6: field 'split' is 'holdout'"),
])
def test_errors_name_the_qa_files_line_and_field(docs: Path, tmp_path: Path, line: int, row: str,
                                                 message: str) -> None:
    rows = list(ROWS[:-1])
    rows[line - 2] = row
    with pytest.raises(HarnessError, match="qa.csv " + message.replace("(", r"\(").replace(")", r"\)")):
        build_suite(docs, _csv(tmp_path, rows), tmp_path / "out", labels=["pest", "date"])
    assert not (tmp_path / "out").exists() and not (tmp_path / ".out.tmp").exists()


def test_duplicate_ids_and_overwrites(docs: Path, tmp_path: Path) -> None:
    qa = tmp_path / "qa.jsonl"
    rows = [{"id": "a", "question": "When is maize sown?", "answer": "late April", "split": "train"},
            {"id": "a", "question": "When do farmers sow maize?", "answer": "late April"}]
    qa.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    with pytest.raises(HarnessError, match=r"qa.jsonl line 2: duplicate id 'a' \(first on line 1\)"):
        build_suite(docs, qa, tmp_path / "out")
    rows[1]["id"] = "b"
    qa.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    build_suite(docs, qa, tmp_path / "out")
    with pytest.raises(HarnessError, match="already exists"):
        build_suite(docs, qa, tmp_path / "out")
    build_suite(docs, qa, tmp_path / "out", overwrite=True)
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "suite.yaml").write_text("name: hand-made\n")
    with pytest.raises(HarnessError, match="not written by build-suite"):
        build_suite(docs, qa, tmp_path / "mine", overwrite=True)
    with pytest.raises(HarnessError, match="inside the documents folder"):
        build_suite(docs, qa, docs / "suite")


def test_suite_build_verb(docs: Path, tmp_path: Path) -> None:
    qa = _csv(tmp_path, ROWS[:-1])
    proc = harness("suite", "build", docs, qa, "--out", tmp_path / "cli", timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "wrote suite 'cli'" in proc.stdout and "suite.path=" in proc.stdout
    bad = _csv(tmp_path, ROWS)  # line 9 names a gold id that is no document id
    proc = harness("suite", "build", docs, bad, "--out", tmp_path / "cli2", timeout=120)
    assert proc.returncode == 2
    assert "qa.csv line 9: field 'gold_ids' names 'notes.jsonl-is-not-an-id'" in proc.stderr
    assert "'kest-1'" in proc.stderr  # the hint shows what corpus ids look like


def test_own_suite_runs_without_borrowing_an_experiment(docs: Path, tmp_path: Path, session_cache: Path,
                                                        smollm2) -> None:
    """build-suite, then `run suite.path=<it>` with no +exp: the standard grid on that suite,
    named after it — results/<suite name>/, never results/agri/ (issue #21)."""
    qa = _csv(tmp_path, ROWS[:-1])
    proc = harness("build-suite", docs, qa, "--out", tmp_path / "orvan" / "suite", timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "suite 'orvan'" in proc.stdout and "python -m harness run suite.path=" in proc.stdout
    results = tmp_path / "results"
    proc = harness("run", f"suite.path={tmp_path / 'orvan' / 'suite'}", f"results_dir={results}", "eval.limit=2",
                   "conditions=[{adaptation: base, rag: false}, {adaptation: base, rag: true}]",
                   "history_db=", cache=session_cache, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    (run,) = [p for p in (results / "orvan").iterdir() if not p.name.startswith(".")]
    assert (run / "leaderboard.md").is_file() and not (results / "agri").exists()
    assert "== decision ==" in proc.stdout and "open the report:" in proc.stdout
    assert len(proc.stdout.strip().splitlines()) <= 25, proc.stdout  # the end summary fits on one screen
