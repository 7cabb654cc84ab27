"""Retrieval arm: real MiniLM (from its wheel) and real FAISS on a dozen handmade documents."""

from __future__ import annotations

import json
import logging
import math

import pytest
import yaml

from harness.errors import HarnessError
from harness.retrieval import Hit, RetrieverConfig, materialize_rag_task, passages, retrieve
from harness.retrieval import dense, metrics
from harness.retrieval.embedder import load_embedder
from harness.retrieval.hybrid import rrf_fuse
from harness.retrieval.index_cache import load_or_build_dense
from harness.retrieval.materialize import build_context, count_tokens

CORPUS = [
    {"id": "d01", "title": "Tomato blight", "text": "Late blight makes tomato leaves turn brown and rot; copper sprays slow it."},
    {"id": "d02", "title": "Drip irrigation", "text": "Drip lines deliver water straight to plant roots and save most of the water lost by sprinklers."},
    {"id": "d03", "title": "Soil pH", "text": "Blueberries need acidic soil with a pH between 4.5 and 5.5; lime raises pH."},
    {"id": "d04", "title": "Honey bees", "text": "Bees pollinate almond orchards; growers rent hives each February."},
    {"id": "d05", "title": "Crop rotation", "text": "Alternating beans with maize restores nitrogen in the field between seasons."},
    {"id": "d06", "title": "Grain storage", "text": "Wheat kept in silos must stay below 13 percent moisture to avoid mould."},
    {"id": "d07", "title": "Dairy cattle", "text": "A Holstein cow gives about 30 litres of milk a day at peak lactation."},
    {"id": "d08", "title": "Frost protection", "text": "Orchard wind machines mix warmer air down to protect blossoms on cold spring nights."},
    {"id": "d09", "title": "Rice paddies", "text": "Flooded rice fields suppress weeds but release methane gas."},
    {"id": "d10", "title": "Sheep shearing", "text": "Merino sheep are shorn once a year and yield about five kilograms of wool."},
    {"id": "d11", "title": "Greenhouses", "text": "Glasshouses trap sunlight so growers can raise cucumbers through the winter."},
    {"id": "d12", "title": "Tractor fuel", "text": "Farm tractors mostly run on diesel engines because of their high torque."},
]
PARAPHRASES = [
    ("How do I stop my tomato plants from getting a fungal disease that browns the foliage?", "d01"),
    ("Which watering method brings water directly to the roots and wastes less?", "d02"),
    ("What acidity do blueberry bushes prefer in the ground?", "d03"),
    ("Why do nut farmers hire beehives in late winter?", "d04"),
    ("How does switching legumes and corn help soil fertility?", "d05"),
    ("What humidity level keeps stored grain from going mouldy?", "d06"),
    ("How much milk does a dairy cow produce daily?", "d07"),
    ("How can fruit growers keep flowers from freezing?", "d08"),
    ("What greenhouse gas comes from flooded paddy fields?", "d09"),
    ("How much fleece do you get from one merino each year?", "d10"),
]


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("HARNESS_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


@pytest.fixture(scope="module")
def tokenizer():
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(load_embedder().path), local_files_only=True)


def _queries():
    return [q for q, _ in PARAPHRASES]


def _rows():
    return [{"id": f"q{i}", "gold_ids": [gold]} for i, (_, gold) in enumerate(PARAPHRASES)]


# ---- retrieval quality -------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["dense", "bm25", "hybrid"])
def test_paraphrased_queries_find_their_document(kind):
    hits = retrieve(CORPUS, _queries(), RetrieverConfig(kind=kind, top_k=3))
    scores = metrics.aggregate(_rows(), hits, ks=(1, 3))
    assert all(len(h) <= 3 for h in hits)
    assert all([x.rank for x in h] == list(range(1, len(h) + 1)) for h in hits)
    floor = {"dense": 0.9, "hybrid": 0.8, "bm25": 0.5}[kind]  # paraphrases share few words
    assert scores["recall@1"] >= floor, scores
    if kind == "dense":
        assert scores["recall@3"] == 1.0, scores


def test_flat_and_hnsw_agree():
    flat = retrieve(CORPUS, _queries(), RetrieverConfig(kind="dense", top_k=5, index="flat"))
    hnsw = retrieve(CORPUS, _queries(), RetrieverConfig(kind="dense", top_k=5, index="hnsw", hnsw_m=8))
    assert [[h.doc_id for h in q] for q in flat] == [[h.doc_id for h in q] for q in hnsw]
    for qf, qh in zip(flat, hnsw):
        assert [h.score for h in qf] == pytest.approx([h.score for h in qh], abs=1e-5)


def test_kind_none_returns_empty_hits():
    assert retrieve(CORPUS, ["a", "b"], RetrieverConfig(kind="none")) == [[], []]


# ---- caches ------------------------------------------------------------------------------

