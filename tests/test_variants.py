"""The fine-tuning arm's variants: k-shot ICL, RAFT, multiple fine-tuning seeds, forgetting.

Unit checks on the data builders (ICL shots, RAFT contexts, paraphrases) and the bad-input
messages, plus one real run of a tiny grid through the CLI that exercises all of them:
base, icl, ft and raft+dense on two agri documents, two fine-tuning seeds, the general suite
as forgetting check.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest

from harness.errors import HarnessError
from tests.conftest import REPO, harness, run_folders


def compose(*overrides: str) -> dict:
    from hydra import compose as hydra_compose, initialize_config_dir
    from omegaconf import OmegaConf

    exp = [] if any(o.startswith("+exp=") for o in overrides) else ["+exp=agri"]
    with initialize_config_dir(version_base="1.3", config_dir=str(REPO / "conf")):
        cfg = hydra_compose(config_name="config", overrides=[*exp, *overrides])
    return OmegaConf.to_container(cfg, resolve=True)


def make_spec(*overrides: str):
    from harness import spec

    return spec.from_config(compose(*overrides))


def agri(n_docs: int = 5):
    from harness.suites import load_suite, subset_suite

    return subset_suite(load_suite("agri", tasks_root=REPO / "tasks"), n_docs)


# ---------------------------------------------------------------- spec and bad input


def test_default_grid_and_hash_unchanged_by_the_new_keys():
    spec = make_spec()
    assert [c.name for c in spec.conditions] == ["base", "base+dense", "ft", "ft+dense"]
    data = spec.to_dict()
    assert not {"icl", "raft", "forgetting_suite"} & set(data)  # unused: not in the hash
    assert not {"seeds", "augment", "augment_n"} & set(data["finetune"])
    assert spec.finetune_seeds == [0] and not spec.multi_seed


def test_variant_conditions_are_named_and_configured():
    spec = make_spec("+exp=agri_variants", "finetune.seeds=[0,1,2]", "icl.k=2")
    names = [c.name for c in spec.conditions]
    assert names == ["base", "base+dense", "ft", "ft+dense", "raft", "raft+dense", "icl", "icl+dense"]
    assert spec.icl is not None and spec.icl.to_dict() == {"k": 2, "seed": 0}
    assert spec.raft is not None and spec.raft.distractors == 2 and spec.raft.p_gold == 0.8
    assert spec.trained_adaptations == ["ft", "raft"] and spec.finetune_seeds == [0, 1, 2]


@pytest.mark.parametrize(("overrides", "message"), [
    (["conditions=[{adaptation:sft}]"], r"conditions\[0\]\.adaptation: unknown value 'sft' \(expected one of base, ft, icl, raft, cpt, cpt_sft, full, merge, style\)"),
    (["retriever=none", "conditions=[{adaptation:raft}]"], r"conditions\[0\]\.adaptation: raft .*retriever\.kind is 'none'"),
    (["conditions=[{adaptation:icl}]", "icl.k=0"], r"icl\.k=0"),
    (["conditions=[{adaptation:raft}]", "raft.p_gold=1.5"], r"raft\.p_gold=1\.5"),
    (["finetune.seeds=[1,1]"], r"finetune\.seeds=\[1, 1\]: expected distinct"),
    (["finetune.augment=backtranslate"], r"finetune\.augment='backtranslate'"),
])
def test_bad_input_names_the_key(overrides, message):
    with pytest.raises(HarnessError, match=message):
        make_spec(*overrides)


def test_icl_k_larger_than_the_training_set():
    from harness.variants.icl import draw_shots

    suite = agri(1)
    with pytest.raises(HarnessError, match=r"icl\.k=50 is larger than the training set .*\(10 examples\)"):
        draw_shots(suite.train, 50, 0)


def test_icl_k_too_large_stops_the_run_with_one_message(tmp_path, smollm2):
    proc = harness("run", "+exp=agri", "suite.n_docs=1", "icl.k=11", "conditions=[{adaptation:icl,rag:false}]",
                   f"results_dir={tmp_path}", "history_db=", timeout=300)
    assert proc.returncode != 0
    assert "icl.k=11 is larger than the training set of suite 'agri' with n_docs=1 (10 examples)" in proc.stderr
    assert not list(tmp_path.rglob("leaderboard.csv"))


# ---------------------------------------------------------------- data builders


def test_icl_shots_are_deterministic_training_examples():
    from harness.variants.icl import draw_shots, render_prefix
    from harness.suites import render_train_example

    suite = agri(5)
    shots = draw_shots(suite.train, 3, seed=0)
    assert shots == draw_shots(suite.train, 3, seed=0)
    assert shots != draw_shots(suite.train, 3, seed=1)
    prefix = render_prefix([render_train_example(suite, r) for r in shots])
    assert prefix.count("Question: ") == 3 and prefix.count("\nAnswer: ") == 3
    for row in shots:
        assert f"Question: {row['question']}\nAnswer: {row['answer']}" in prefix
    eval_questions = {r["question"] for t in suite.tasks for r in t.rows}
    assert not any(q in prefix for q in eval_questions)  # no leakage


def raft_data(p_gold: float, distractors: int = 2, hits=None, seed: int = 0):
    from harness.variants.icl import doc_to_text_template
    from harness.finetune.raft import build_examples

    suite = agri(5)
    template = doc_to_text_template(suite.task("agri_qa").yaml_path)
    hits = hits if hits is not None else [[] for _ in suite.train]
    return suite, build_examples(suite.train, suite.corpus, hits, template, suite.train_format["completion"],
                                 distractors=distractors, p_gold=p_gold, seed=seed)


def test_raft_examples_have_distractors_and_the_gold_passage_at_the_configured_rate():
    suite, made = raft_data(0.75)
    docs = {d["id"]: d for d in suite.corpus}
    assert len(made) == len(suite.train) == 42
    assert sum(e.gold_included for e in made) == 32  # exactly round(0.75 * 42)
    for row, ex in zip(suite.train, made):
        gold_text = docs[row["doc_id"]]["text"]
        assert ex.prompt.startswith("Context:\n[1] ") and ex.prompt.endswith(f"Question: {row['question']}\nAnswer:")
        assert len(ex.passage_ids) == 3  # gold + 2 distractors, or 3 distractors
        assert (gold_text in ex.prompt) == ex.gold_included == (row["doc_id"] in ex.passage_ids)
        assert ex.n_distractors == (2 if ex.gold_included else 3)
        assert ex.completion == f" {row['answer']}"
    assert len({e.passage_ids.index(r["doc_id"]) for r, e in zip(suite.train, made) if e.gold_included}) > 1
    _, again = raft_data(0.75)
    assert again == made  # deterministic
    _, every = raft_data(1.0, distractors=1)
    assert all(e.gold_included and len(e.passage_ids) == 2 for e in every)


def test_raft_distractors_are_the_retrievers_hard_negatives_first():
    from harness.retrieval import Hit

    suite = agri(5)
    ranked = ["agri-doc-004", "agri-doc-001", "agri-doc-003"]
    hits = [[Hit(doc_id=d, passage_id=d, rank=i, score=1.0 - i / 10) for i, d in enumerate(ranked)]
            for _ in suite.train]
    _, made = raft_data(1.0, distractors=1, hits=hits)
    for row, ex in zip(suite.train, made):
        first_other = next(d for d in ranked if d != row["doc_id"])
        assert set(ex.passage_ids) == {row["doc_id"], first_other}


def test_paraphrase_augmentation_is_deterministic():
    from harness.finetune.augment import paraphrase_rows

    rows = agri(1).train[:4]
    made = paraphrase_rows(rows, 2)
    assert made == paraphrase_rows(rows, 2) and len(made) == 8
    assert all(m["answer"] == r["answer"] for m, r in zip(made, [r for r in rows for _ in (0, 1)]))
    assert all(m["question"] != r["question"] for m, r in zip(made, [r for r in rows for _ in (0, 1)]))
    assert len({m["id"] for m in made}) == 8


# ---------------------------------------------------------------- one real run


GRID = ["+exp=agri", "suite.n_docs=2", "eval.limit=2", "finetune.epochs=1", "finetune.batch_size=8",
        "finetune.seeds=[0,1]", "raft.distractors=1", "forgetting_suite=general", "history_db=",
        "conditions=[{adaptation:base,rag:false},{adaptation:icl,rag:false},{adaptation:ft,rag:false},"
        "{adaptation:raft,rag:true}]"]
LIMIT = 2


@pytest.fixture(scope="module")
def variants_run(tmp_path_factory, session_cache, smollm2) -> Path:
    results = tmp_path_factory.mktemp("variants")
    proc = harness("run", *GRID, f"results_dir={results}", cache=session_cache, timeout=1800)
    assert proc.returncode == 0, proc.stderr[-4000:]
    (run,) = run_folders(results / "agri")
    return run


def records(run: Path, condition: str, task: str) -> list[dict]:
    return [json.loads(line) for line in (run / "samples" / condition / task).read_text().splitlines()]


def test_icl_prompts_hold_k_examples_and_not_the_question(variants_run):
    base = records(variants_run, "base", "agri_qa.jsonl")
    icl = records(variants_run, "icl", "agri_qa.jsonl")
    assert [r["id"] for r in base] == [r["id"] for r in icl]
    prefixes = set()
    for b, r in zip(base, icl):
        assert r["prompt"].count("Question: ") == 3 + 1  # k = 3 worked examples + the question
        assert r["prompt"].count(r["question"]) == 1 and r["prompt"].endswith(b["prompt"].split("<|im_start|>user\n")[1])
        prefixes.add(r["prompt"].split("<|im_start|>user\n")[1].rsplit("Question: ", 1)[0])
    assert len(prefixes) == 1  # the same drawn examples before every question
    metrics = json.loads((variants_run / "metrics.json").read_text())
    assert metrics["icl"]["agri_qa__closed_icl"]["icl_k"] == 3
    manifest = json.loads((variants_run / "manifest.json").read_text())
    assert "evaluate:icl" not in manifest["timings_s"]  # icl shares the base model's pass


def test_multi_seed_adapters_and_spread(variants_run):
    manifest = json.loads((variants_run / "manifest.json").read_text())
    shas = manifest["hashes"]["adapters_sha256"]
    assert set(shas) == {"ft-seed0", "ft-seed1", "raft-seed0", "raft-seed1"}
    assert len(set(shas.values())) == 4  # per seed, per adaptation: different weights
    board = pd.read_csv(variants_run / "leaderboard.csv", index_col="condition")
    assert sorted(board.index) == ["base", "ft", "icl", "raft+dense"]
    assert board.loc["ft", "n_seeds"] == 2 and pd.isna(board.loc["base", "n_seeds"])
    assert "seed_std:mean" in board and "seed_std:agri_qa:correct" in board
    metrics = json.loads((variants_run / "metrics.json").read_text())
    per_seed = metrics["per_seed"]["ft"]
    assert set(per_seed) == {"0", "1"}
    mean = (per_seed["0"]["agri_qa"]["correct"] + per_seed["1"]["agri_qa"]["correct"]) / 2
    assert metrics["conditions"]["ft"]["agri_qa"]["correct"] == pytest.approx(mean)
    assert board.loc["ft", "agri_qa/correct"] == pytest.approx(mean)
    for seed in (0, 1):
        assert len(records(variants_run, "ft", f"seed{seed}/agri_qa.jsonl")) == LIMIT
    assert "± seed std (mean)" in (variants_run / "leaderboard.md").read_text()


def test_raft_trains_on_distractor_contexts(variants_run, session_cache):
    from harness import cache

    manifest = json.loads((variants_run / "manifest.json").read_text())
    sha = manifest["hashes"]["adapters_sha256"]["raft-seed0"]
    (folder,) = [p.parent for p in (session_cache / "adapters").glob("*/adapter_model.safetensors")
                 if cache.hash_file(p) == sha]
    card = json.loads((folder / "adapter_card.json").read_text())
    assert card["params"]["max_length"] == 512 and card["params"]["seed"] == 0 and card["n_examples"] == 18  # 2 phrasings x 8 facts + the region's two place rows
    assert card["params"]["batch_size"] == 4 and card["params"]["grad_accum"] == 2  # raft.micro_batch
    rag = records(variants_run, "raft+dense", "agri_qa.jsonl")
    assert all(r["context"] and r["context_ids"] for r in rag)


def test_forgetting_columns(variants_run):
    board = pd.read_csv(variants_run / "leaderboard.csv", index_col="condition")
    for col in ("general_qa/correct", "general_mc/acc", "general_qa/correct_delta"):
        assert col in board, col
    assert board[["general_qa/correct"]].loc[["base", "icl", "ft"]].notna().all().all()
    assert pd.isna(board.loc["raft+dense", "general_qa/correct"])  # closed book only
    assert board.loc["base", "general_qa/correct_delta"] == 0
    assert pd.notna(board.loc["base", "mean"])
    metrics = json.loads((variants_run / "metrics.json").read_text())
    assert "general_qa" not in metrics["conditions"]["base"]  # not part of the suite's mean
    assert metrics["forgetting"]["suite"] == "general"
    assert set(metrics["forgetting"]["conditions"]) == {"base", "icl", "ft"}
    assert len(records(variants_run, "ft", "forgetting/general_qa.jsonl")) == LIMIT
    icl = records(variants_run, "icl", "forgetting/general_qa.jsonl")
    assert all(r["prompt"].count("Question: ") == 4 for r in icl)  # the domain shots come along
    md = (variants_run / "leaderboard.md").read_text()
    assert re.search(r"Forgetting: general suite, closed book", md)


def test_paraphrase_option_extends_the_sft_data_only_when_asked():
    from harness.finetune import sft_examples

    suite = agri(1)
    plain = sft_examples(make_spec().finetune, suite)
    assert len(plain) == len(suite.train)
    more = sft_examples(make_spec("finetune.augment=paraphrase", "finetune.augment_n=3").finetune, suite)
    assert more[: len(plain)] == plain and len(more) == 4 * len(plain)
    assert {c for _, c in more} == {c for _, c in plain}  # same answers, new question wordings


# ---------------------------------------------------------------- stage entries (no model)


@pytest.fixture()
def minilm_tokenizer():
    from transformers import AutoTokenizer

    from harness.retrieval.embedder import load_embedder

    return AutoTokenizer.from_pretrained(str(load_embedder().path), local_files_only=True)


def test_materialize_variants_builds_what_the_conditions_use(tmp_path, monkeypatch, minilm_tokenizer):
    from harness import cache
    from harness.suites import load_suite
    from harness.variants import materialize_variants

    monkeypatch.setenv("HARNESS_CACHE", str(tmp_path / "cache"))
    spec = make_spec("retriever=bm25", "suite.n_docs=2", "forgetting_suite=general",
                     "conditions=[{adaptation:base,rag:false},{adaptation:icl,rag:false},{adaptation:ft,rag:true}]")
    suite, other = agri(2), load_suite("general", tasks_root=REPO / "tasks")
    made = materialize_variants(suite, spec.conditions, spec.retriever, spec.icl, minilm_tokenizer, "ab" * 32,
                                n_docs=spec.suite.n_docs, extra_suites=[other])
    assert set(made.main) == {(False, False), (True, False), (False, True)}
    base, icl, ft_rag = spec.conditions
    assert [v.name for v in made.for_condition(base)] == [
        "agri_qa__closed", "agri_mc__closed", "general_qa__closed", "general_mc__closed"]
    assert [v.name for v in made.for_condition(icl)] == [
        "agri_qa__closed_icl", "agri_mc__closed_icl", "general_qa__closed_icl", "general_mc__closed_icl"]
    assert [v.name for v in made.for_condition(ft_rag)] == ["agri_qa__bm25", "agri_mc__bm25"]
    assert [v.name for v in made.rag()] == ["agri_qa__bm25", "agri_mc__bm25"]
    assert made.extra_tasks() == {"general_qa", "general_mc"}
    assert set(made.icl_stats()) == {"agri_qa__closed_icl", "agri_mc__closed_icl"}
    assert len(made.all()) == 10 and len(made.include_paths()) == 5
    root = cache.cache_root() / "tasks"
    for v in made.all():  # the published entry, never the scratch folder it was built in; relative paths inside
        assert v.data_path.parent.parent == root and v.yaml_path.parent.parent == v.data_path.parent
        assert f"data_file: ../{v.data_path.name}" in v.yaml_path.read_text() and str(root) not in v.yaml_path.read_text()
    assert not list(root.glob(".*.tmp"))
    again = materialize_variants(suite, spec.conditions, spec.retriever, spec.icl, minilm_tokenizer, "ab" * 32,
                                 n_docs=spec.suite.n_docs, extra_suites=[other])
    assert again == made


def test_train_adapters_times_each_arm_and_keys_raft_data_as_before(tmp_path, monkeypatch):
    import contextlib

    from harness import cache
    from harness.finetune import Adapter, data_sha256, sft, stage
    from harness.models.wheels import LocalModel

    monkeypatch.setenv("HARNESS_CACHE", str(tmp_path / "cache"))
    calls = []

    def fake_train(base, examples, params, *, data_hash=None, check=None):
        calls.append((len(examples), params, data_hash))
        return Adapter(tmp_path / f"adapter-{len(calls)}", f"sha-{len(calls)}")

    monkeypatch.setattr(sft, "train_adapter", fake_train)
    spec = make_spec("+exp=agri_variants", "retriever=bm25", "finetune.seeds=[0,1]", "raft.micro_batch=2")
    suite, timed = agri(1), []

    @contextlib.contextmanager
    def timer(name):
        timed.append(name)
        yield

    got = stage.train_adapters(spec.trained_adaptations, spec.finetune, suite, LocalModel(tmp_path, "0" * 64),
                               raft=spec.raft, retrieval=spec.retriever, stage=timer)
    assert timed == ["finetune", "finetune:raft"]
    assert got.adaptations() == ["ft", "raft"] and got.get("raft", 1).sha256 == "sha-4" and got.get("ft", 7) is None
    assert got.first("ft") == got.get("ft", 0)
    assert list(got.labelled(multi_seed=True)) == ["ft-seed0", "ft-seed1", "raft-seed0", "raft-seed1"]
    (n_ft, ft_params, ft_hash), _, (n_raft, raft_params, raft_hash), _ = calls
    assert n_ft == len(suite.train) and ft_hash is None and ft_params == spec.finetune.params(0)
    assert raft_params.batch_size == 2 and raft_params.grad_accum == spec.finetune.params(0).batch_size // 2
    assert raft_params.max_length == max(spec.finetune.params(0).max_length, spec.raft.max_length)
    examples = [(e.prompt, e.completion) for e in sft.raft_examples(spec.raft, spec.retriever, suite)]
    assert n_raft == len(examples) == len(suite.train)
    assert raft_hash == cache.hash_json({"raft": spec.raft.to_dict(), "retriever": dict(spec.retriever.raw),
                                         "suite": suite.content_hash, "examples": data_sha256(examples)})
