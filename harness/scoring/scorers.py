"""Per-sample scorers: one score per stored record, each carrying its own aggregation.

The primary metrics come from lm-eval during the run. These are recomputed from a run folder's
``samples/<condition>/<task>.jsonl`` alone, so ``python -m harness report <run>`` adds them to
any run folder without a model (answer similarity needs the embedder, harness.scoring.similarity):

- open QA (generation tasks): ``rouge_l`` — ROUGE-L F-measure as ``rouge_score`` computes it
  (raw strings, no stemming: the figure papers report); ``answer_similarity`` — cosine of the
  MiniLM embeddings of answer and reference.
- RAG conditions (records with a context): ``gold_retrieved`` — share of the gold documents
  among the retrieved ids; ``gold_in_context`` — the gold answer occurs in the context;
  ``context_word_overlap`` — share of the answer's claim words (content words the question did
  not contain, compared by a crude 5-letter stem) that occur in the context (a lexical overlap,
  not an entailment or judge faithfulness);
  ``supported_by_context`` — the answer string, or every claim word of it, occurs in the
  context (for multiple choice: the chosen option occurs in it); ``self_knowledge`` — answered
  correctly although the context lacked the gold answer (the model knew it without retrieval).

As in inspect_ai, where a scorer declares the metrics that summarise its scores, each scorer
here names how its values become a report figure (``aggregate``; default: the mean with a 95%
bootstrap CI), so a new score needs one registration and no change to the report.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from harness.records import SampleRecord
from harness.registry import Registry
from harness.scoring import stats
from harness.scoring.answers import (
    CORRECT_AT,
    answer_text,
    context_of,
    is_generation,
    references,
)
from harness.scoring.text import context_word_overlap, occurs, rouge_l, supported_by_context

# one record and its task's primary metric (self_knowledge needs to know what "correct" is)
Row = tuple[SampleRecord, str]
Summary = dict[str, Any]  # "" (the estimate), "_ci_low", "_ci_high", "_n"


def mean_ci(values: Iterable[float], seed: int) -> Summary:
    """The mean of the non-nan values with a 95% CI (Wilson for 0/1 values, else the
    bootstrap: harness.scoring.stats.mean_ci) and their count ({} if none)."""
    arr = np.array([v for v in values if not math.isnan(v)], dtype=float)
    if not arr.size:
        return {}
    ci = stats.mean_ci(arr, seed=seed)
    return {"": round(ci.estimate, 6), "_ci_low": round(ci.low, 6), "_ci_high": round(ci.high, 6), "_n": int(ci.n)}


class Scorer(Protocol):
    """What ``score_run`` needs of a scorer: its name, a definition for the report, a score per
    row (None: does not apply, nan: applies but undefined) and how the scores aggregate."""

    name: str
    definition: str

    def score_many(self, rows: Sequence[Row], settings: Any) -> list[float | None]: ...

    def aggregate(self, values: Iterable[float], seed: int) -> Summary: ...


@dataclass(frozen=True)
class SampleScorer:
    """A scorer that looks at one record at a time."""

    name: str
    definition: str
    value: Callable[[SampleRecord, str], float | None]
    summarise: Callable[[Iterable[float], int], Summary] = mean_ci

    def score_many(self, rows: Sequence[Row], settings: Any = None) -> list[float | None]:
        return [self.value(record, metric) for record, metric in rows]

    def aggregate(self, values: Iterable[float], seed: int) -> Summary:
        return self.summarise(values, seed)


# ---------------------------------------------------------------- the scores


def _rouge_l(record: SampleRecord, _metric: str) -> float | None:
    refs = references(record)
    if not (is_generation(record) and refs):
        return None
    answer = answer_text(record)
    return max(rouge_l(answer, r) for r in refs)


def _gold_retrieved(record: SampleRecord, _metric: str) -> float | None:
    gold_ids = [str(g) for g in record.get("gold_ids") or []]
    if not context_of(record).strip() or not gold_ids:
        return None
    retrieved = {str(r) for r in record.get("retrieved_ids") or []}
    return len(set(gold_ids) & retrieved) / len(set(gold_ids))


def gold_in_context(record: Mapping[str, Any]) -> bool | None:
    """Whether a gold answer occurs in the context (None: no context or no reference)."""
    context, refs = context_of(record), references(record)
    if not context.strip() or not refs:
        return None
    return any(occurs(r, context) for r in refs)


def _gold_in_context(record: SampleRecord, _metric: str) -> float | None:
    found = gold_in_context(record)
    return None if found is None else float(found)


def _context_word_overlap(record: SampleRecord, _metric: str) -> float | None:
    answer = answer_text(record)
    if not context_of(record).strip() or answer is None or not is_generation(record):
        return None
    return context_word_overlap(answer, context_of(record), record.get("question") or "")


def _supported(record: SampleRecord, _metric: str) -> float | None:
    answer = answer_text(record)
    if not context_of(record).strip() or answer is None:
        return None
    return supported_by_context(answer, context_of(record), record.get("question") or "")


def _self_knowledge(record: SampleRecord, metric: str) -> float | None:
    found = gold_in_context(record)
    score = (record.get("scores") or {}).get(metric)
    if found is None or score is None:
        return None
    try:
        correct = float(score) >= CORRECT_AT
    except (TypeError, ValueError):
        correct = False
    return float(correct and not found)


ROUGE_L = SampleScorer("rouge_l", "ROUGE-L F-measure (rouge_score, raw strings, no stemming)", _rouge_l)
GOLD_RETRIEVED = SampleScorer("gold_retrieved", "share of gold documents among the retrieved ids", _gold_retrieved)
GOLD_IN_CONTEXT = SampleScorer("gold_in_context", "the gold answer occurs in the context", _gold_in_context)
SUPPORTED = SampleScorer("supported_by_context", "the answer (string, or all its claim words) occurs in the context",
                         _supported)
CONTEXT_WORD_OVERLAP = SampleScorer(
    "context_word_overlap",
    "share of the answer's claim words (content words not in the question) found in the context", _context_word_overlap)
SELF_KNOWLEDGE = SampleScorer("self_knowledge", "correct although the context lacked the gold answer",
                              _self_knowledge)

# name -> scorer, in the order the report lists them (a "module:attr" entry is imported when used)
SCORERS: Registry[Scorer] = Registry("scorer")
SCORERS.register("rouge_l", ROUGE_L)
SCORERS.register("answer_similarity", "harness.scoring.similarity:ANSWER_SIMILARITY")
SCORERS.register("gold_retrieved", GOLD_RETRIEVED)
SCORERS.register("gold_in_context", GOLD_IN_CONTEXT)
SCORERS.register("supported_by_context", SUPPORTED)
SCORERS.register("context_word_overlap", CONTEXT_WORD_OVERLAP)
SCORERS.register("self_knowledge", SELF_KNOWLEDGE)
SCORERS.register("judge", "harness.scoring.judge.summary:JUDGE")  # run-level: reads judge/

QA_METRICS = ("rouge_l", "answer_similarity")
RAG_METRICS = ("gold_retrieved", "gold_in_context", "supported_by_context", "context_word_overlap", "self_knowledge")


def sample_metrics(record: SampleRecord, primary_metric: str) -> dict[str, float]:
    """Every per-record score that applies to one record (answer similarity left out: it is
    computed for the whole run at once)."""
    out: dict[str, float] = {}
    for name in SCORERS.names():
        scorer = SCORERS.get(name)
        if isinstance(scorer, SampleScorer):
            value = scorer.value(record, primary_metric)
            if value is not None:
                out[name] = value
    return out


__all__ = ["QA_METRICS", "RAG_METRICS", "SCORERS", "SampleScorer", "Scorer", "gold_in_context", "mean_ci",
           "sample_metrics"]
