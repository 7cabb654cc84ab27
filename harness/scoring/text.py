"""Text comparisons behind the per-sample scorers: ROUGE-L, word occurrence, claim words.

ROUGE-L is ``rouge_score``'s (Google's reference implementation, the one papers report and
lm-eval's and HF ``evaluate``'s ROUGE call), so a figure here can be set beside a published one;
a hand-written LCS on our own normalisation differed from it on 113 of 120 agri answers.
The other comparisons use the suites' answer normalisation
(``harness.suites.text.normalize_text``), the same one the ``contains`` score uses, so "the
answer occurs in the context" means what a correct answer means.
"""

from __future__ import annotations

import functools
import math
import sys
from typing import Any

from harness.suites.text import normalize_text

STEM_LEN = 5
SUFFIXES = ("ations", "ation", "ings", "ing", "ions", "ion", "ed", "es", "s", "e")

# Function words that say nothing about whether an answer is grounded in the context.
STOPWORDS = frozenset("""
a an the and or but if then of in on at to for from by with without into onto over under about as
is are was were be been being do does did has have had having it its this that these those there
here which who whom whose what when where why how i you he she we they me him her us them my your
his our their not no yes so than too very can could should would may might must will shall just
also only any some all each both either neither such same other more most less least own up down
out off again further once during before after above below between through while until because
answer question context based according recommended best right correct time s t
main important suitable suited typical usually generally
""".split())


def tokens(text: Any) -> list[str]:
    return normalize_text(str(text or "")).split()


def content_tokens(text: Any) -> list[str]:
    return [t for t in tokens(text) if t not in STOPWORDS]


@functools.cache
def _rouge_l_scorer() -> Any:
    """Built on first use: importing rouge_score pulls in nltk and absl, which the CLI need not
    pay for. absl's logging handler keeps the ``sys.stderr`` of the moment it is imported and
    closes it when logging is reconfigured (Hydra's dictConfig) unless it is the ``sys.stderr``
    of that later moment; under a redirected stderr (pytest's capture, a notebook) that closed
    the redirect. It is pointed at the process's own stderr, which it never closes."""
    from absl import logging as absl_logging
    from rouge_score import rouge_scorer

    absl_logging.get_absl_handler().python_handler.setStream(sys.__stderr__)
    return rouge_scorer.RougeScorer(["rougeL"], use_stemmer=False)


def rouge_l(prediction: Any, reference: Any) -> float:
    """ROUGE-L F-measure of the raw strings, exactly ``rouge_score``'s
    ``RougeScorer(["rougeL"], use_stemmer=False)``: lower-cased, every run of characters other
    than a-z and 0-9 a separator, no stemming (lm-eval's TruthfulQA and HF ``evaluate`` default;
    lm-eval stems only for summarisation). 0.0 when either side has no tokens."""
    score = _rouge_l_scorer().score(str(reference or ""), str(prediction or ""))
    return float(score["rougeL"].fmeasure)


def occurs(needle: Any, haystack: Any) -> bool:
    """``needle`` occurs in ``haystack`` as whole normalised words."""
    n = normalize_text(str(needle or ""))
    return bool(n) and f" {n} " in f" {normalize_text(str(haystack or ''))} "


def stem(word: str) -> str:
    """A crude stem (one common suffix off, then at most five letters), so "irrigate" matches
    "irrigation" and "pest" matches "pests"."""
    for suffix in SUFFIXES:
        if len(word) > len(suffix) + 2 and word.endswith(suffix):
            word = word[: -len(suffix)]
            break
    return word[:STEM_LEN]


def claim_words(answer: Any, question: Any = "") -> list[str]:
    """The answer's content words that the question did not already contain: what it claims."""
    asked = {stem(w) for w in tokens(question)}
    return [w for w in content_tokens(answer) if stem(w) not in asked]


def context_word_overlap(answer: Any, context: Any, question: Any = "") -> float:
    """Share of the answer's claim words (content words not in the question) found in the
    context, compared by stem (nan: the answer claims nothing). A lexical overlap, not
    faithfulness: a word can occur in the context while the claim contradicts it; the word
    "faithfulness" is kept for an entailment or judge measure."""
    words = claim_words(answer, question)
    if not words:
        return math.nan
    vocabulary = {stem(w) for w in tokens(context)}
    return sum(stem(w) in vocabulary for w in words) / len(words)


def supported_by_context(answer: Any, context: Any, question: Any = "") -> float:
    """1.0 when the answer string, or every claim word of it, occurs in the context."""
    if occurs(answer, context):
        return 1.0
    value = context_word_overlap(answer, context, question)
    return math.nan if math.isnan(value) else float(value == 1.0)
