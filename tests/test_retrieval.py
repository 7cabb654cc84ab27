"""Retrieval arm: real MiniLM (from its wheel) and real FAISS on a dozen handmade documents."""

from __future__ import annotations

import json
import logging
import math

import pytest
import yaml

from harness.errors import HarnessError
from harness.retrieval import Hit, RetrieverConfig, dense, metrics, passages, retrieve
from harness.retrieval.embedder import load_embedder
from harness.retrieval.hybrid import rrf_fuse
from harness.retrieval.index_cache import load_or_build_dense
from harness.variants.rag import build_context, count_tokens, materialize_rag_task

DOCS = [
    ("d01", "Tomato blight",
     "Late blight makes tomato leaves turn brown and rot; copper sprays slow it."),
    ("d02", "Drip irrigation",
     "Drip lines deliver water straight to plant roots and save most of the water lost by sprinklers."),
    ("d03", "Soil pH",
     "Blueberries need acidic soil with a pH between 4.5 and 5.5; lime raises pH."),
    ("d04", "Honey bees",
     "Bees pollinate almond orchards; growers rent hives each February."),
    ("d05", "Crop rotation",
     "Alternating beans with maize restores nitrogen in the field between seasons."),
    ("d06", "Grain storage",
     "Wheat kept in silos must stay below 13 percent moisture to avoid mould."),
    ("d07", "Dairy cattle",
     "A Holstein cow gives about 30 litres of milk a day at peak lactation."),
    ("d08", "Frost protection",
     "Orchard wind machines mix warmer air down to protect blossoms on cold spring nights."),
    ("d09", "Rice paddies",
     "Flooded rice fields suppress weeds but release methane gas."),
    ("d10", "Sheep shearing",
     "Merino sheep are shorn once a year and yield about five kilograms of wool."),
    ("d11", "Greenhouses",
     "Glasshouses trap sunlight so growers can raise cucumbers through the winter."),
    ("d12", "Tractor fuel",
     "Farm tractors mostly run on diesel engines because of their high torque."),
]
CORPUS = [{"id": i, "title": t, "text": x} for i, t, x in DOCS]
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
    scores = metrics.task_metrics(_rows(), hits, ks=(1, 3))
    assert all(len(h) <= 3 for h in hits)
    assert all([x.rank for x in h] == list(range(1, len(h) + 1)) for h in hits)
    # paraphrases share few words with their document: BM25 (no stemmer) is weak here and
    # equal-weight fusion inherits some of that; dense should be near perfect
    floor = {"dense": (0.9, 1.0), "hybrid": (0.6, 0.9), "bm25": (0.5, 0.5)}[kind]
    assert scores["recall@1"] >= floor[0] and scores["recall@3"] >= floor[1], scores


def test_flat_and_hnsw_agree():
    flat = retrieve(CORPUS, _queries(), RetrieverConfig(kind="dense", top_k=5, index="flat"))
    hnsw = retrieve(CORPUS, _queries(), RetrieverConfig(kind="dense", top_k=5, index="hnsw", hnsw_m=8))
    assert [[h.doc_id for h in q] for q in flat] == [[h.doc_id for h in q] for q in hnsw]
    for qf, qh in zip(flat, hnsw, strict=True):
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
    assert "index.faiss has 100 bytes" in caplog.text and "rebuilt" in caplog.text  # the cache's own check
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
    assert "meta.json" in caplog.text and "rebuilt" in caplog.text  # edited after it was written


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


def test_none_config_accepts_zero_top_k():
    assert RetrieverConfig.from_dict({"kind": "none", "top_k": 0}).kind == "none"


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
    agg = metrics.task_metrics(rows, hits, ks=(1, 2))
    assert agg["n"] == 2
    assert agg["recall@1"] == 0.5 and agg["recall@2"] == 1.0
    assert agg["mrr@2"] == pytest.approx(0.75)
    single = metrics.aggregate([["a"], ["c", "b"]], [["a"], ["b"]], 2)  # the CLI's call shape
    assert single == {"recall@2": 1.0, "mrr@2": 0.75, "ndcg@2": pytest.approx((1 + 1 / math.log2(3)) / 2), "n": 2.0}


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
    assert cut.text and "[1] Tomato blight: Late blight".startswith(cut.text)  # original casing kept


