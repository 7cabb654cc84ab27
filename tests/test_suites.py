"""The finance, medical, knowledge and general suites: generators, validation, lm-eval, and the
classification kind end to end (macro-F1 into the leaderboard).

Budget on 2 cores: the data checks take a few seconds; `lm_eval validate` ~15 s; plain lm-eval
on every new task (--limit 2, embedded model) ~40 s; one reduced `harness run` ~60 s.
"""

from __future__ import annotations

import os

os.environ["HF_DATASETS_OFFLINE"] = "1"
os.environ["HF_HUB_OFFLINE"] = "1"

import json
import random
import runpy
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path
from types import ModuleType
from typing import Any

import pandas as pd
import pytest

from harness.errors import HarnessError
from harness.suites import finance, gen, general, knowledge, load_suite, medical, normalize_text, render_train_example
from harness.suites.writer import ManifestTask
from tests.conftest import harness, run_folders

REPO = Path(__file__).resolve().parents[1]
TASKS = REPO / "tasks"
GENERATORS: dict[str, ModuleType] = {"finance": finance, "medical": medical, "knowledge": knowledge, "general": general}
# (docs, train rows, {task: rows})
SIZES = {
    "finance": (60, 216, {"finance_qa": 60, "finance_cls": 48}),
    "medical": (24, 240, {"medical_mc": 48, "medical_update": 36}),
    "knowledge": (20, 160, {"knowledge_mem": 80, "knowledge_gen": 60}),
    "general": (6, 32, {"general_qa": 48, "general_mc": 48}),
}
NEW_TASKS = [t for _, _, tasks in SIZES.values() for t in tasks]


