"""Word-level helpers shared by the generators, filters, split and quality measures.

Tokens are the words of ``harness.suites.text.normalize_text`` (lowercase, punctuation → space,
articles dropped), so "mid-October" and "mid October" are the same two tokens everywhere —
in deduplication, in the answer-support filter and in the suite's own leakage check.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence

from harness.suites.text import normalize_text

STOPWORDS = frozenset(
    """a an the and or but if then than so of in on at to for from by with without into onto over under
    about after before during between through per via as is are was were be been being am do does did
    done have has had having can could should would may might must shall will it its it's this that these
    those there here their they them he she his her we our you your i me my what which who whom whose when
    where why how not no nor also very just only each every any all some most more much many such other
    same own both either neither while until once up down out off again further too""".split()
)


def tokens(text: str) -> list[str]:
    return normalize_text(text).split()


def content_tokens(text: str) -> list[str]:
    """Tokens that carry meaning (stopwords dropped); all tokens if every one is a stopword."""
    words = tokens(text)
    kept = [w for w in words if w not in STOPWORDS]
    return kept or words


def jaccard(a: set[str] | frozenset[str], b: set[str] | frozenset[str]) -> float:
    if not a and not b:
        return 1.0
    return len(a & b) / len(a | b)


def same_answer(a: str, b: str) -> bool:
    """Equal after normalisation, or sharing at least half their tokens (Jaccard ≥ 0.5)."""
    ta, tb = tokens(a), tokens(b)
    return ta == tb or jaccard(set(ta), set(tb)) >= 0.5


def contains_phrase(haystack: str, needle: str) -> bool:
    """``needle`` occurs in ``haystack`` on word boundaries, after normalisation."""
    hay, need = normalize_text(haystack), normalize_text(needle)
    return bool(need) and f" {need} " in f" {hay} "


def similar_pairs(sets: Sequence[frozenset[str]], threshold: float) -> Callable[[int], list[int]]:
    """``earlier(i)`` → indices ``j < i`` whose set has Jaccard ≥ ``threshold`` with set ``i``.

    Prefix filtering keeps this near-linear: two sets can only reach the threshold if they share
    a token among the first ``|s| - ceil(threshold·|s|) + 1`` of their rarest tokens, so only
    items sharing such a prefix token are compared exactly.
    """
    frequency: dict[str, int] = defaultdict(int)
    for s in sets:
        for token in s:
            frequency[token] += 1
    ordered = [sorted(s, key=lambda t: (frequency[t], t)) for s in sets]
    postings: dict[str, list[int]] = defaultdict(list)
    indexed = 0

    def prefix(i: int) -> list[str]:
        size = len(ordered[i])
        keep = size - int(threshold * size + 1 - 1e-9) + 1 if threshold > 0 else size
        return ordered[i][: max(1, min(size, keep))]

    def earlier(i: int) -> list[int]:
        nonlocal indexed
        while indexed < i:  # index every set before i (callers walk i upwards)
            for token in prefix(indexed):
                postings[token].append(indexed)
            indexed += 1
        candidates = {j for token in prefix(i) for j in postings.get(token, ())}
        return sorted(j for j in candidates if jaccard(sets[i], sets[j]) >= threshold)

    return earlier