def _counting_build(monkeypatch):
    calls = []
    real = dense.build_index

    def counted(vectors, params):
        calls.append(params["type"])
        return real(vectors, params)

    monkeypatch.setattr(dense, "build_index", counted)
    return calls


def test_index_cache_is_reused(monkeypatch):
    calls = _counting_build(monkeypatch)
    items, cfg, emb = passages(CORPUS), RetrieverConfig(kind="dense"), load_embedder()
    first = load_or_build_dense(items, cfg, emb)
    mtime = (first.path / "index.faiss").stat().st_mtime_ns
    second = load_or_build_dense(items, cfg, emb)
    assert (first.built, second.built) == (True, False)
    assert calls == ["flat"]
    assert (second.path / "index.faiss").stat().st_mtime_ns == mtime
    assert second.index.ntotal == len(CORPUS) and second.ids == [d["id"] for d in CORPUS]
    meta = json.loads((first.path / "meta.json").read_text())
    assert meta["dimension"] == emb.dimension == 384 and meta["count"] == len(CORPUS)


def test_corrupt_index_entry_is_rebuilt(monkeypatch, caplog):
    calls = _counting_build(monkeypatch)
    items, cfg, emb = passages(CORPUS), RetrieverConfig(kind="dense"), load_embedder()
    first = load_or_build_dense(items, cfg, emb)
    index_file = first.path / "index.faiss"
    index_file.write_bytes(index_file.read_bytes()[:100])  # truncated
    with caplog.at_level(logging.WARNING):
        again = load_or_build_dense(items, cfg, emb)
    assert again.built and calls == ["flat", "flat"]
    assert "rebuilding" in caplog.text
    assert load_or_build_dense(items, cfg, emb).built is False  # the rebuilt entry is sound


def test_index_meta_mismatch_is_rebuilt(monkeypatch, caplog):
    items, cfg, emb = passages(CORPUS), RetrieverConfig(kind="dense"), load_embedder()
    first = load_or_build_dense(items, cfg, emb)
    meta_file = first.path / "meta.json"
    meta = json.loads(meta_file.read_text())
    meta["dimension"] = 768
    meta_file.write_text(json.dumps(meta))
    with caplog.at_level(logging.WARNING):
        assert load_or_build_dense(items, cfg, emb).built
    assert "dimension" in caplog.text


def test_results_cache_makes_rerun_free(monkeypatch):
    cfg = RetrieverConfig(kind="dense", top_k=2)
    first = retrieve(CORPUS, _queries(), cfg)

    def boom(*args, **kwargs):
        raise AssertionError("the retriever ran again")

    monkeypatch.setattr("harness.retrieval.api._run", boom)
    assert retrieve(CORPUS, _queries(), cfg) == first


# ---- edge cases --------------------------------------------------------------------------

def test_empty_corpus_is_a_clear_error():
    with pytest.raises(HarnessError, match="corpus is empty"):
        retrieve([], ["anything"], RetrieverConfig(kind="dense"))


def test_duplicate_ids_rejected():
    with pytest.raises(HarnessError, match="more than once"):
        passages([{"id": "a", "text": "x"}, {"id": "a", "text": "y"}])


def test_top_k_beyond_corpus_is_clamped(caplog):
    small = CORPUS[:4]
    with caplog.at_level(logging.WARNING):
        hits = retrieve(small, ["tomato disease"], RetrieverConfig(kind="dense", top_k=10))
    assert len(hits[0]) == 4 and "exceeds the corpus size" in caplog.text


def test_bad_config_named():
    with pytest.raises(HarnessError, match="unknown retriever setting"):
        RetrieverConfig.from_dict({"kind": "dense", "topk": 3})
    with pytest.raises(HarnessError, match="kind"):
        RetrieverConfig(kind="sparse")


# ---- metrics -----------------------------------------------------------------------------

def test_metrics_hand_computed():
    ranked = ["x", "g1", "y", "g2"]
    gold = ["g1", "g2", "g3"]
    assert metrics.recall_at_k(ranked, gold, 1) == 0.0
    assert metrics.recall_at_k(ranked, gold, 4) == pytest.approx(2 / 3)
    assert metrics.mrr_at_k(ranked, gold, 1) == 0.0
    assert metrics.mrr_at_k(ranked, gold, 4) == 0.5
    dcg = 1 / math.log2(3) + 1 / math.log2(5)
    idcg = 1 + 1 / math.log2(3) + 1 / math.log2(4)
    assert metrics.ndcg_at_k(ranked, gold, 4) == pytest.approx(dcg / idcg)
    assert metrics.ndcg_at_k(["g1"], ["g1"], 3) == 1.0


