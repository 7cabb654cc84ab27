"""Hub-backed suites: each converter on a tiny fixture in its dataset's real schema and file layout
(tests/fixtures/hub/<dataset>/, hand-written rows), lm-eval loading the converted tasks, the
prompts lm-eval's registered tasks use, the hub-cache and offline-error paths, and one real run.

Nothing is downloaded: fixtures stand in for ``suite.data_dir`` copies, and a hub-cache layout
built in a temporary folder stands in for ``hf download``.
"""

from __future__ import annotations

import json
import shutil
import zipfile
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from harness.errors import HarnessError
from harness.suites import Suite, load_suite
from harness.suites.hub import HUB_SUITES, materialize_hub_suite
from tests.conftest import REPO, harness, run_folders

FIXTURES = REPO / "tests" / "fixtures" / "hub"


def convert(name: str, data_dir: Path | None = None, **settings: Any) -> Suite:
    root = materialize_hub_suite({"name": name, "hub": name, **settings}, data_dir or FIXTURES / name)
    return load_suite(root, root.parent)


def raw(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


@pytest.fixture(scope="module")
def suites() -> dict[str, Suite]:
    return {name: convert(name) for name in HUB_SUITES}


# ---------------------------------------------------------------- one converter each


def test_pubmedqa_abstracts_corpus_decisions_and_hash_split(suites: dict[str, Suite]) -> None:
    suite, records = suites["pubmedqa"], raw(FIXTURES / "pubmedqa/pqa_labeled/train-00000-of-00001.jsonl")
    assert [d["id"] for d in suite.corpus] == [f"pubmed-{r['pubid']}" for r in records]
    assert suite.corpus[0]["text"].startswith("Background: Sleep timing") and "Results: Median time" in suite.corpus[0]["text"]
    assert all(r["long_answer"] not in d["text"] for r, d in zip(records, suite.corpus))  # conclusions stay out
    task = suite.task("pubmedqa_mc")
    decision = {f"pubmedqa-{r['pubid']}": r["final_decision"] for r in records}
    for row in task.rows:
        assert row["choices"] == ["yes", "no", "maybe"] and row["choices"][row["label"]] == decision[row["id"]]
        assert row["gold_ids"] == [row["id"].replace("pubmedqa-", "pubmed-")]
    asked = [r for r in suite.train if not r["id"].endswith("-knowledge")]
    assert {r["id"] for r in asked}.isdisjoint(r["id"] for r in task.rows)
    assert [r["id"] for r in task.rows] == ["pubmedqa-10000003", "pubmedqa-10000004", "pubmedqa-10000006",
                                            "pubmedqa-10000007"]  # sha256("0:<id>") below eval_fraction 0.5
    assert len(asked) + len(task.rows) == len(records)
    first = asked[0]
    assert first["answer"].split(". ", 1)[0] == decision[first["id"]]  # decision, then the long answer
    assert sum(r["id"].endswith("-knowledge") for r in suite.train) == len(suite.corpus)
    assert len([r for r in convert("pubmedqa", knowledge=False).train]) == len(asked)


def test_medqa_test_split_letters_and_case_corpus(suites: dict[str, Suite]) -> None:
    suite = suites["medqa"]
    rows = suite.task("medqa_mc").rows
    # the fourth test vignette repeats a training question: dropped, not leaked
    assert [r["id"] for r in rows] == ["medqa-test-e5f6a7b8-0001", "medqa-test-e5f6a7b8-0002", "medqa-test-e5f6a7b8-0003"]
    assert rows[1]["choices"][rows[1]["label"]] == "Atropine" and rows[1]["gold_ids"] == []
    assert suite.train[0]["answer"] == "B. Oral iron" and suite.train[0]["doc_id"] == suite.corpus[0]["id"]
    assert suite.corpus[0]["text"].endswith("Answer: Oral iron")
    assert "README.md" in {p.name for p in suite.root.iterdir()}
    assert "1 test rows dropped" in (suite.root / "README.md").read_text()


def test_medmcqa_validation_is_eval_explanations_train(suites: dict[str, Suite]) -> None:
    suite = suites["medmcqa"]
    rows = suite.task("medmcqa_mc").rows
    assert [r["question"] for r in rows] == ["Motor supply of the diaphragm comes from which nerve?",
                                             "Lack of ascorbic acid leads to"]  # 'Koplik spots' repeats a train row
    assert [r["choices"][r["label"]] for r in rows] == ["Phrenic", "Scurvy"]
    phrenic = suite.train[0]
    assert phrenic["answer"] == "B. Phrenic. The phrenic nerve (C3-C5) is the motor supply of the diaphragm."
    assert next(r for r in suite.train if "Koplik" in r["question"])["answer"] == "B. Measles"  # exp null
    assert "Answer: Phrenic." in suite.corpus[0]["text"]


def test_mmlu_clinical_six_subjects_dev_validation_train_test_eval(suites: dict[str, Suite]) -> None:
    suite = suites["mmlu_clinical"]
    rows = suite.task("mmlu_clinical_mc").rows
    # one test question per subject; anatomy's second test row repeats its dev question: dropped
    assert [r["topic"] for r in rows] == ["anatomy", "clinical knowledge", "college biology", "college medicine",
                                         "medical genetics", "professional medicine"]
    assert rows[0]["question"] == "How many chambers does the human heart have?" and rows[0]["label"] == 2
    assert len(suite.train) == 12 and suite.train[0]["answer"] == "B. Calcaneus"
    assert suite.corpus[0]["text"] == "Which bone forms the prominence of the heel? Answer: Calcaneus."
    assert all(r["gold_ids"] == [] for r in rows)
    assert "1 test rows dropped" in (suite.root / "README.md").read_text()


def test_mmlu_clinical_prompt_is_lm_evals_mmlu_prompt(suites: dict[str, Suite]) -> None:
    """The converted row renders as lm-eval's mmlu_<subject> does: description line + template."""
    import yaml
    from lm_eval.tasks import TaskManager
    from lm_eval.utils import apply_template

    import lm_eval

    default = Path(lm_eval.__file__).parent / "tasks" / "mmlu" / "default"
    template = yaml.safe_load((default / "_default_template_yaml").read_text())["doc_to_text"]
    description = yaml.safe_load((default / "mmlu_medical_genetics.yaml").read_text())["description"]
    record = raw(FIXTURES / "mmlu_clinical/medical_genetics/test-00000-of-00001.jsonl")[0]
    suite = suites["mmlu_clinical"]
    manager = TaskManager(include_path=[str(suite.root)], include_defaults=False)
    task = manager.load(["mmlu_clinical_mc"])["tasks"]["mmlu_clinical_mc"]
    doc = next(d for d in task.test_docs() if d["topic"] == "medical genetics")
    assert task.doc_to_text(doc) == description + apply_template(template, record)
    assert task.doc_to_choice(doc) == ["A", "B", "C", "D"] and task.doc_to_target(doc) == record["answer"]


def test_fiqa_beir_corpus_queries_and_qrels(suites: dict[str, Suite]) -> None:
    suite = suites["fiqa"]
    assert [d["id"] for d in suite.corpus] == ["3001", "3002", "3003", "3004", "3005", "3006"]
    rows = {r["id"]: r for r in suite.task("fiqa_qa").rows}
    assert set(rows) == {"fiqa-test-21", "fiqa-test-22", "fiqa-test-23"}
    assert rows["fiqa-test-22"]["gold_ids"] == ["3006"]
    assert rows["fiqa-test-22"]["answer"].startswith("Keep an emergency fund")
    assert {r["id"]: r["doc_id"] for r in suite.train} == {"fiqa-train-11": "3003", "fiqa-train-12": "3001",
                                                         "fiqa-train-13": "3002", "fiqa-train-14": "3004"}
    assert suite.task("fiqa_qa").primary_metric == "f1"


def test_phrasebank_latin1_labels_and_zip_release(suites: dict[str, Suite], tmp_path: Path) -> None:
    suite = convert("phrasebank", eval_fraction=0.5)
    task = suite.task("phrasebank_cls")
    assert task.labels == ("negative", "neutral", "positive") and task.primary_metric == "macro_f1"
    rows = task.rows + [dict(r, label=r["answer"]) for r in suite.train]
    assert len(rows) == 10 and all(r["label"] in task.labels for r in rows)
    assert any("Hämeen Tekstiili" in r["question"] for r in rows)  # Latin-1 decoded
    assert any(d["text"].endswith("Sentiment: positive.") for d in suite.corpus)
    # the hub repository's layout: the release zip under data/
    (tmp_path / "data").mkdir()
    with zipfile.ZipFile(tmp_path / "data" / "FinancialPhraseBank-v1.0.zip", "w") as archive:
        src = FIXTURES / "phrasebank" / "FinancialPhraseBank-v1.0" / "Sentences_AllAgree.txt"
        archive.write(src, "FinancialPhraseBank-v1.0/Sentences_AllAgree.txt")
    zipped = convert("phrasebank", tmp_path, eval_fraction=0.5)
    assert zipped.task("phrasebank_cls").rows == task.rows and zipped.train == suite.train
    with pytest.raises(HarnessError, match="no Sentences_50Agree.txt"):
        convert("phrasebank", agreement="50agree")


def test_agxqa_contexts_become_the_corpus_with_gold_ids(suites: dict[str, Suite]) -> None:
    suite = suites["agxqa"]
    assert len(suite.corpus) == 3 and all(d["id"].startswith("agxqa-") and d["title"] for d in suite.corpus)
    rows = {r["id"]: r for r in suite.task("agxqa_qa").rows}
    assert set(rows) == {"agxqa-test-agx-0101", "agxqa-test-agx-0102", "agxqa-test-agx-0103"}  # 0104 leaks: dropped
    gold = next(d for d in suite.corpus if d["id"] == rows["agxqa-test-agx-0101"]["gold_ids"][0])
    assert "40 percent" in gold["text"] and gold["title"] == "Scheduling with soil moisture sensors"
    assert rows["agxqa-test-agx-0103"]["aliases"] == ["three"]
    assert next(r for r in suite.train if r["id"] == "agxqa-train-agx-0002")["answer"] == "worn pressure regulators"


def test_kisanvaani_pairs_are_the_corpus_and_equal_answers_gold(suites: dict[str, Suite]) -> None:
    suite = convert("kisanvaani", eval_fraction=0.4)
    rows = suite.task("kisanvaani_qa").rows
    assert rows and len(rows) + len(suite.train) == 10
    assert {d["id"] for d in suite.corpus} == {f"doc-{r['id']}" for r in suite.train}
    gold = {r["id"]: r["gold_ids"] for r in rows}
    # the split is a hash of the question; both aphid questions (same answer) fell on the eval side,
    # so only the yellow-maize question has a training pair with its answer
    assert gold == {"kisan-00001": [], "kisan-00005": [], "kisan-00007": [], "kisan-00008": ["doc-kisan-00004"],
                    "kisan-00009": []}
    assert suite.task("kisanvaani_qa").primary_metric == "f1"


# ---------------------------------------------------------------- lm-eval: loading and prompts


def test_converted_tasks_load_in_lm_eval_with_the_registered_prompts(suites: dict[str, Suite]) -> None:
    from lm_eval.tasks import TaskManager
    from lm_eval.tasks.medmcqa.utils_medmcqa import doc_to_text as medmcqa_text
    from lm_eval.tasks.medqa.preprocess_medqa import doc_to_text as medqa_text

    manager = TaskManager(include_path=[str(s.root) for s in suites.values()], include_defaults=False)
    names = [t.name for s in suites.values() for t in s.tasks]
    loaded = manager.load(names)["tasks"]
    for suite in suites.values():
        for task in suite.tasks:
            docs = list(loaded[task.name].test_docs())
            assert [d["id"] for d in docs] == [r["id"] for r in task.rows]
            # the training prompt is the eval prompt with an empty context
            prompts = {r["id"]: r["prompt"] for r in suite.train}
            for doc in docs:
                if doc["id"] in prompts:
                    assert loaded[task.name].doc_to_text(doc) == prompts[doc["id"]]
    medqa = next(iter(loaded["medqa_mc"].test_docs()))
    record = raw(FIXTURES / "medqa/data/test-00000-of-00001.jsonl")[0]
    assert loaded["medqa_mc"].doc_to_text(medqa) == medqa_text(record)  # lm-eval's medqa_4options prompt
    assert loaded["medqa_mc"].doc_to_choice(medqa) == ["A", "B", "C", "D"] and loaded["medqa_mc"].doc_to_target(medqa) == 0
    medmcqa = next(iter(loaded["medmcqa_mc"].test_docs()))
    record = raw(FIXTURES / "medmcqa/data/validation-00000-of-00001.jsonl")[0]
    assert loaded["medmcqa_mc"].doc_to_text(medmcqa) == medmcqa_text(record)  # lm-eval's medmcqa prompt
    pub = next(iter(loaded["pubmedqa_mc"].test_docs()))
    assert loaded["pubmedqa_mc"].doc_to_choice(pub) == ["yes", "no", "maybe"]
    with_context = dict(pub, context="A. B.")
    assert loaded["pubmedqa_mc"].doc_to_text(with_context) == f"Abstract:\nA. B.\n\nQuestion: {pub['question']}\nAnswer:"
    cls = next(iter(loaded["phrasebank_cls"].test_docs()))
    assert loaded["phrasebank_cls"].doc_to_choice(cls) == ["negative", "neutral", "positive"]


# ---------------------------------------------------------------- where the data comes from


def hub_cache_with_parquet(cache: Path, repo: str, sha: str) -> Path:
    """The layout `hf download --repo-type dataset <repo>` leaves (refs/main → snapshots/<sha>), with
    the fixture written as parquet like the hub's files."""
    import datasets

    folder = cache / f"datasets--{repo.replace('/', '--')}"
    snap = folder / "snapshots" / sha / "pqa_labeled"
    snap.mkdir(parents=True)
    (folder / "refs").mkdir()
    (folder / "refs" / "main").write_text(sha)
    rows = raw(FIXTURES / "pubmedqa/pqa_labeled/train-00000-of-00001.jsonl")
    datasets.Dataset.from_list(rows).to_parquet(str(snap / "train-00000-of-00001.parquet"))
    return folder


def test_hub_cache_snapshot_is_read_offline_and_cached(suites: dict[str, Suite], tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    import huggingface_hub.constants

    sha = "0123456789abcdef0123456789abcdef01234567"
    hub_cache_with_parquet(tmp_path / "hub", "qiaojin/PubMedQA", sha)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    root = materialize_hub_suite({"name": "pubmedqa", "hub": "pubmedqa"})
    suite = load_suite(root, root.parent)
    assert suite.task("pubmedqa_mc").rows == suites["pubmedqa"].task("pubmedqa_mc").rows  # parquet = fixture
    assert f"hub cache qiaojin/PubMedQA@{sha}" in (root / "README.md").read_text()
    assert materialize_hub_suite({"name": "pubmedqa", "hub": "pubmedqa"}) == root  # cached entry
    with pytest.raises(HarnessError, match="at revision fedcba"):
        materialize_hub_suite({"name": "pubmedqa", "hub": "pubmedqa", "revision": "fedcba" + sha[6:]})


def test_changed_raw_data_makes_a_new_entry(tmp_path: Path) -> None:
    copy = tmp_path / "agxqa"
    shutil.copytree(FIXTURES / "agxqa", copy)
    first = materialize_hub_suite({"name": "agxqa", "hub": "agxqa"}, copy)
    path = copy / "agxqa-test-2024-06-11.jsonl"
    path.write_text(path.read_text().replace("before each season", "before every season"))
    second = materialize_hub_suite({"name": "agxqa", "hub": "agxqa"}, copy)
    assert first != second and first.is_dir() and second.is_dir()


def test_missing_dataset_offline_says_how_to_predownload(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "empty"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(HarnessError) as err:
        materialize_hub_suite({"name": "fiqa", "hub": "fiqa"})
    message = str(err.value)
    for needed in ("dataset 'BeIR/fiqa'", "not available offline", "hf download BeIR/fiqa --repo-type dataset",
                   "hf download BeIR/fiqa-qrels --repo-type dataset", "snapshot_download('BeIR/fiqa', repo_type='dataset')",
                   "HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1", "suite.data_dir="):
        assert needed in message, (needed, message)


@pytest.mark.parametrize(("settings", "message"), [
    ({"max_trian": 5}, "suite.max_trian: unknown setting for hub suite 'agxqa'"),
    ({"max_eval": 0}, "suite.max_eval=0: expected a positive integer"),
    ({"hub": "pubmed"}, "suite.hub='pubmed': unknown hub suite"),
])
def test_bad_settings_name_the_key(settings: dict[str, Any], message: str) -> None:
    with pytest.raises(HarnessError, match=message.replace("(", r"\(").replace(")", r"\)")):
        materialize_hub_suite({"name": "agxqa", "hub": "agxqa", **settings}, FIXTURES / "agxqa")


def test_incomplete_copy_names_the_missing_part(tmp_path: Path) -> None:
    shutil.copytree(FIXTURES / "fiqa", tmp_path / "fiqa")
    (tmp_path / "fiqa" / "qrels" / "test.tsv").unlink()
    with pytest.raises(HarnessError, match="no file for part 'qrels_test' of dataset 'BeIR/fiqa-qrels'"):
        materialize_hub_suite({"name": "fiqa", "hub": "fiqa"}, tmp_path / "fiqa")


# ---------------------------------------------------------------- through the CLI


def test_run_without_the_data_fails_with_the_predownload_hint(tmp_path: Path, session_cache: Path) -> None:
    proc = harness("run", "+exp=pubmedqa", f"results_dir={tmp_path / 'results'}", cache=session_cache,
                   env={"HF_HUB_CACHE": str(tmp_path / "empty")})
    assert proc.returncode != 0
    assert "dataset 'qiaojin/PubMedQA'" in proc.stderr and "hf download qiaojin/PubMedQA" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not any((tmp_path / "results").glob("pubmedqa/2*"))


def test_agxqa_grid_runs_end_to_end_on_its_fixture(tmp_path: Path, session_cache: Path, smollm2) -> None:
    results = tmp_path / "results"
    proc = harness("run", "+exp=agxqa", "suite.data_dir=tests/fixtures/hub/agxqa", "finetune.epochs=1",
                   "eval.bootstrap_iters=100", f"results_dir={results}", cache=session_cache)
    assert proc.returncode == 0, proc.stderr[-4000:]
    run_dir = run_folders(results / "agxqa")[0]
    board = pd.read_csv(run_dir / "leaderboard.csv", index_col="condition")
    assert list(board.index) == ["base", "base+dense", "ft", "ft+dense"]
    assert board["agxqa_qa/correct"].between(0, 1).all()
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert "agxqa_qa" in json.dumps(metrics)
    samples = [json.loads(line) for line in (run_dir / "samples" / "base+dense" / "agxqa_qa.jsonl").read_text().splitlines()]
    assert len(samples) == 3 and all(s["gold_ids"] for s in samples)
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["spec"]["suite"]["hub"] == "agxqa"