def test_materialize_writes_rows_yaml_and_stats(tmp_path, tokenizer):
    task_dir = tmp_path / "task"
    task_dir.mkdir()
    task_yaml = task_dir / "toy_qa.yaml"
    task_yaml.write_text("task: toy_qa\ndataset_kwargs:\n  data_file: eval.jsonl\n")
    rows = [
        {"id": "q0", "question": "tomato?", "answer": "copper", "aliases": [], "gold_ids": ["d01"],
         "fact_id": "f0", "context": ""},
        {"id": "q1", "question": "water?", "answer": "drip", "aliases": [], "gold_ids": ["d02"],
         "fact_id": "f1", "context": ""},
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
    assert out.yaml_path == (tmp_path / "out" / "task" / "toy_qa__dense.yaml").resolve()  # beside the suite's copy
    assert (tmp_path / "out" / "task" / "toy_qa.yaml").read_text() == task_yaml.read_text()
    derived = yaml.safe_load(out.yaml_path.read_text())  # relative paths only: the folder can move
    assert derived == {"include": "toy_qa.yaml", "task": "toy_qa__dense",
                       "dataset_kwargs": {"data_file": "../toy_qa__dense.jsonl"}}


def test_materialize_rejects_mismatched_hits(tmp_path, tokenizer):
    task_yaml = tmp_path / "t.yaml"
    task_yaml.write_text("task: t\n")
    with pytest.raises(HarnessError, match="retrieval results"):
        materialize_rag_task("t", task_yaml, [{"id": "q"}], [], CORPUS, tokenizer, 100, tmp_path, "dense")


def test_materialized_task_runs_in_lm_eval(tmp_path, tokenizer):
    """The derived YAML loads in lm-eval 0.4.13 from its own folder and renders the context."""
    from lm_eval.tasks import TaskManager

    task_dir = tmp_path / "suite"
    task_dir.mkdir()
    (task_dir / "utils.py").write_text(
        "import json, datasets\n"
        "def load_qa(data_file=None, **kwargs):\n"
        "    rows = [json.loads(line) for line in open(data_file)]\n"
        "    return {'test': datasets.Dataset.from_list(rows)}\n"
    )
    row = {"id": "q0", "question": "tomato?", "answer": "copper", "context": ""}
    (task_dir / "eval.jsonl").write_text(json.dumps(row) + "\n")
    task_yaml = task_dir / "toy_qa.yaml"
    task_yaml.write_text(
        "task: toy_qa\ncustom_dataset: !function utils.load_qa\n"
        f"dataset_kwargs:\n  data_file: {task_dir / 'eval.jsonl'}\n"
        "test_split: test\noutput_type: generate_until\n"
        'doc_to_text: "{% if context %}Context:\\n{{context}}\\n\\n{% endif %}Question: {{question}}\\nAnswer:"\n'
        'doc_to_target: "{{answer}}"\ngeneration_kwargs:\n  until: ["\\n"]\n'
        "metric_list:\n  - metric: exact_match\n    aggregation: mean\n    higher_is_better: true\n"
    )
    rows = [json.loads((task_dir / "eval.jsonl").read_text())]
    out = materialize_rag_task("toy_qa", task_yaml, rows, [[Hit("d01", 1.0, 1)]], CORPUS, tokenizer, 200,
                               tmp_path / "out", "dense")
    manager = TaskManager(include_path=str(tmp_path / "out"), include_defaults=False)
    task = manager.load([out.name])["tasks"][out.name]
    doc = task.test_docs()[0]
    assert task.doc_to_text(doc) == (
        "Context:\n[1] Tomato blight: " + CORPUS[0]["text"] + "\n\nQuestion: tomato?\nAnswer:"
    )


# ---- chunking ----------------------------------------------------------------------------

LONG_DOC = {
    "id": "guide",
    "title": "Orchard guide",
    "text": ("Apple trees need winter chill hours before they flower in spring.\n\n"
             "Codling moth larvae tunnel into apples; pheromone traps time the sprays.\n\n"
             "Pear trees suffer fire blight, a bacterial disease; prune infected shoots in dry weather."),
}


def test_chunks_have_stable_ids_and_offsets():
    from harness.retrieval import ChunkParams

    for params in (ChunkParams("tokens", 8, 3), ChunkParams("paragraph", 12, 2), ChunkParams("paragraph", 40, 0)):
        chunks = passages([LONG_DOC, CORPUS[0]], params)
        assert chunks == passages([LONG_DOC, CORPUS[0]], params)  # deterministic
        for chunk in chunks:
            doc = LONG_DOC if chunk.doc_id == "guide" else CORPUS[0]
            assert doc["text"][chunk.start: chunk.end] == chunk.text and chunk.text == chunk.text.strip()
            assert chunk.title == doc["title"]
        guide = [c for c in chunks if c.doc_id == "guide"]
        assert [c.pid for c in guide] == [f"guide#{n}" for n in range(len(guide))]
        words = LONG_DOC["text"].split()
        covered = " ".join(c.text for c in guide).split()
        assert set(covered) == set(words)  # nothing dropped
    windows = passages([LONG_DOC], ChunkParams("tokens", 8, 3))
    assert all(len(c.text.split()) <= 8 for c in windows)
    assert windows[0].text.split()[-3:] == windows[1].text.split()[:3]  # 3-word overlap
    paras = passages([LONG_DOC], ChunkParams("paragraph", 12, 2))
    assert paras[0].text == LONG_DOC["text"].split("\n\n")[0]  # whole paragraphs when they fit
    whole = passages([LONG_DOC], ChunkParams("paragraph", 40, 0))
    assert len(whole) == 1 and whole[0].text == LONG_DOC["text"]  # all paragraphs packed into one


def test_chunking_config_validated():
    assert RetrieverConfig(chunking="none", chunk_size=0).chunk_params().mode == "none"
    with pytest.raises(HarnessError, match="chunking"):
        RetrieverConfig(chunking="sentences")
    with pytest.raises(HarnessError, match="chunk_overlap"):
        RetrieverConfig(chunking="tokens", chunk_size=10, chunk_overlap=10)


@pytest.mark.parametrize("kind", ["bm25", "dense"])
def test_chunked_hits_fold_to_documents_for_metrics(kind, tmp_path, tokenizer):
    cfg = RetrieverConfig(kind=kind, top_k=4, chunking="paragraph", chunk_size=16, chunk_overlap=2)
    corpus = [LONG_DOC, *CORPUS]
    hits = retrieve(corpus, ["How should growers prune pear shoots with fire blight?"], cfg)[0]
    assert hits[0].passage_id == "guide#2" and hits[0].doc_id == "guide"
    assert (hits[0].start, hits[0].end) == (LONG_DOC["text"].index("Pear"), len(LONG_DOC["text"]))
    assert metrics.doc_ranking(hits)[0] == "guide" and len(set(metrics.doc_ranking(hits))) == len(
        metrics.doc_ranking(hits))
    rows = [{"id": "q", "question": "pear?", "answer": "prune", "gold_ids": ["guide"]}]
    assert metrics.task_metrics(rows, [hits], ks=(1,))["recall@1"] == 1.0
    task_yaml = tmp_path / "t.yaml"
    task_yaml.write_text("task: t\n")
    out = materialize_rag_task("t", task_yaml, rows, [hits], corpus, tokenizer, 10_000, tmp_path / "o", kind)
    row = json.loads(out.data_path.read_text())
    assert row["context"].startswith("[1] Orchard guide: Pear trees suffer fire blight")
    assert "Codling" not in row["context"].split("\n\n")[0]  # the chunk, not the whole document
    assert row["retrieved_ids"][0] == "guide#2" and row["retrieved_doc_ids"][0] == "guide"


def test_chunking_is_in_the_cache_keys():
    from harness.retrieval.api import results_key
    from harness.retrieval.index_cache import dense_index_key

    base = RetrieverConfig(kind="dense", chunking="tokens", chunk_size=8, chunk_overlap=2)
    other = RetrieverConfig(kind="dense", chunking="tokens", chunk_size=8, chunk_overlap=3)
    items = passages([LONG_DOC], base.chunk_params())
    assert dense_index_key(items, base) != dense_index_key(items, other)
    assert results_key(items, ["q"], base, 3) != results_key(items, ["q"], other, 3)
    # sizes are irrelevant without chunking, so they do not split the cache
    assert results_key(items, ["q"], RetrieverConfig(chunk_size=5), 3) == results_key(
        items, ["q"], RetrieverConfig(chunk_size=50), 3)


def test_stale_chunk_span_is_refused(tmp_path, tokenizer):
    task_yaml = tmp_path / "t.yaml"
    task_yaml.write_text("task: t\n")
    bad = Hit("d01", 1.0, 1, "d01#0", 0, 10_000)
    with pytest.raises(HarnessError, match="does not fit document 'd01'"):
        materialize_rag_task("t", task_yaml, [{"id": "q"}], [[bad]], CORPUS, tokenizer, 100, tmp_path, "x")


# ---- IVF-PQ and the resumable embedding store --------------------------------------------

def _unit(n, dim=32, seed=0):
    import numpy as np

    x = np.random.default_rng(seed).normal(size=(n, dim))
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype("float32")


def test_ivfpq_trains_and_approximates_flat():
    import numpy as np

    vectors = _unit(1500)
    queries = vectors[:50] + 0.05 * _unit(50, seed=1)  # each query has a clear nearest row
    params = RetrieverConfig(index="ivfpq", ivf_nlist=8, pq_m=8, pq_nbits=4).index_params()
    index = dense.build_index(vectors, params, batch_rows=400)  # several add batches
    assert dense.index_type(index) == "ivfpq" and index.ntotal == 1500 and index.nlist == 8
    _, truth = dense.search(dense.build_index(vectors, {"type": "flat"}), queries, 10)
    _, got = dense.search(index, queries, 10, nprobe=8)
    assert np.mean(got[:, 0] == np.arange(50)) >= 0.9  # compressed codes still find the source row
    recall = sum(len(set(a) & set(b)) for a, b in zip(truth, got, strict=True)) / truth.size
    assert recall >= 0.25, recall  # 4-bit codes on unstructured data: approximate, not exact
    with pytest.raises(HarnessError, match="must divide"):
        dense.build_index(vectors, dict(params, m=5))


def test_ivfpq_falls_back_to_flat_on_a_small_corpus(caplog):
    with caplog.at_level(logging.WARNING):
        ivf = retrieve(CORPUS, _queries(), RetrieverConfig(kind="dense", top_k=3, index="ivfpq"))
    assert "using an exact flat index" in caplog.text
    flat = retrieve(CORPUS, _queries(), RetrieverConfig(kind="dense", top_k=3))
    assert [[h.passage_id for h in q] for q in ivf] == [[h.passage_id for h in q] for q in flat]


class Interrupted(Exception):
    pass


def test_embedding_store_resumes_after_a_kill(tmp_path):
    import numpy as np

    from harness.retrieval import embed_store

    texts = [f"text {i}" for i in range(10)]
    encoded: list[str] = []

    def encode(batch):
        encoded.extend(batch)
        return np.array([[len(t), int(t.split()[1]), 1.0] for t in batch], dtype=np.float32)

    def kill_after_two(batches, rows):
        if batches == 2:
            raise Interrupted

    with pytest.raises(Interrupted):
        embed_store.embed_store("k", texts, encode, 3, batch_rows=3, on_batch=kill_after_two)
    assert encoded == texts[:6]
    assert not (tmp_path / "cache" / "embeddings" / "k").exists()  # nothing looks complete
    rows = embed_store.embed_store("k", texts, encode, 3, batch_rows=4)  # another batch size is fine
    assert encoded == texts  # rows 6..9 only: the two committed batches were not redone
    assert isinstance(rows, embed_store.NpyRows) and rows.shape == (10, 3)
    assert np.array_equal(rows[0:10], encode(texts))
    assert np.lib.format.open_memmap(rows.path, mode="r").dtype == np.float32
    encoded.clear()
    embed_store.embed_store("k", texts, encode, 3)  # complete: reused as is
    assert encoded == []


def test_killed_index_build_resumes_embedding(monkeypatch):
    items, cfg, emb = passages(CORPUS), RetrieverConfig(kind="dense"), load_embedder()
    progress: list[int] = []

    def kill_after_two(batches, rows):
        progress.append(rows)
        if batches == 2:
            raise Interrupted

    with pytest.raises(Interrupted):
        load_or_build_dense(items, cfg, emb, on_batch=kill_after_two, commit_rows=4)
    built = load_or_build_dense(items, cfg, emb, on_batch=lambda b, rows: progress.append(rows), commit_rows=4)
    assert progress == [4, 8, 12]  # the rerun embedded only the last batch
    assert built.built and built.index.ntotal == len(CORPUS)
    hnsw = load_or_build_dense(items, RetrieverConfig(kind="dense", index="hnsw"), emb,
                               on_batch=lambda b, rows: progress.append(rows))
    assert hnsw.built and progress == [4, 8, 12]  # another index type reuses the stored embeddings


def test_retrieve_debug_returns_passage_text():
    from harness.retrieval import format_debug, retrieve_debug

    cfg = RetrieverConfig(kind="bm25", top_k=2, chunking="tokens", chunk_size=10, chunk_overlap=0)
    results = retrieve_debug([LONG_DOC, *CORPUS], "codling moth pheromone traps", cfg)
    hit, text = results[0]
    assert hit.passage_id.startswith("guide#") and "pheromone traps" in text
    assert text == LONG_DOC["text"][hit.start: hit.end]
    shown = format_debug(results)
    assert shown.startswith(f" 1. {hit.score:.4f}  {hit.passage_id} [{hit.start}:{hit.end}]")
    with pytest.raises(HarnessError, match="retrieves nothing"):
        retrieve_debug(CORPUS, "x", RetrieverConfig(kind="none"))
