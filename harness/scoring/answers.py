"""What a stored record answered and what it should have: the texts every scorer compares.

A multiple-choice record stores indices (``output``, ``target``) into ``choices``; an open-QA
record stores the generated text and the reference answer(s).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

CORRECT_AT = 0.5  # a primary score at or above this counts as a correct answer


def is_generation(record: Mapping[str, Any]) -> bool:
    """Open QA (generate_until) rather than multiple choice (an index into ``choices``)."""
    return "choices" not in record and isinstance(record.get("output"), str)


def _choice(record: Mapping[str, Any], index: Any) -> str | None:
    choices = record.get("choices") or []
    try:
        return str(choices[int(index)])
    except (TypeError, ValueError, IndexError):
        return None


def references(record: Mapping[str, Any]) -> list[str]:
    """The gold answer(s) as text."""
    target = record.get("target")
    if "choices" in record:
        gold = _choice(record, target)
        return [gold] if gold is not None else []
    if isinstance(target, (list, tuple)):
        return [str(t) for t in target if str(t).strip()]
    return [str(target)] if target is not None and str(target).strip() else []


def answer_text(record: Mapping[str, Any]) -> str | None:
    """The model's answer as text (the chosen option for multiple choice)."""
    if "choices" in record:
        return _choice(record, record.get("output"))
    output = record.get("output")
    return None if output is None else str(output)


def context_of(record: Mapping[str, Any]) -> str:
    """The passages the prompt included ('' for closed book)."""
    return str(record.get("context") or "")
