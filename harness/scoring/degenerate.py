"""Degenerate answerers: strategies that know nothing, scored by each task's own scorer.

A scorer can be gamed when an answer that carries no knowledge scores above the floor: listing
every candidate value, pasting the retrieved passages, echoing the question, always picking the
same option or label. ``audit_suite`` runs each strategy that applies to a task through the
task's own ``process_results`` (the suite's ``utils.py``, as lm-eval would) and compares it with
the task's floor — 0 for open QA, a uniform guess for multiple choice and classification — so a
test can require every shipped task to hold each strategy within two points of its floor.
"""

from __future__ import annotations

import math
import random
import runpy
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from harness.retrieval.api import retrieve
from harness.retrieval.config import RetrieverConfig
from harness.suites.loader import Suite, SuiteTask

Row = Mapping[str, Any]
TOLERANCE = 0.02  # a degenerate strategy may beat the floor by at most this much
BIAS_ALPHA = 0.01  # a diagnostic strategy fails only on a significant excess over chance


def binomial_excess_p(successes: int, n: int, p: float) -> float:
    """One-sided exact binomial p of at least ``successes`` in ``n`` at rate ``p``."""
    return float(min(1.0, sum(math.comb(n, k) * p**k * (1 - p) ** (n - k) for k in range(successes, n + 1))))


@dataclass(frozen=True)
class DegenerateScore:
    """One strategy on one task: its mean primary score, the task's floor and the verdict.

    ``diagnostic`` strategies (the longest option) test a property of the data rather than of
    the scorer: with distractors drawn at random the longest option is gold 1/4 of the time
    give or take 7 pp on 40 questions, so they fail only on an excess a binomial test finds
    (p < ``BIAS_ALPHA``) — a length bias a model could learn to exploit."""

    task: str
    strategy: str
    score: float
    floor: float
    n: int
    diagnostic: bool = False

    @property
    def at_floor(self) -> bool:
        if self.diagnostic:
            return binomial_excess_p(round(self.score * self.n), self.n, self.floor) >= BIAS_ALPHA
        return self.score <= self.floor + TOLERANCE


def uniform_guess_macro_f1(gold: Sequence[Any], k: int) -> float:
    """Expected macro-F1 of a uniform random guess over ``k`` labels: per label the guesser's
    precision is the label's gold share pi and its recall 1/k, so F1 = 2 pi (1/k) / (pi + 1/k);
    labels never gold score 0, and the mean is over all k labels."""
    shares = np.unique(np.array(gold), return_counts=True)[1] / len(gold)
    return float(np.sum(2 * shares / k / (shares + 1 / k)) / k)


# ----------------------------------------------------------------------------- open QA


def _list_candidates(row: Row, _context: str, rng: random.Random) -> str:
    values = [row["answer"], *(row.get("candidates") or [])]
    rng.shuffle(values)
    return ", ".join(values)


def _list_candidates_as_sentences(row: Row, context: str, rng: random.Random) -> str:
    return ". ".join(_list_candidates(row, context, rng).split(", ")) + "."


def _copy_context(_row: Row, context: str, _rng: random.Random) -> str:
    return context


def _echo_question(row: Row, _context: str, _rng: random.Random) -> str:
    return str(row["question"])


OPEN_QA: dict[str, Callable[[Row, str, random.Random], str]] = {
    "list-every-candidate": _list_candidates,
    "list-every-candidate-as-sentences": _list_candidates_as_sentences,
    "copy-the-context": _copy_context,
    "echo-the-question": _echo_question,
}


def _contexts(suite: Suite, rows: Sequence[Row], top_k: int) -> list[str]:
    """What a RAG condition would paste: the top-k BM25 passages for each question, in order."""
    hits = retrieve(suite.corpus, [str(r["question"]) for r in rows], RetrieverConfig(kind="bm25", top_k=top_k))
    text = {str(doc["id"]): f"{doc.get('title', '')}: {doc['text']}" for doc in suite.corpus}
    return ["\n".join(text[h.doc_id] for h in row_hits) for row_hits in hits]


def _open_qa(suite: Suite, task: SuiteTask, utils: Mapping[str, Any], top_k: int) -> list[DegenerateScore]:
    rows = task.rows
    contexts = _contexts(suite, rows, top_k)
    out = []
    for name, answer in OPEN_QA.items():
        rng = random.Random(0)
        scores = [utils["process_qa"](dict(row), [answer(row, ctx, rng)])[task.primary_metric]
                  for row, ctx in zip(rows, contexts, strict=True)]
        out.append(DegenerateScore(task.name, name, float(np.mean(scores)), 0.0, len(rows)))
    return out


# ----------------------------------------------------------------------------- choices and labels


def _multiple_choice(task: SuiteTask) -> list[DegenerateScore]:
    """Always option k (the best k reported) and always the longest option, against the mean
    chance 1/#choices."""
    rows = task.rows
    floor = float(np.mean([1 / len(r["choices"]) for r in rows]))
    width = max(len(r["choices"]) for r in rows)
    same = max(float(np.mean([r["label"] == k for r in rows])) for k in range(width))
    longest = float(np.mean([max(range(len(r["choices"])), key=lambda i, r=r: len(str(r["choices"][i]))) == r["label"]
                             for r in rows]))
    return [DegenerateScore(task.name, "always-the-same-option", same, floor, len(rows)),
            DegenerateScore(task.name, "always-the-longest-option", longest, floor, len(rows), diagnostic=True)]


def _classification(task: SuiteTask, utils: Mapping[str, Any]) -> list[DegenerateScore]:
    """Always the majority label, through the task's own process_cls/macro_f1; the floor of
    accuracy is the majority share, that of macro-F1 a uniform guess."""
    labels = list(task.labels)
    majority = Counter(r["label"] for r in task.rows).most_common(1)[0][0]
    logliks = [[0.0 if label == majority else -1.0] for label in labels]
    results = [utils["process_cls"]({**row, "choices": labels}, logliks) for row in task.rows]
    gold = [labels.index(r["label"]) for r in task.rows]
    if task.primary_metric == "macro_f1":
        score = float(utils["macro_f1"]([r["macro_f1"] for r in results]))
        floor = uniform_guess_macro_f1(gold, len(labels))
    else:
        score = float(np.mean([r[task.primary_metric] for r in results]))
        floor = Counter(gold).most_common(1)[0][1] / len(gold)
    return [DegenerateScore(task.name, "always-the-majority-label", score, floor, len(task.rows))]


def audit_suite(suite: Suite, top_k: int = 3) -> list[DegenerateScore]:
    """Every applicable degenerate strategy on every task of ``suite``."""
    utils = runpy.run_path(str(suite.root / "utils.py"))
    out: list[DegenerateScore] = []
    for task in suite.tasks:
        if task.kind == "open_qa":
            out += _open_qa(suite, task, utils, top_k)
        elif task.kind == "multiple_choice":
            out += _multiple_choice(task)
        else:
            out += _classification(task, utils)
    return out


__all__ = ["BIAS_ALPHA", "OPEN_QA", "TOLERANCE", "DegenerateScore", "audit_suite", "binomial_excess_p",
           "uniform_guess_macro_f1"]