def _rows(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _says(text: str, phrase: str) -> bool:
    """``phrase`` occurs in ``text`` as whole words, after normalisation."""
    return f" {normalize_text(phrase)} " in f" {normalize_text(text)} "


def _utils(suite: str) -> dict[str, Any]:
    return runpy.run_path(str(TASKS / suite / "utils.py"))


# ----------------------------------------------------------------------------- generators


@pytest.mark.parametrize("name", sorted(GENERATORS))
def test_generator_is_deterministic_and_matches_committed_files(name: str, tmp_path: Path) -> None:
    module = GENERATORS[name]
    files = module.generate()
    assert files == module.generate()
    assert sorted(files) == sorted(module.GENERATED_FILES)
    gen.write_files(tmp_path, files)
    for file in module.GENERATED_FILES:
        assert (tmp_path / file).read_bytes() == (TASKS / name / file).read_bytes(), (
            f"tasks/{name}/{file} is stale: run `python -m harness.suites.{name}`"
        )


@pytest.mark.parametrize("name", sorted(GENERATORS))
def test_suite_loads_with_its_sizes_and_no_leakage(name: str) -> None:
    suite = load_suite(name, TASKS)  # validates ids, gold ids, label sets and leakage
    docs, train, tasks = SIZES[name]
    assert (suite.name, len(suite.corpus), len(suite.train)) == (name, docs, train)
    assert {t.name: len(t.rows) for t in suite.tasks} == tasks
    assert docs <= 60 and train <= 240 and max(tasks.values()) <= 120  # small: CI embeds and evaluates them
    trained = {normalize_text(r["question"]) for r in suite.train}
    for task in suite.tasks:
        assert not [r for r in task.rows if normalize_text(r["question"]) in trained]
        assert all(r["gold_ids"] for r in task.rows)
    # with an empty context the eval prompt is the training prompt
    assert render_train_example(suite, {"question": "Q?", "answer": "A"}) == ("Question: Q?\nAnswer:", " A")


@pytest.mark.parametrize("name", sorted(GENERATORS))
def test_gold_documents_state_the_answer(name: str) -> None:
    suite = load_suite(name, TASKS)
    text = {d["id"]: d["text"] for d in suite.corpus}
    for task in suite.tasks:
        if task.kind == "classification":
            continue  # a label names the kind of event, the document describes it
        for row in task.rows:
            answer = row["answer"] if task.kind == "open_qa" else row["choices"][row["label"]]
            assert any(_says(text[g], answer) for g in row["gold_ids"]), row["id"]


# ----------------------------------------------------------------------------- suite specifics


# finance specifics (classification redesign, candidates): tests/test_finance_suite.py


def test_medical_update_has_a_superseded_answer_in_training_only() -> None:
    suite = load_suite("medical", TASKS)
    docs = {d["id"]: d["text"] for d in suite.corpus}
    train = Counter(r.get("knowledge") for r in suite.train)
    assert train == {None: 96, "superseded": 72, "current": 72}
    stale_answers = {(r["fact_id"], r["answer"]) for r in suite.train if r.get("knowledge") == "superseded"}
    for row in suite.task("medical_update").rows:
        old, new = row["choices"][row["stale_label"]], row["choices"][row["label"]]
        assert old != new and row["stale_label"] != row["label"]
        assert any(fid == row["fact_id"] and old in answer for fid, answer in stale_answers)
        assert _says(docs[row["gold_ids"][0]], new) and not _says(docs[row["gold_ids"][0]], old)
    assert Counter(r["label"] for r in suite.task("medical_mc").rows) == {0: 12, 1: 12, 2: 12, 3: 12}


def test_knowledge_splits_memorization_from_generalization() -> None:
    suite = load_suite("knowledge", TASKS)
    family = {normalize_text(t) for ts in knowledge.TRAIN_TEMPLATES.values() for t in ts}
    shapes = {t: normalize_text(t) for ts in knowledge.TRAIN_TEMPLATES.values() for t in ts}
    mem = suite.task("knowledge_mem").rows
    assert {r["type"] for r in mem} == {"memorization"} and len(shapes) == len(family)
    gen_rows = suite.task("knowledge_gen").rows
    assert Counter(r["type"] for r in gen_rows) == {"paraphrase": 40, "reverse": 10, "composed": 10}
    assert all(len(r["gold_ids"]) == 2 for r in gen_rows if r["type"] == "composed")
    # memorization questions are the held-out member of the training family: every fact was
    # trained on the other two, never on this one
    asked = {(r["fact_id"], normalize_text(r["question"])) for r in suite.train}
    assert all((r["fact_id"], normalize_text(r["question"])) not in asked for r in mem)
    assert Counter(r["fact_id"] for r in suite.train) == Counter({r["fact_id"]: 2 for r in mem})


def test_general_trains_on_facts_it_never_asks() -> None:
    suite = load_suite("general", TASKS)
    trained = {r["fact_id"] for r in suite.train}
    for task in suite.tasks:
        assert not trained & {r["fact_id"] for r in task.rows}


# ----------------------------------------------------------------------------- classification


def test_macro_f1_matches_scikit_learn() -> None:
    from sklearn.metrics import f1_score

    macro_f1 = _utils("finance")["macro_f1"]
    rng = random.Random(0)
    for _ in range(20):
        pairs = [(rng.randrange(4), rng.randrange(4)) for _ in range(rng.randrange(1, 30))]
        gold, pred = zip(*pairs, strict=True)
        assert macro_f1(pairs) == pytest.approx(f1_score(gold, pred, average="macro", zero_division=0))
    assert macro_f1([(0, 0), (1, 1)]) == 1.0 and macro_f1([(0, 1), (1, 0)]) == 0.0


def test_process_cls_picks_the_most_likely_label() -> None:
    utils = _utils("finance")
    doc = {"label": "dividend", "choices": list(finance.LABELS)}
    results = [(-5.0, False), (-1.0, True), (-3.0, False), (-9.0, False), (-4.0, False), (-2.0, False)]
    assert utils["process_cls"](doc, results) == {"acc": 1.0, "macro_f1": (1, 1)}
    assert utils["process_cls"](doc, results[::-1])["acc"] == 0.0


def _write(path: Path, rows: list[dict[str, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))


@pytest.fixture
def tiny_cls(tmp_path: Path) -> Path:
    """A minimal valid suite with one classification task, to break one thing at a time."""
    root = tmp_path / "tiny"
    root.mkdir()
    spec = gen.suite_yaml("tiny", "Tiny.", [ManifestTask("finance_cls", "eval/cls.jsonl", "classification",
                                                         "macro_f1", ("up", "down"))])
    (root / "suite.yaml").write_text(spec)
    shutil.copy(TASKS / "finance" / "finance_cls.yaml", root / "finance_cls.yaml")
    shutil.copy(TASKS / "finance" / "utils.py", root / "utils.py")
    _write(root / "corpus.jsonl", [{"id": "d1", "text": "Alpha rose."}, {"id": "d2", "text": "Beta fell."}])
    _write(root / "train.jsonl", [{"id": "t1", "question": "Did alpha rise?", "answer": "up", "doc_id": "d1"}])
    _write(root / "eval/cls.jsonl", [
        {"id": "c1", "question": "Alpha moved how?", "label": "up", "gold_ids": ["d1"], "context": ""},
        {"id": "c2", "question": "Beta moved how?", "label": "down", "gold_ids": ["d2"], "context": ""},
    ])
    return root


def _edit_row(path: Path, line: int, **changes: Any) -> None:
    rows = _rows(path)
    rows[line - 1].update(changes)
    _write(path, rows)


def _edit_spec(root: Path, old: str, new: str) -> None:
    text = (root / "suite.yaml").read_text()
    assert old in text
    (root / "suite.yaml").write_text(text.replace(old, new))


CLS_BREAKAGES = {
    "label not in set": (lambda r: _edit_row(r / "eval/cls.jsonl", 2, label="sideways"),
                         r"cls\.jsonl line 2: field 'label' is 'sideways', which is not in the task's label set \(up, down\)"),
    "label not a string": (lambda r: _edit_row(r / "eval/cls.jsonl", 1, label=0),
                           r"cls\.jsonl line 1: field 'label' must be a string"),
    "choices in row": (lambda r: _edit_row(r / "eval/cls.jsonl", 1, choices=["up", "down"]),
                       r"cls\.jsonl line 1: field 'choices' is not allowed"),
    "no label set": (lambda r: _edit_spec(r, "    labels: [up, down]\n", ""),
                     r"suite\.yaml line \d+: missing required field 'tasks\[0\]\.labels'"),
    "one label": (lambda r: _edit_spec(r, "[up, down]", "[up]"),
                  r"suite\.yaml line 17: field 'tasks\[0\]\.labels' needs at least 2 distinct labels"),
    "repeated label": (lambda r: _edit_spec(r, "[up, down]", "[up, up]"),
                       r"suite\.yaml line 17: field 'tasks\[0\]\.labels' needs at least 2 distinct"),
    "empty label": (lambda r: _edit_spec(r, "[up, down]", "[up, '']"),
                    r"suite\.yaml line 17: field 'tasks\[0\]\.labels\[1\]' must be a non-empty string"),
    "labels on another kind": (lambda r: _edit_spec(r, "kind: classification", "kind: open_qa"),
                               r"suite\.yaml line 17: field 'tasks\[0\]\.labels' only applies to kind classification"),
}


def test_tiny_classification_suite_is_valid(tiny_cls: Path) -> None:
    suite = load_suite(str(tiny_cls), tiny_cls.parent)
    assert suite.tasks[0].labels == ("up", "down") and suite.tasks[0].kind == "classification"


@pytest.mark.parametrize("case", sorted(CLS_BREAKAGES))
def test_classification_errors_name_file_line_and_field(tiny_cls: Path, case: str) -> None:
    breaks, message = CLS_BREAKAGES[case]
    breaks(tiny_cls)
    with pytest.raises(HarnessError, match=message):
        load_suite(str(tiny_cls), tiny_cls.parent)


# ----------------------------------------------------------------------------- lm-eval

ENV = {**os.environ, "HF_DATASETS_OFFLINE": "1", "HF_HUB_OFFLINE": "1"}


def test_lm_eval_validate_accepts_the_tasks() -> None:
    tasks = ",".join([*NEW_TASKS, *SIZES])
    cmd = [sys.executable, "-m", "lm_eval", "validate", "--tasks", tasks, "--include_path", str(TASKS)]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=ENV, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "All tasks found and valid" in proc.stdout and "not found" not in proc.stdout


def test_tasks_load_through_lm_eval() -> None:
    from lm_eval.tasks import TaskManager

    loaded = TaskManager(include_path=str(TASKS), include_defaults=False).load(list(SIZES))
    for name, (_, _, tasks) in SIZES.items():
        assert loaded["group_map"][name] == list(tasks)
        for task_name, n in tasks.items():
            assert len(list(loaded["tasks"][task_name].test_docs())) == n
    cls = loaded["tasks"]["finance_cls"]
    doc = next(iter(cls.test_docs()))
    assert cls.doc_to_choice(doc) == list(finance.LABELS) and cls.doc_to_target(doc) == doc["label"]


def test_plain_lm_eval_runs_every_new_task(smollm2: Any, tmp_path: Path) -> None:
    """`lm_eval --include_path tasks/ --tasks <task> --limit 2` with the embedded model, every new
    task in one process (one model load); short generations keep it quick."""
    out = tmp_path / "lm_eval"
    cmd = [sys.executable, "-m", "lm_eval", "--model", "hf", "--model_args", f"pretrained={smollm2.path}",
           "--tasks", ",".join(NEW_TASKS), "--limit", "2", "--gen_kwargs", "max_gen_toks=4",
           "--output_path", str(out), "--seed", "0", "--include_path", str(TASKS)]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=ENV, timeout=600, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-4000:]
    results = json.loads(next(out.rglob("results_*.json")).read_text())["results"]
    expected = {t: "contains,none" for t in NEW_TASKS} | {
        "finance_cls": "macro_f1,none", "medical_mc": "acc,none", "medical_update": "acc,none",
        "general_mc": "acc,none",
    }
    for task, key in expected.items():
        assert 0.0 <= results[task][key] <= 1.0, (task, results[task])
    assert 0.0 <= results["medical_update"]["stale,none"] <= 1.0


# ----------------------------------------------------------------------------- end to end


def test_classification_metric_reaches_the_leaderboard(smollm2: Any, session_cache: Path, tmp_path: Path) -> None:
    """Closed-book base and base+RAG only (no fine-tuning) on a 5-document finance subset (one
    company: its filing and its four releases); the experiment retrieves with BM25."""
    results = tmp_path / "results"
    args = ["run", "+exp=finance", "suite.n_docs=5", "eval.limit=3", f"results_dir={results}",
            "conditions=[{adaptation: base, rag: false},{adaptation: base, rag: true}]"]
    proc = harness(*args, cache=session_cache, env={"HF_DATASETS_OFFLINE": "1", "HF_HUB_OFFLINE": "1"}, timeout=900)
    assert proc.returncode == 0, proc.stderr[-4000:]
    (run_dir,) = run_folders(results / "finance")
    board = pd.read_csv(run_dir / "leaderboard.csv", index_col="condition")
    assert list(board.index) == ["base", "base+bm25"]
    for col in ("finance_cls/macro_f1", "finance_qa/correct"):
        assert board[col].between(0, 1).all(), board[col]
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["primary"] == {"finance_qa": "correct", "finance_cls": "macro_f1"}
    for condition in ("base", "base+bm25"):
        cls = metrics["conditions"][condition]["finance_cls"]
        assert cls["macro_f1"] == board.loc[condition, "finance_cls/macro_f1"] and "acc" in cls
    # macro-F1 is not per-question, but its [gold, pred] records give a bootstrap CI and a paired
    # test whose interval and p agree (the reference row has none)
    row = board.loc["base+bm25"]
    assert row["finance_cls/macro_f1_ci_low"] <= row["finance_cls/macro_f1"] <= row["finance_cls/macro_f1_ci_high"]
    low, high, p = (row[f"finance_cls/macro_f1_delta_{s}"] for s in ("ci_low", "ci_high", "p_holm"))
    assert 0 <= p <= 1 and (low > 0 or high < 0) == (p < 0.05)
    assert pd.isna(board.loc["base", "finance_cls/macro_f1_delta_p"])
    assert "finance_cls/macro_f1" in (run_dir / "leaderboard.md").read_text()
    assert "finance_cls/macro_f1" in proc.stdout
