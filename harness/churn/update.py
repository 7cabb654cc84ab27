"""What each arm does when documents change, timed on the real components.

RAG re-indexes: the whole updated corpus (``full``) and, where the index allows, only the
changed documents (``incremental``: a FAISS ID map drops the changed passages' vectors and adds
their new embeddings; bm25s has no incremental add, so BM25 rebuilds and its incremental time
is its full time). The embedder load is not counted: a serving retriever holds it already.

FT has three strategies: no update (the adapter trained before the change answers stale),
retraining from scratch on the updated training set, and continuing the existing adapter on the
changed facts' training rows only. Training times are the adapters' own cards (measured when
they were trained, so a cached adapter still reports what it cost).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from harness.finetune.adapter import Adapter
from harness.finetune.lora import train_adapter
from harness.finetune.sft import sft_adapter, sft_examples
from harness.models.wheels import LocalModel
from harness.retrieval.config import RetrieverConfig
from harness.retrieval.passages import Passage, passages
from harness.sections import FinetuneSettings
from harness.suites import Suite

STALE, RETRAIN, CONTINUE = "ft_stale", "ft_retrain", "ft_continue"
FT_STRATEGIES = (STALE, RETRAIN, CONTINUE)


@dataclass(frozen=True)
class Reindex:
    """Seconds to bring the retriever up to date: rebuilt whole, and changed documents only."""

    kind: str
    full_s: float
    incremental_s: float
    incremental: str  # how the incremental figure was obtained

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "full_s": round(self.full_s, 4), "incremental_s": round(self.incremental_s, 4),
                "incremental": self.incremental}


def _bm25_seconds(items: list[Passage], cfg: RetrieverConfig) -> float:
    from harness.retrieval.bm25 import build_bm25

    start = time.perf_counter()
    build_bm25(items, cfg)
    return time.perf_counter() - start


def _dense_seconds(old: list[Passage], new: list[Passage], changed: set[str], cfg: RetrieverConfig) -> tuple[float, float]:
    """(full, incremental) seconds: embed + build the whole index; embed the changed passages and
    swap their vectors in an ID-mapped copy of the old index."""
    import faiss
    import numpy as np

    from harness.retrieval import dense
    from harness.retrieval.embedder import load_embedder

    embedder = load_embedder(cfg.embedder)
    start = time.perf_counter()
    dense.build_index(embedder.encode([p.index_text for p in new], batch_size=cfg.batch_size), cfg.index_params())
    full = time.perf_counter() - start
    mapped = faiss.IndexIDMap2(faiss.IndexFlatIP(embedder.dimension))  # the old index, not timed
    mapped.add_with_ids(embedder.encode([p.index_text for p in old], batch_size=cfg.batch_size),
                        np.arange(len(old), dtype=np.int64))
    rows = np.array([i for i, p in enumerate(new) if p.doc_id in changed], dtype=np.int64)
    start = time.perf_counter()
    vectors = embedder.encode([new[i].index_text for i in rows], batch_size=cfg.batch_size)
    mapped.remove_ids(faiss.IDSelectorArray(rows.size, faiss.swig_ptr(rows)))
    mapped.add_with_ids(vectors, rows)
    return full, time.perf_counter() - start


def time_reindex(old_corpus: list[dict], new_corpus: list[dict], changed_docs: list[str],
                 cfg: RetrieverConfig) -> Reindex:
    """Re-index the updated corpus with the run's retriever settings (see the module doc)."""
    old, new = passages(old_corpus, cfg.chunk_params()), passages(new_corpus, cfg.chunk_params())
    changed = set(changed_docs)
    if cfg.kind == "bm25":
        seconds = _bm25_seconds(new, cfg)
        return Reindex("bm25", seconds, seconds, "bm25s rebuilds the whole index (no incremental add)")
    full, incremental = _dense_seconds(old, new, changed, cfg)
    if cfg.kind == "hybrid":
        bm25 = _bm25_seconds(new, cfg)
        return Reindex("hybrid", full + bm25, incremental + bm25,
                       "dense: changed passages re-embedded into a FAISS ID map; bm25: rebuilt")
    return Reindex(cfg.kind, full, incremental, "changed passages re-embedded into a FAISS ID map")


def train_seconds(adapter: Adapter | None) -> float | None:
    """The training time the adapter's card recorded (None: no card, e.g. a user's adapter)."""
    value = (adapter.card if adapter is not None else {}).get("train_seconds")
    return float(value) if isinstance(value, (int, float)) else None


def retrained(settings: FinetuneSettings, updated: Suite, base: LocalModel, **overrides: Any) -> Adapter:
    """A fresh adapter on the whole updated training set, with the grid's hyper-parameters."""
    return sft_adapter(settings, updated, base, **overrides)


def continued(settings: FinetuneSettings, updated: Suite, changed_train_ids: list[str], stale: Adapter,
              base: LocalModel, epochs: float, **overrides: Any) -> Adapter:
    """The stale adapter trained ``epochs`` more on the changed facts' updated training rows."""
    wanted = set(changed_train_ids)
    rows = [r for r in updated.train if str(r["id"]) in wanted]
    params = settings.params(None, **{**overrides, "epochs": epochs})
    return train_adapter(base, sft_examples(settings, updated, rows), params, start_from=stale)
