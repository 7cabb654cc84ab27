"""Cross-encoder reranking: a real sentence-transformers CrossEncoder built here from a tiny BERT
config with seeded random weights (no reranker model ships offline), behind a BM25 first stage.

Random weights say nothing about quality; they make the stage's behaviour checkable: it runs,
keeps the top_k of the first stage's top_n by the cross encoder's scores (so it reorders), is
deterministic, and its results are cached under a key that names the reranker.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.errors import HarnessError
from harness.retrieval import RetrieverConfig, retrieve, retrieve_debug
from harness.retrieval import rerank as rerank_mod
from harness.retrieval.api import results_key
from harness.retrieval.passages import passages

WORDS = ["maize", "rice", "wheat", "sow", "harvest", "irrigate", "weevil", "blight", "april", "june", "delta",
         "flats", "moor", "neem", "oil", "copper", "days", "spring", "soil", "ph"]
CORPUS = [{"id": f"d{i:02d}", "title": f"{WORDS[i % 20]} {WORDS[(3 * i) % 20]}",
           "text": " ".join(WORDS[(i * j) % 20] for j in range(1, 9))} for i in range(16)]
QUERIES = ["when to sow maize", "rice harvest in the delta", "neem oil against the weevil", "soil ph for wheat",
           "irrigate every few days in spring", "copper for blight"]


@pytest.fixture(scope="module")
def cross_encoder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 2-layer, 32-wide BERT sequence classifier (1 logit) with seeded random weights and a
    WordPiece vocabulary written here, saved as a CrossEncoder folder."""
    import torch
    from sentence_transformers import CrossEncoder
    from transformers import BertConfig, BertForSequenceClassification, BertTokenizerFast

    folder = tmp_path_factory.mktemp("tiny-cross-encoder")
    tokens = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *WORDS, "the", "in", "to", "for", "when", "against",
              "every", "few", "of"]
    tokenizer = BertTokenizerFast(vocab={t: i for i, t in enumerate(tokens)}, do_lower_case=True)
    assert tokenizer("sow maize")["input_ids"][1:3] == [tokens.index("sow"), tokens.index("maize")]
    torch.manual_seed(0)
    config = BertConfig(vocab_size=tokenizer.vocab_size, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=64, num_labels=1,
                        initializer_range=0.5)  # wide random weights: distinct scores per pair
    model = BertForSequenceClassification(config)
    model.eval()
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    CrossEncoder(str(folder), device="cpu", local_files_only=True).save_pretrained(str(folder))  # its own config
    return folder


@pytest.fixture(autouse=True)
def _cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HARNESS_CACHE", str(tmp_path / "cache"))
    rerank_mod.load_reranker.cache_clear()


def test_rerank_keeps_the_best_top_k_of_the_first_stage_by_cross_encoder_score(cross_encoder: Path) -> None:
    from sentence_transformers import CrossEncoder

    first = retrieve(CORPUS, QUERIES, RetrieverConfig(kind="bm25", top_k=8))
    cfg = RetrieverConfig(kind="bm25", top_k=3, reranker=str(cross_encoder), rerank_top_n=8)
    hits = retrieve(CORPUS, QUERIES, cfg)
    model = CrossEncoder(str(cross_encoder), device="cpu", local_files_only=True)
    texts = {p.pid: p.index_text for p in passages(CORPUS)}
    reordered = 0
    for query, cands, got in zip(QUERIES, first, hits, strict=True):
        scores = model.predict([(query, texts[h.doc_id]) for h in cands])
        expected = sorted(range(len(cands)), key=lambda i: (-scores[i], i))[:3]
        assert [h.doc_id for h in got] == [cands[i].doc_id for i in expected]
        assert [h.rank for h in got] == [1, 2, 3]
        assert [h.score for h in got] == pytest.approx([float(scores[i]) for i in expected], abs=1e-5)
        reordered += [h.doc_id for h in got] != [h.doc_id for h in cands[:3]]
    assert reordered  # the stage changes the first stage's order (random weights: surely somewhere)
    # deterministic: a fresh model load (no results cache) gives the same hits
    rerank_mod.load_reranker.cache_clear()
    again = rerank_mod.rerank(passages(CORPUS), QUERIES,
                              [[(int(h.doc_id[1:]), h.score) for h in q] for q in first], str(cross_encoder), 3)
    assert [[CORPUS[r]["id"] for r, _ in q] for q in again] == [[h.doc_id for h in q] for q in hits]
    shown = retrieve_debug(CORPUS, QUERIES[0], cfg)
    assert [h.doc_id for h, _ in shown] == [h.doc_id for h in hits[0]]


def test_reranked_results_are_cached_under_the_rerankers_key(cross_encoder: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = RetrieverConfig(kind="bm25", top_k=2, reranker=str(cross_encoder), rerank_top_n=6)
    hits = retrieve(CORPUS, QUERIES, cfg)

    def no_model(spec: str) -> None:
        raise AssertionError("the cached results should not need the reranker")

    monkeypatch.setattr(rerank_mod, "load_reranker", no_model)
    assert retrieve(CORPUS, QUERIES, cfg) == hits
    items = passages(CORPUS)
    plain = RetrieverConfig(kind="bm25", top_k=2)
    keys = {results_key(items, QUERIES, c, 2) for c in
            (plain, cfg, RetrieverConfig(kind="bm25", top_k=2, reranker=str(cross_encoder), rerank_top_n=5))}
    assert len(keys) == 3
    # without a reranker the key is what it was before rerankers existed (old caches stay valid)
    assert results_key(items, QUERIES, RetrieverConfig(kind="bm25", top_k=2, reranker=""), 2) == \
        results_key(items, QUERIES, plain, 2)


def test_reranker_settings_are_checked(tmp_path: Path) -> None:
    with pytest.raises(HarnessError, match="rerank_top_n \\(2\\) must be >= top_k \\(3\\)"):
        RetrieverConfig(kind="bm25", top_k=3, reranker="x", rerank_top_n=2)
    with pytest.raises(HarnessError, match="reranker '.*nowhere' is neither a wheel model nor a local folder"):
        retrieve(CORPUS, QUERIES, RetrieverConfig(kind="bm25", top_k=2, reranker=str(tmp_path / "nowhere")))
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "x.txt").write_text("not a model")
    with pytest.raises(HarnessError, match="not a loadable cross-encoder"):
        retrieve(CORPUS, QUERIES, RetrieverConfig(kind="bm25", top_k=2, reranker=str(tmp_path / "empty")))
