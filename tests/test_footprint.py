"""The retriever's serving footprint (index + passages) as the Decision's cost model reads it: measured
on real FAISS and bm25s structures, carried into the variant stats, priced per GB-month."""

from __future__ import annotations

import math

import numpy as np
import pytest

from harness import decision
from harness.retrieval import RetrieverConfig
from harness.retrieval.footprint import bm25_bytes, faiss_bytes, footprint

DOCS = [{"id": f"d{i:02d}", "title": f"Field {i}", "text": f"Plot {i} grows {crop} sown in {month}."}
        for i, (crop, month) in enumerate(zip(["maize", "wheat", "beans", "rice", "barley", "oats"] * 4,
                                              ["March", "April", "May", "June"] * 6))]


def test_dense_footprint_is_the_vectors_and_little_else():
    got = footprint(DOCS, RetrieverConfig(kind="dense", top_k=1))
    vectors = len(DOCS) * 384 * 4  # MiniLM: 384 float32 per passage, a flat inner-product index
    assert vectors <= got.index_bytes < vectors + 1024
    assert got.passage_bytes == sum(len(d["text"].encode()) for d in DOCS)


def test_bm25_and_hybrid_footprints_add_up():
    bm25 = footprint(DOCS, RetrieverConfig(kind="bm25", top_k=1))
    dense = footprint(DOCS, RetrieverConfig(kind="dense", top_k=1))
    hybrid = footprint(DOCS, RetrieverConfig(kind="hybrid", top_k=1))
    assert 0 < bm25.index_bytes < dense.index_bytes  # a sparse matrix of a few terms per document
    assert hybrid.index_bytes == bm25.index_bytes + dense.index_bytes
    assert footprint(DOCS, RetrieverConfig(kind="none")) is None


def test_measures_the_structures_themselves():
    import bm25s
    import faiss

    index = faiss.IndexFlatIP(8)
    index.add(np.zeros((100, 8), dtype="float32"))
    assert 100 * 8 * 4 <= faiss_bytes(index) < 100 * 8 * 4 + 512
    retriever = bm25s.BM25()
    retriever.index(bm25s.tokenize(["a tall cat", "a small dog"], return_ids=False, show_progress=False),
                    show_progress=False)
    assert bm25_bytes(retriever) == sum(v.nbytes for v in retriever.scores.values() if hasattr(v, "nbytes")) + \
        sum(len(t) + 8 for t in retriever.vocab_dict)


@pytest.mark.parametrize("price", [0.0, 3.0])
def test_index_memory_is_a_standing_monthly_cost(price: float):
    cost = decision.inputs.ConditionCost(0.2, math.nan, math.nan, 0.0, 36.0, index_memory_bytes=2.5e9)
    settings = decision.cost_settings(overrides=[f"cost.memory_price_per_gb_month={price}"])
    priced = decision.costs.price(cost, settings, hourly=1.0)
    assert priced.fixed_per_month == pytest.approx(36.0 / 3600 + 2.5 * price)
    assert priced.one_off == pytest.approx(36.0 / 3600)  # memory is not a one-off
