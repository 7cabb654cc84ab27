"""Training-set recall: does the adapter answer its own training questions?

Why: an FT row that scores low on held-out paraphrases says nothing about fine-tuning as a way
to inject knowledge when the adapter never learned the facts in the first place (3 epochs of
the default reach well below what 8 epochs at a higher lr do). Before the row is read, the run
asks the adapter — closed book, through the backend evaluation uses — up to ``finetune.recall.n``
of its training questions (drawn with the run seed) and reports the share it gets right.

Correct (the definition the leaderboard line states): the normalised completion contains a
*key value* of the question's fact, normalised the way the open-QA ``contains`` scorer
normalises (lowercase, no punctuation or articles). The key values of a fact are the short
answers the eval rows of the same ``fact_id`` carry — an open-QA row's ``answer`` and
``aliases``, a multiple-choice row's correct choice. A fact no eval row names is correct when the
completion contains the whole normalised training answer.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from harness.finetune.adapter import Adapter
from harness.models.wheels import LocalModel
from harness.sections import EvalSettings, ModelSpec
from harness.suites import Suite, render_train_example
from harness.suites.text import normalize_text

Row = Mapping[str, Any]
DEFINITION = ("completion contains a key value of the fact (the eval rows' short answer or alias of the same "
              "fact_id, else the whole training answer), normalised as the contains scorer does")


def fact_keys(suite: Suite) -> dict[str, list[str]]:
    """fact_id -> the normalised short answers the suite's eval rows give for it."""
    keys: dict[str, list[str]] = {}
    for task in suite.tasks:
        for row in task.rows:
            fact = row.get("fact_id")
            if not fact:
                continue
            values: list[Any] = []
            if task.kind == "open_qa":
                values = [row.get("answer"), *(row.get("aliases") or [])]
            elif task.kind == "multiple_choice" and isinstance(row.get("choices"), list):
                label = row.get("label")
                if isinstance(label, int) and 0 <= label < len(row["choices"]):
                    values = [row["choices"][label]]
            for value in values:
                text = normalize_text(str(value)) if isinstance(value, (str, int, float)) else ""
                if text and text not in keys.setdefault(str(fact), []):
                    keys[str(fact)].append(text)
    return keys


def recall_sample(train: Sequence[Row], n: int, seed: int) -> list[Row]:
    """Up to ``n`` training rows drawn with ``seed``, in training-file order."""
    picked = sorted(random.Random(f"training-recall:{seed}").sample(range(len(train)), min(n, len(train))))
    return [train[i] for i in picked]


def is_recalled(completion: str, row: Row, keys: Mapping[str, Sequence[str]]) -> bool:
    """The definition above, for one training row and the model's completion."""
    return contains_key(completion, row_keys(row, keys))


def row_keys(row: Row, keys: Mapping[str, Sequence[str]]) -> list[str]:
    """The key values a training row's answer must contain: its fact's, else its whole answer."""
    return list(keys.get(str(row.get("fact_id") or "")) or [normalize_text(str(row.get("answer", "")))])


def contains_key(completion: str, wanted: Sequence[str]) -> bool:
    """Whether the normalised completion contains one of the normalised ``wanted`` values as whole words."""
    said = f" {normalize_text(completion)} "
    return any(key and f" {key} " in said for key in wanted)


@dataclass(frozen=True)
class RecallEstimate:
    """The share of sampled training questions answered, with its Wilson 95% interval."""

    n: int
    correct: int
    low: float
    high: float
    warn_below: float

    @property
    def recall(self) -> float:
        return self.correct / self.n if self.n else float("nan")

    @property
    def under_trained(self) -> bool:
        return self.n > 0 and self.recall < self.warn_below

    def to_json(self) -> dict[str, Any]:
        return {"n": self.n, "correct": self.correct, "recall": self.recall, "ci_low": self.low,
                "ci_high": self.high, "warn_below": self.warn_below, "under_trained": self.under_trained,
                "definition": DEFINITION}


def estimate(flags: Sequence[bool], warn_below: float) -> RecallEstimate:
    """Recall of 0/1 outcomes with the Wilson interval (sound at n of a few dozen and near 1)."""
    from harness.scoring.stats import wilson

    n, k = len(flags), sum(bool(f) for f in flags)
    low, high = wilson(k, n) if n else (float("nan"), float("nan"))
    return RecallEstimate(n, k, float(low), float(high), warn_below)


def training_recall(adapter: Adapter, suite: Suite, model: ModelSpec, evals: EvalSettings, base: LocalModel, *,
                    n: int, warn_below: float, seed: int) -> RecallEstimate:
    """The adapter's recall on up to ``n`` of its training questions (prompt: the suite's
    ``train_format``), through the generation backend evaluation uses; the answers are cached
    by the adapter's fingerprint, so a rerun recomputes nothing."""
    from harness.models.backends import LmSettings
    from harness.models.generate import generate
    from harness.models.resolve import model_under_test

    rows = recall_sample(suite.train, n, seed)
    prompts = [render_train_example(suite, row)[0] for row in rows]
    under_test = model_under_test(model, evals.apply_chat_template, base, adapter, "ft-recall", None)
    answers = generate(under_test, prompts, LmSettings(evals, model.client_settings(), seed))
    keys = fact_keys(suite)
    return estimate([is_recalled(a, row, keys) for a, row in zip(answers, rows, strict=True)], warn_below)


__all__ = ["DEFINITION", "RecallEstimate", "contains_key", "estimate", "fact_keys", "is_recalled", "recall_sample",
           "row_keys", "training_recall"]
