"""The agri suite and the suite loader: determinism, leakage, validation errors, lm-eval loading.

Fast (no model): the slowest test is the `lm_eval validate` subprocess (~10 s on 2 cores).
"""

from __future__ import annotations

import os

os.environ["HF_DATASETS_OFFLINE"] = "1"
os.environ["HF_HUB_OFFLINE"] = "1"

import importlib.util
import json
import random
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from harness.errors import HarnessError
from harness.suites import agri
from harness.suites import load_suite, normalize_text, render_train_example, subset_suite

REPO = Path(__file__).resolve().parents[1]
TASKS = REPO / "tasks"
AGRI = TASKS / "agri"


def _rows(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _utils() -> Any:
    spec = importlib.util.spec_from_file_location("agri_utils", AGRI / "utils.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# ----------------------------------------------------------------------------- generator


def test_regenerating_matches_committed_files(tmp_path: Path) -> None:
    agri.write_suite(tmp_path)
    for name in agri.GENERATED_FILES:
        assert (tmp_path / name).read_bytes() == (AGRI / name).read_bytes(), (
            f"tasks/agri/{name} is stale: run `python -m harness.suites.agri`"
        )


def test_sizes() -> None:
    # 30 asked guides + 12 neighbouring-region guides + 42 seed-catalogue entries
    assert len(_rows(AGRI / "corpus.jsonl")) == 84
    # 2 per asked fact (150), 1 per neighbour fact (60), 2 per region (place ↔ name, 24)
    assert len(_rows(AGRI / "train.jsonl")) == 384
    assert len(_rows(AGRI / "eval/qa.jsonl")) == 150
    assert len(_rows(AGRI / "eval/mc.jsonl")) == 120


def test_no_eval_question_appears_in_train() -> None:
    train = {normalize_text(r["question"]) for r in _rows(AGRI / "train.jsonl")}
    for name in ("eval/qa.jsonl", "eval/mc.jsonl"):
        leaked = [r["question"] for r in _rows(AGRI / name) if normalize_text(r["question"]) in train]
        assert not leaked, f"{name} questions found in train: {leaked[:3]}"


def test_template_sets_are_disjoint() -> None:
    def norm(templates: Any) -> set[str]:
        return {normalize_text(t) for t in templates}

    train = norm(t for ts in agri.TRAIN_TEMPLATES.values() for t in ts)
    qa = norm([*(t for ts in agri.QA_TEMPLATES.values() for t in ts),
               *(t for ts in agri.INDIRECT_TEMPLATES.values() for t in ts), *agri.TWO_DOC_TEMPLATES])
    mc = norm(agri.MC_TEMPLATES.values())
    assert not train & qa and not train & mc and not qa & mc


def test_every_attribute_is_asked_in_at_least_three_phrasings() -> None:
    used: dict[str, set[str]] = {}
    for row in _rows(AGRI / "eval/qa.jsonl"):
        used.setdefault(row["attribute"], set()).add(row["template"])
    assert set(used) == {*agri.PRACTICES, "maturity"}
    assert all(len(templates) >= 3 for templates in used.values()), used


def test_retrieval_difficulty_variants() -> None:
    """Indirect questions never name the region (its description occurs in the gold guide);
    two-document questions need the guide and the catalogue entry; near-duplicate guides exist
    for the same crop in a region of the same name stem."""
    docs = {r["id"]: r for r in _rows(AGRI / "corpus.jsonl")}
    rows = _rows(AGRI / "eval/qa.jsonl")
    assert Counter(r["variant"] for r in rows) == {"direct": 80, "indirect": 40, "two_doc": 30}
    regions = {r.name: r for r in agri.REGIONS}
    for row in rows:
        gold = [docs[g] for g in row["gold_ids"]]
        named = [name for name in regions if name in row["question"]]
        if row["variant"] == "indirect":
            assert not named
            place = next(r for r in regions.values() if r.descriptor and r.descriptor in row["question"])
            assert place.name in gold[0]["text"]
        elif row["variant"] == "two_doc":
            assert len(gold) == 2 and gold[1]["title"].startswith("Seed catalogue")
            variety = gold[1]["title"].removeprefix("Seed catalogue: ")
            assert variety in gold[0]["text"] and row["answer"] in gold[1]["text"] and variety not in row["question"]
        else:
            assert len(named) == 1
    guides = [d["title"].split(": ")[0] for d in docs.values() if d["title"].endswith("extension guide")]
    stems = Counter((t.split(" in the ")[0], t.split(" in the ")[1].split()[0]) for t in guides)
    assert sum(1 for n in stems.values() if n > 1) == 12  # 12 crops × stems with a near-duplicate guide


def test_candidates_are_the_other_values_of_the_attribute() -> None:
    for row in _rows(AGRI / "eval/qa.jsonl"):
        own = {normalize_text(x) for x in [row["answer"], *row["aliases"]]}
        cands = {normalize_text(c) for c in row["candidates"]}
        assert cands and not own & cands, row["id"]


def test_options_make_retrieval_easy_or_hard() -> None:
    easy = agri.generate(agri.EASY)
    assert easy["corpus.jsonl"].count("\n") == 30 and easy["eval/qa.jsonl"].count("\n") == 120
    assert '"variant": "indirect"' not in easy["eval/qa.jsonl"]
    big = agri.generate(agri.Difficulty(neighbours=10))
    assert big["corpus.jsonl"].count("\n") == 30 + 120 + 150  # 10x the asked guides in distractors
    with pytest.raises(ValueError, match="neighbours"):
        agri.Difficulty(neighbours=11)


def test_values_are_location_specific() -> None:
    facts = agri.build_facts(random.Random(agri.SEED))
    assert len(facts) == 6 * 5 * 4
    by_key: dict[tuple[str, str], list[str]] = {}
    for fact in facts:
        by_key.setdefault((fact.crop, fact.practice), []).append(fact.value)
    for key, values in by_key.items():
        assert len(values) == 6 and len(set(values)) == 6, f"{key} repeats a value across regions: {values}"
    qa = [r for r in _rows(AGRI / "eval/qa.jsonl") if r["variant"] != "two_doc"]
    assert [r["answer"] for r in qa] == [f.value for f in facts]


def test_each_document_states_its_facts_and_no_other_regions() -> None:
    world = agri.build_world(random.Random(agri.SEED))
    docs = {r["id"]: r for r in _rows(AGRI / "corpus.jsonl")}
    for fact in [*world.facts, *world.maturity]:
        assert fact.value in docs[fact.doc_id]["text"]
    for fact in world.facts:
        doc = docs[fact.doc_id]
        assert fact.region in doc["text"] and fact.crop in doc["text"].lower()
        assert [r.name for r in world.regions if r.name in doc["text"]] == [fact.region], doc["id"]


def test_multiple_choice_distractors_and_balance() -> None:
    facts = {f.fact_id: f for f in agri.build_facts(random.Random(agri.SEED))}
    rows = _rows(AGRI / "eval/mc.jsonl")
    assert Counter(r["label"] for r in rows) == {0: 30, 1: 30, 2: 30, 3: 30}
    for row in rows:
        fact = facts[row["fact_id"]]
        assert len(row["choices"]) == 4 and len(set(row["choices"])) == 4
        assert row["choices"][row["label"]] == fact.value
        same_slot = {f.value for f in facts.values() if (f.crop, f.practice) == (fact.crop, fact.practice)}
        assert set(row["choices"]) <= same_slot
    # the gold position must not follow the practice order
    assert len({(r["label"], facts[r["fact_id"]].practice) for r in rows}) > 4


# ----------------------------------------------------------------------------- loader


def test_load_suite_happy_path() -> None:
    suite = load_suite("agri", TASKS)
    assert (suite.name, suite.version, suite.root) == ("agri", "2", AGRI.resolve())
    assert (len(suite.corpus), len(suite.train)) == (84, 384)
    assert [(t.name, t.kind, t.primary_metric, len(t.rows)) for t in suite.tasks] == [
        ("agri_qa", "open_qa", "correct", 150),
        ("agri_mc", "multiple_choice", "acc", 120),
    ]
    assert suite.tasks[0].yaml_path == AGRI.resolve() / "agri_qa.yaml"
    assert load_suite(str(AGRI), Path("/nonexistent")).content_hash == suite.content_hash
    prompt, completion = render_train_example(suite, suite.train[0])
    assert prompt == f"Question: {suite.train[0]['question']}\nAnswer:"
    assert completion == " " + suite.train[0]["answer"]


def test_subset_suite() -> None:
    suite = load_suite("agri", TASKS)
    small = subset_suite(suite, 2)
    assert [d["id"] for d in small.corpus] == ["agri-doc-001", "agri-doc-002"]
    # 2 phrasings × 8 facts, and the Velmora Plateau's two place rows (filed under its first guide)
    assert len(small.train) == 18 and [len(t.rows) for t in small.tasks] == [8, 8]
    assert small.content_hash != suite.content_hash
    with pytest.raises(HarnessError):
        subset_suite(suite, 0)


def _write(path: Path, rows: list[Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows))


@pytest.fixture
def tiny(tmp_path: Path) -> Path:
    """A minimal valid suite (2 docs) in the agri layout, to break one thing at a time."""
    root = tmp_path / "tiny"
    root.mkdir()
    (root / "suite.yaml").write_text((AGRI / "suite.yaml").read_text())
    for name in ("agri_qa.yaml", "agri_mc.yaml", "utils.py"):
        shutil.copy(AGRI / name, root / name)
    _write(root / "corpus.jsonl", [{"id": "d1", "title": "A", "text": "Alpha."}, {"id": "d2", "title": "B", "text": "Beta."}])
    _write(
        root / "train.jsonl",
        [
            {"id": "t1", "question": "What is alpha?", "answer": "Alpha is one.", "doc_id": "d1"},
            {"id": "t2", "question": "What is beta?", "answer": "Beta is two.", "doc_id": "d2"},
        ],
    )
    qa = {"id": "q1", "question": "Name alpha.", "answer": "one", "aliases": [], "gold_ids": ["d1"], "context": ""}
    mc = {"id": "m1", "question": "Pick beta.", "choices": ["one", "two"], "label": 1, "gold_ids": ["d2"], "context": ""}
    _write(root / "eval/qa.jsonl", [qa])
    _write(root / "eval/mc.jsonl", [mc])
    return root


def _edit_jsonl(path: Path, line: int, **changes: Any) -> None:
    rows = _rows(path)
    for key, value in changes.items():
        if value is None:
            rows[line - 1].pop(key)
        else:
            rows[line - 1][key] = value
    _write(path, rows)


def test_tiny_fixture_is_valid(tiny: Path) -> None:
    suite = load_suite(str(tiny), tiny.parent)
    assert [len(t.rows) for t in suite.tasks] == [1, 1]


BREAKAGES = {
    "missing suite.yaml": (lambda r: (r / "suite.yaml").unlink(), r"no suite\.yaml in"),
    "missing file": (lambda r: (r / "train.jsonl").unlink(), r"suite\.yaml line \d+: field 'train' names 'train\.jsonl'"),
    "missing task yaml": (lambda r: (r / "agri_mc.yaml").unlink(), r"field 'tasks\[1\]\.yaml'"),
    "malformed yaml": (
        lambda r: (r / "suite.yaml").write_text("name: agri\ntasks: [\n  - {name: x\n"),
        r"suite\.yaml line \d+: invalid YAML",
    ),
    "malformed json": (
        lambda r: (r / "train.jsonl").write_text((r / "train.jsonl").read_text() + '{"id": "t3", \n'),
        r"train\.jsonl line 3: invalid JSON",
    ),
    "missing field": (lambda r: _edit_jsonl(r / "train.jsonl", 2, answer=None), r"train\.jsonl line 2: missing required field 'answer'"),
    "missing suite field": (
        lambda r: (r / "suite.yaml").write_text((r / "suite.yaml").read_text().replace("name: agri\n", "")),
        r"suite\.yaml: missing required field 'name'",
    ),
    "wrong type": (lambda r: _edit_jsonl(r / "eval/mc.jsonl", 1, label="1"), r"mc\.jsonl line 1: field 'label' must be an integer"),
    "empty corpus": (lambda r: (r / "corpus.jsonl").write_text("\n"), r"corpus\.jsonl: no rows"),
    "empty eval": (lambda r: (r / "eval/qa.jsonl").write_text(""), r"qa\.jsonl: no rows"),
    "duplicate id": (lambda r: _edit_jsonl(r / "corpus.jsonl", 2, id="d1"), r"corpus\.jsonl line 2: duplicate id 'd1' \(first on line 1\)"),
    "unknown gold id": (lambda r: _edit_jsonl(r / "eval/qa.jsonl", 1, gold_ids=["d9"]), r"qa\.jsonl line 1: field 'gold_ids' names 'd9'"),
    "unknown train doc": (lambda r: _edit_jsonl(r / "train.jsonl", 1, doc_id="d9"), r"train\.jsonl line 1: field 'doc_id' names 'd9'"),
    "label out of range": (lambda r: _edit_jsonl(r / "eval/mc.jsonl", 1, label=2), r"mc\.jsonl line 1: field 'label' is 2, out of range"),
    "unknown kind": (
        lambda r: (r / "suite.yaml").write_text((r / "suite.yaml").read_text().replace("kind: open_qa", "kind: essay")),
        r"suite\.yaml line \d+: field 'tasks\[0\]\.kind' is 'essay'",
    ),
    "task name mismatch": (
        lambda r: (r / "agri_qa.yaml").write_text((r / "agri_qa.yaml").read_text().replace("task: agri_qa", "task: other")),
        r"agri_qa\.yaml line 2: field 'task' is 'other'",
    ),
    "leakage": (
        lambda r: _edit_jsonl(r / "eval/qa.jsonl", 1, question="what is ALPHA"),
        r"qa\.jsonl line 1: field 'question' leaks: it equals the question on .*train\.jsonl line 1",
    ),
}


@pytest.mark.parametrize("case", sorted(BREAKAGES))
def test_loader_errors_name_file_line_and_field(tiny: Path, case: str) -> None:
    breaks, message = BREAKAGES[case]
    breaks(tiny)
    with pytest.raises(HarnessError, match=message):
        load_suite(str(tiny), tiny.parent)


# ----------------------------------------------------------------------------- lm-eval


def test_lm_eval_validate_accepts_the_tasks() -> None:
    env = {**os.environ, "HF_DATASETS_OFFLINE": "1", "HF_HUB_OFFLINE": "1"}
    cmd = [sys.executable, "-m", "lm_eval", "validate", "--tasks", "agri_qa,agri_mc,agri", "--include_path", str(TASKS)]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
    # lm-eval logs broken YAML only at DEBUG: a bad file shows up as "Tasks not found", so check the text too
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "All tasks found and valid" in proc.stdout
    assert "not found" not in proc.stdout


@pytest.fixture(scope="module")
def task_manager() -> Any:
    from lm_eval.tasks import TaskManager

    return TaskManager(include_path=str(TASKS), include_defaults=False)


def test_tasks_load_through_lm_eval(task_manager: Any) -> None:
    loaded = task_manager.load(["agri"])
    assert loaded["group_map"] == {"agri": ["agri_qa", "agri_mc"]}
    suite = load_suite("agri", TASKS)
    for task_spec in suite.tasks:
        task = loaded["tasks"][task_spec.name]
        docs = list(task.test_docs())
        assert len(docs) == len(task_spec.rows) == {"agri_qa": 150, "agri_mc": 120}[task_spec.name]
        first = docs[0]
        # with no context, the eval prompt is exactly the training prompt for the same question
        assert task.doc_to_text(first) == render_train_example(suite, {**first, "answer": ""})[0]
    mc = loaded["tasks"]["agri_mc"]
    doc = next(iter(mc.test_docs()))
    assert mc.doc_to_choice(doc) == doc["choices"] and mc.doc_to_target(doc) == doc["label"]


def test_derived_rag_task_reads_its_own_data(tmp_path: Path) -> None:
    from lm_eval.tasks import TaskManager

    rows = _rows(AGRI / "eval/qa.jsonl")[:3]
    for row in rows:
        row["context"] = f"Passage about {row['gold_ids'][0]}."
    data = tmp_path / "materialized" / "qa.jsonl"
    _write(data, rows)
    folder = tmp_path / "derived"
    folder.mkdir()
    (folder / "agri_qa__dense.yaml").write_text(
        f"include: {AGRI.resolve() / 'agri_qa.yaml'}\n"
        "task: agri_qa__dense\n"
        f"dataset_kwargs:\n  data_file: {data.resolve()}\n"
    )
    manager = TaskManager(include_path=str(folder), include_defaults=False)
    task = manager.load(["agri_qa__dense"])["tasks"]["agri_qa__dense"]
    docs = list(task.test_docs())
    assert len(docs) == 3
    assert task.doc_to_text(docs[0]) == (
        f"Context:\nPassage about agri-doc-001.\n\nQuestion: {rows[0]['question']}\nAnswer:"
    )
    assert task.process_results(docs[0], [rows[0]["answer"]])["exact_match"] == 1.0