def test_metrics_aggregate_skips_rows_without_gold():
    rows = [{"gold_ids": ["a"]}, {"gold_ids": ["b"]}, {"gold_ids": []}]
    hits = [[Hit("a", 1.0, 1)], [Hit("c", 1.0, 1), Hit("b", 0.5, 2)], [Hit("a", 1.0, 1)]]
    agg = metrics.aggregate(rows, hits, ks=(1, 2))
    assert agg["n"] == 2
    assert agg["recall@1"] == 0.5 and agg["recall@2"] == 1.0
    assert agg["mrr@2"] == pytest.approx(0.75)


def test_answer_in_context():
    ctx = "[1] Soil: Blueberries need a pH of 4.5, says The Extension."
    assert metrics.answer_in_context("4.5", ctx)
    assert metrics.answer_in_context("the extension", ctx)
    assert metrics.answer_in_context("nope", ctx, aliases=["Blueberries"])
    assert not metrics.answer_in_context("berries", ctx)  # whole words only
    assert not metrics.answer_in_context("", ctx)


def test_rrf_fusion_order():
    fused = rrf_fuse([[1, 2, 3], [3, 1, 4]], [1.0, 1.0], k=60, top_k=3)
    assert [r for r, _ in fused] == [1, 3, 2]
    assert fused[0][1] == pytest.approx(1 / 61 + 1 / 62)
    only_bm25 = rrf_fuse([[1, 2], [2, 1]], [0.0, 1.0], k=60, top_k=2)
    assert [r for r, _ in only_bm25] == [2, 1]


# ---- materialisation ---------------------------------------------------------------------

def test_context_respects_budget(tokenizer):
    items = passages(CORPUS)[:3]
    one = count_tokens(tokenizer, f"[1] {items[0].title}: {items[0].text}")
    full = build_context(items, tokenizer, 10_000)
    assert full.ids == ["d01", "d02", "d03"] and not full.truncated
    assert full.text.startswith("[1] Tomato blight: Late blight") and "\n\n[2] Drip irrigation:" in full.text
    assert full.tokens == count_tokens(tokenizer, full.text)
    only_first = build_context(items, tokenizer, one + 5)
    assert only_first.ids == ["d01"] and only_first.tokens == one and not only_first.truncated
    cut = build_context(items, tokenizer, 8)
    assert cut.truncated and cut.ids == ["d01"] and 0 < cut.tokens <= 8
    assert cut.text and "[1] Tomato blight: Late blight".startswith(cut.text[:10])


def test_materialize_writes_rows_yaml_and_stats(tmp_path, tokenizer):
    task_dir = tmp_path / "task"
    task_dir.mkdir()
    task_yaml = task_dir / "toy_qa.yaml"
    task_yaml.write_text("task: toy_qa\ndataset_kwargs:\n  data_file: eval.jsonl\n")
    rows = [
        {"id": "q0", "question": "tomato?", "answer": "copper", "aliases": [], "gold_ids": ["d01"], "fact_id": "f0", "context": ""},
        {"id": "q1", "question": "water?", "answer": "drip", "aliases": [], "gold_ids": ["d02"], "fact_id": "f1", "context": ""},
    ]
    hits = [[Hit("d01", 0.9, 1), Hit("d02", 0.5, 2)], [Hit("d02", 0.8, 1), Hit("d03", 0.4, 2)]]
    one = count_tokens(tokenizer, f"[1] Tomato blight: {CORPUS[0]['text']}")
    out = materialize_rag_task("toy_qa", task_yaml, rows, hits, CORPUS, tokenizer, one + 3, tmp_path / "out", "dense")
    assert out.name == "toy_qa__dense"
    assert out.data_path == (tmp_path / "out" / "toy_qa__dense.jsonl").resolve()
    written = [json.loads(line) for line in out.data_path.read_text().splitlines()]
    assert [r["context_ids"] for r in written] == [["d01"], ["d02"]]
    assert written[0]["retrieved_ids"] == ["d01", "d02"]
    assert all(r["context_tokens"] <= one + 3 for r in written)
    assert metrics.answer_in_context(written[0]["answer"], written[0]["context"])
    assert out.stats["rows"] == 2 and out.stats["passages_used"] == 2
    assert out.stats["passages_dropped"] == 2 and out.stats["truncated"] == 0
    assert out.stats["mean_context_tokens"] == pytest.approx(sum(r["context_tokens"] for r in written) / 2)
    derived = yaml.safe_load(out.yaml_path.read_text())
    assert derived == {"include": str(task_yaml.resolve()), "task": "toy_qa__dense",
                       "dataset_kwargs": {"data_file": str(out.data_path)}}


def test_materialize_rejects_mismatched_hits(tmp_path, tokenizer):
    task_yaml = tmp_path / "t.yaml"
    task_yaml.write_text("task: t\n")
    with pytest.raises(HarnessError, match="retrieval results"):
        materialize_rag_task("t", task_yaml, [{"id": "q"}], [], CORPUS, tokenizer, 100, tmp_path, "dense")
