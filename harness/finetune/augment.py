"""Paraphrase augmentation of SFT data: deterministic template rephrasings of training questions.

Each training row gets ``n`` extra rows whose question is wrapped in a different template
(chosen by a hash of the row id, so the same suite always gives the same data); the answer is
unchanged. It varies the surface form of the question the fact is attached to — what the
agriculture study found helps fine-tuned recall — without a model, a network or randomness.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from typing import Any

from harness.errors import HarnessError

TEMPLATES = (
    "Can you tell me {lower}?",
    "I would like to know: {question}",
    "Quick question: {question}",
    "Please answer the following. {question}",
    "Do you happen to know {lower}?",
    "Here is something I need to find out. {question}",
    "{question} Please be brief.",
    "Tell me, {lower}?",
)


def _forms(question: str) -> dict[str, str]:
    q = question.strip()
    body = q[:-1] if q.endswith("?") else q
    lower = body[:1].lower() + body[1:] if body[1:2].islower() or len(body) < 2 else body
    return {"question": q, "lower": lower}


def paraphrases(question: str, n: int, key: str) -> list[str]:
    """``n`` distinct rephrasings of ``question``, templates picked deterministically from ``key``."""
    if not 1 <= n <= len(TEMPLATES):
        raise HarnessError(f"finetune.augment_n={n}: must be between 1 and {len(TEMPLATES)}")
    start = int(hashlib.sha256(key.encode()).hexdigest(), 16) % len(TEMPLATES)
    forms = _forms(question)
    return [TEMPLATES[(start + i) % len(TEMPLATES)].format_map(forms) for i in range(n)]


def paraphrase_rows(rows: Sequence[Mapping[str, Any]], n: int) -> list[dict[str, Any]]:
    """The extra training rows: ``n`` per row, ids ``<id>-para<i>``, answers unchanged."""
    out = []
    for index, row in enumerate(rows):
        key = str(row.get("id", index))
        for i, question in enumerate(paraphrases(str(row["question"]), n, key), start=1):
            out.append(dict(row, id=f"{key}-para{i}", question=question))
    return out
