"""Training pairs → trl's conversational prompt/completion rows.

The prompt goes in as a single user turn and the completion as the assistant turn, so the
training context is exactly what lm-eval renders with ``apply_chat_template=True`` at
evaluation (chat template + generation prompt), and trl puts the loss on the answer only.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from harness import cache
from harness.errors import HarnessError

log = logging.getLogger(__name__)

Example = tuple[str, str]


def validate_examples(examples: Sequence[Example]) -> list[Example]:
    """Reject empty sets and malformed pairs early, naming the first bad index."""
    if not examples:
        raise HarnessError(
            "the fine-tuning training set is empty; check the suite's train split "
            "(or the finetune data path) before training an adapter"
        )
    clean: list[Example] = []
    for index, pair in enumerate(examples):
        if not (isinstance(pair, (tuple, list)) and len(pair) == 2 and all(isinstance(p, str) for p in pair)):
            raise HarnessError(f"training example {index} is not a (prompt, completion) pair of strings: {pair!r}")
        prompt, completion = pair
        if not prompt.strip() or not completion.strip():
            raise HarnessError(f"training example {index} has an empty prompt or completion: {pair!r}")
        clean.append((prompt, completion))
    return clean


def data_sha256(examples: Sequence[Example]) -> str:
    """Content hash of the pairs, in order (order changes the batches, so it changes the adapter)."""
    return cache.hash_json([[prompt, completion] for prompt, completion in examples])


def user_turn(prompt: str) -> list[dict[str, str]]:
    """The message list lm-eval builds for a prompt when no system instruction is set."""
    return [{"role": "user", "content": prompt}]


def to_rows(examples: Sequence[Example]) -> list[dict[str, Any]]:
    """Conversational prompt/completion rows; the completion's leading space is a plain-text
    artefact (``"Answer:" + " X"``) that has no place inside an assistant turn."""
    return [
        {"prompt": user_turn(prompt), "completion": [{"role": "assistant", "content": completion.strip()}]}
        for prompt, completion in examples
    ]


def count_over_length(tokenizer: Any, rows: Sequence[dict[str, Any]], max_length: int) -> int:
    """How many rows exceed ``max_length`` tokens once rendered (trl truncates them from the end)."""
    over = 0
    for row in rows:
        ids = tokenizer.apply_chat_template(row["prompt"] + row["completion"], tokenize=True)
        if hasattr(ids, "keys"):  # transformers 5 may return a BatchEncoding
            ids = ids["input_ids"]
        if len(ids) > max_length:
            over += 1
    return over
