"""Quality filters and deduplication of generated pairs; every drop is counted by reason.

Filters (in this order; a pair is counted under the first it fails):

* ``question_length`` / ``answer_length`` — word counts outside ``[min, max]``;
* ``answer_in_question`` — the normalised answer occurs verbatim in the question (it gives
  itself away);
* ``answer_unsupported`` — the answer neither occurs in its section (normalised, on word
  boundaries) nor has at least ``answer_support`` of its content tokens there.

Deduplication, over the survivors in generation order (the first of a group is kept):

* ``exact`` — same normalised question and answer (lowercase, punctuation → space, articles
  dropped — the suite loader's leakage normalisation);
* ``near`` — question token Jaccard ≥ ``near_duplicate`` and matching answers (equal after
  normalisation or token Jaccard ≥ 0.5). The answer condition keeps templated questions about
  different facts ("… above ____." / "1,400 metres" vs "900 metres") apart.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from harness.qagen.generators import QAPair
from harness.qagen.lexical import (content_tokens, contains_phrase, normalize_text, same_answer, similar_pairs,
                                   tokens)
from harness.qagen.sections import Section

REASONS = ("question_length", "answer_length", "answer_in_question", "answer_unsupported")


@dataclass(frozen=True)
class FilterSettings:
    min_question_words: int = 3
    max_question_words: int = 40
    min_answer_words: int = 1
    max_answer_words: int = 30
    answer_support: float = 0.75
    near_duplicate: float = 0.8

    @classmethod
    def from_config(cls, cfg: dict[str, Any]) -> FilterSettings:
        known = {k: cfg[k] for k in cls.__dataclass_fields__ if k in cfg}
        return cls(**known)


@dataclass
class FilterReport:
    dropped: Counter = field(default_factory=Counter)  # reason → count
    duplicates_exact: int = 0
    duplicates_near: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {"filtered": {r: int(self.dropped.get(r, 0)) for r in REASONS},
                "duplicates": {"exact": self.duplicates_exact, "near": self.duplicates_near}}


def reject_reason(pair: QAPair, section: Section, settings: FilterSettings) -> str | None:
    """The first filter ``pair`` fails, or None when it passes them all."""
    if not settings.min_question_words <= len(pair.question.split()) <= settings.max_question_words:
        return "question_length"
    if not settings.min_answer_words <= len(pair.answer.split()) <= settings.max_answer_words:
        return "answer_length"
    if contains_phrase(pair.question, pair.answer):
        return "answer_in_question"
    if not contains_phrase(section.text, pair.answer):
        wanted = set(content_tokens(pair.answer))
        present = set(tokens(section.text))
        if not wanted or len(wanted & present) / len(wanted) < settings.answer_support:
            return "answer_unsupported"
    return None


def apply_filters(pairs: list[QAPair], sections: dict[str, Section], settings: FilterSettings,
                  report: FilterReport) -> list[QAPair]:
    kept = []
    for pair in pairs:
        reason = reject_reason(pair, sections[pair.section_id], settings)
        if reason is None:
            kept.append(pair)
        else:
            report.dropped[reason] += 1
    return kept


def deduplicate(pairs: list[QAPair], settings: FilterSettings, report: FilterReport) -> list[QAPair]:
    seen: set[tuple[str, str]] = set()
    unique: list[QAPair] = []
    for pair in pairs:
        key = (normalize_text(pair.question), normalize_text(pair.answer))
        if key in seen:
            report.duplicates_exact += 1
        else:
            seen.add(key)
            unique.append(pair)
    earlier = similar_pairs([frozenset(tokens(p.question)) for p in unique], settings.near_duplicate)
    kept_flags = [True] * len(unique)
    for i in range(len(unique)):
        if any(kept_flags[j] and same_answer(unique[j].answer, unique[i].answer) for j in earlier(i)):
            kept_flags[i] = False
            report.duplicates_near += 1
    return [p for p, keep in zip(unique, kept_flags) if keep]
