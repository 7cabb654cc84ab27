"""``tasks`` cache entries are self-contained and name no checkout (issue #22): an entry built from
one clone of the repository keeps evaluating after that clone is deleted, and two clones of the
same suite content share one entry whose files hold no absolute path. Fast: lm-eval loads the
tasks and reads their rows, no model runs."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.test_variants import make_spec, minilm_tokenizer  # noqa: F401  (the fixture)

CONDITIONS = "conditions=[{adaptation:base,rag:false},{adaptation:icl,rag:false},{adaptation:base,rag:true}]"


def clone(where: Path) -> Path:
    """A copy of the repository's agri suite in a clone of its own (``where``/tasks/agri)."""
    return Path(shutil.copytree(REPO / "tasks" / "agri", where / "tasks" / "agri"))


def variants_of(folder: Path, tokenizer):
    from harness.suites import load_suite, subset_suite
    from harness.variants import materialize_variants

    spec = make_spec("retriever=bm25", CONDITIONS)
    suite = subset_suite(load_suite(folder, tasks_root=folder.parent), 2)
    return materialize_variants(suite, spec.conditions, spec.retriever, spec.icl, tokenizer, "ab" * 32, n_docs=2)


@pytest.fixture()
def cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("HARNESS_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def test_an_entry_outlives_the_clone_that_built_it(tmp_path, cache_dir, monkeypatch, caplog, minilm_tokenizer):  # noqa: F811
    from lm_eval.tasks import TaskManager

    from harness.evaluate.runner import quiet_lm_eval

    made = variants_of(clone(tmp_path / "clone_a"), minilm_tokenizer)
    shutil.rmtree(tmp_path / "clone_a")
    elsewhere = tmp_path / "cwd"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)  # the loaders find their rows whatever the working directory
    names = [v.name for v in made.all()]
    assert sorted(names) == ["agri_mc__bm25", "agri_mc__closed", "agri_mc__closed_icl",
                             "agri_qa__bm25", "agri_qa__closed", "agri_qa__closed_icl"]
    quiet_lm_eval()
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        manager = TaskManager(include_path=[str(p) for p in made.include_paths()], include_defaults=False)
        tasks = manager.load(names)["tasks"]
    assert not [r.getMessage() for r in caplog.records if "overrides" in r.getMessage()]  # identical copies meet quietly
    for v in made.all():
        docs = list(tasks[v.name].test_docs())
        rows = [line for line in v.data_path.read_text().splitlines() if line.strip()]
        assert len(docs) == len(rows) > 0, v.name
        if v.name.endswith("__bm25"):
            assert all(d["context"] for d in docs)  # the RAG rows, with their contexts
        if v.name.endswith("_icl"):
            assert all(d["icl_examples"] for d in docs)
            assert tasks[v.name].doc_to_text(docs[0]).startswith(docs[0]["icl_examples"])
    qa = tasks["agri_qa__bm25"]
    first = next(iter(qa.test_docs()))
    assert qa.process_results(first, [first["answer"]])["correct"] == 1.0  # the suite's scorer, from the entry's copy


def test_two_clones_of_one_suite_share_an_entry_with_relative_paths_only(tmp_path, cache_dir, minilm_tokenizer):  # noqa: F811
    a = variants_of(clone(tmp_path / "clone_a"), minilm_tokenizer)
    b = variants_of(clone(tmp_path / "clone_b"), minilm_tokenizer)
    assert b == a  # the same keys: the same entries, read back
    entries = {v.data_path.parent for v in a.all()}
    assert len(entries) == 3 and len(list((cache_dir / "tasks").glob("*/variants.json"))) == 3
    for entry in entries:
        for file in entry.rglob("*"):
            if file.is_file() and file.suffix in (".yaml", ".json", ".py"):
                text = file.read_text()
                assert str(tmp_path) not in text and str(REPO) not in text, file
    for v in a.all():
        text = v.yaml_path.read_text()
        assert text.startswith("include: agri_")  # the entry's copy of the suite's task YAML, beside it
        assert (v.yaml_path.parent / f"../{v.data_path.name}").resolve() == v.data_path.resolve()
        assert f"data_file: ../{v.data_path.name}" in text and "custom_dataset: !function run_rows." in text


def test_an_edited_task_file_makes_a_new_entry(tmp_path, cache_dir, minilm_tokenizer):  # noqa: F811
    """The entry holds copies, so what they copy keys it: here the suite's group YAML, which no
    other part of the key (the suite's content hash: its task YAMLs, rows, hooks) covers."""
    first = variants_of(clone(tmp_path / "clone_a"), minilm_tokenizer)
    edited = clone(tmp_path / "clone_b")
    (edited / "agri.yaml").write_text((edited / "agri.yaml").read_text() + "# edited\n")
    second = variants_of(edited, minilm_tokenizer)
    assert {v.data_path.parent for v in first.all()}.isdisjoint(v.data_path.parent for v in second.all())
    assert (second.all()[0].yaml_path.parent / "agri.yaml").read_text().endswith("# edited\n")


def test_code_a_suite_runs_by_path_is_in_the_entry(tmp_path, cache_dir):
    """finance's hooks run ../agri/utils.py (suite.yaml `code:`) and read its labels from
    suite.yaml: the entry holds both, so its classification task loads with the clone gone."""
    from lm_eval.tasks import TaskManager

    from harness.suites import load_suite, subset_suite
    from harness.variants import materialize_tasks

    clone(tmp_path / "clone")
    finance = Path(shutil.copytree(REPO / "tasks" / "finance", tmp_path / "clone" / "tasks" / "finance"))
    suite = subset_suite(load_suite(finance, tasks_root=finance.parent), 5)
    made = materialize_tasks(suite, make_spec().retriever, None, "ab" * 32, rag=False, n_docs=5)  # closed book: no tokens counted
    shutil.rmtree(tmp_path / "clone")
    assert (made[0].data_path.parent / "agri" / "utils.py").is_file()
    tasks = TaskManager(include_path=[str(made[0].yaml_path.parent)], include_defaults=False).load(
        [v.name for v in made])["tasks"]
    docs = list(tasks["finance_cls__closed"].test_docs())
    assert docs and all(len(d["choices"]) >= 2 and d["label"] in d["choices"] for d in docs)


@pytest.mark.parametrize("redacted", [False, True])
def test_only_copies_that_differ_are_reported_as_overriding(tmp_path: Path, redacted: bool) -> None:
    """The quiet filter reads the two paths from the message, so it works with or without the
    harness's redaction (which merges a record's args into its message when the record is made)."""
    from harness.evaluate.runner import _not_a_copy_of_itself
    from harness.redact import scrub

    same_a, same_b, other = (tmp_path / n for n in ("a.yaml", "b.yaml", "c.yaml"))
    same_a.write_text("task: t\n")
    same_b.write_text("task: t\n")
    other.write_text("task: t\nnum_fewshot: 1\n")

    def record(new: Path, old: Path) -> logging.LogRecord:
        made = logging.makeLogRecord({"msg": "Task '%s' from %s overrides existing task from %s",
                                      "args": ("t", str(new), str(old)), "levelno": logging.WARNING})
        if redacted:
            scrub(made)
            assert made.args is None
        return made

    assert _not_a_copy_of_itself(record(same_a, same_b)) is False  # identical copies: quiet
    assert _not_a_copy_of_itself(record(other, same_a)) is True  # a real override: reported
    assert _not_a_copy_of_itself(logging.makeLogRecord({"msg": "something else"})) is True
