"""Text comparisons behind the per-sample scorers: ROUGE-L, word occurrence, claim words.

They use the suites' answer normalisation (``harness.suites.text.normalize_text``), the same
one the ``contains`` score uses, so "the answer occurs in the context" means what a correct
answer means.
"""

from __future__ import annotations

import math
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


def lcs_length(a: list[str], b: list[str]) -> int:
    """Length of the longest common subsequence (two-row dynamic programme)."""
    if len(a) < len(b):
        a, b = b, a
    previous = [0] * (len(b) + 1)
    for x in a:
        current = [0]
        for j, y in enumerate(b, 1):
            current.append(previous[j - 1] + 1 if x == y else max(previous[j], current[j - 1]))
        previous = current
    return previous[-1]


def rouge_l(prediction: Any, reference: Any) -> float:
    """ROUGE-L F1 on normalised tokens; 1.0 when both are empty, 0.0 when one is."""
    pred, ref = tokens(prediction), tokens(reference)
    if not pred or not ref:
        return float(pred == ref)
    lcs = lcs_length(pred, ref)
    if lcs == 0:
        return 0.0
    precision, recall = lcs / len(pred), lcs / len(ref)
    return 2 * precision * recall / (precision + recall)


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


def faithfulness(answer: Any, context: Any, question: Any = "") -> float:
    """Share of the answer's claim words (content words not in the question) found in the
    context, compared by stem (nan: the answer claims nothing)."""
    words = claim_words(answer, question)
    if not words:
        return math.nan
    vocabulary = {stem(w) for w in tokens(context)}
    return sum(stem(w) in vocabulary for w in words) / len(words)


def supported_by_context(answer: Any, context: Any, question: Any = "") -> float:
    """1.0 when the answer string, or every claim word of it, occurs in the context."""
    if occurs(answer, context):
        return 1.0
    value = faithfulness(answer, context, question)
    return math.nan if math.isnan(value) else float(value == 1.0)
