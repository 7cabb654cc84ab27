"""The dev split both arms are tuned on: carved from the training questions, never the eval set.

Two ways to carve it (``finetune.tune.dev_by``):

* ``paraphrase`` (default): a share of the facts (those with two or more training questions)
  each give up one of their training questions; the fact's other questions stay in training.
  That mirrors what the eval set is — other phrasings of trained facts — so a trial adapter's
  dev score measures what its eval score will (knowing the fact under a new phrasing). No dev
  question occurs among the trial's training questions.
* ``fact``: every question of the held-out facts is dev, so no fact is shared between the trial's
  training rows and the dev rows. The FT trials then never saw a dev fact; on suites of
  invented facts their dev score can only be luck, so use it for suites whose facts generalise.

Pure: rows in, rows out, seeded by the run seed.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from harness.errors import HarnessError
from harness.suites.text import normalize_text

Row = Mapping[str, Any]


@dataclass(frozen=True)
class DevSplit:
    """Training rows for the trials, the dev rows they are scored on, and which facts gave them."""

    train: list[Row]
    dev: list[Row]
    dev_facts: tuple[str, ...]
    by: str

    def summary(self) -> dict[str, Any]:
        return {"by": self.by, "dev_questions": len(self.dev), "dev_facts": len(self.dev_facts),
                "train_questions": len(self.train), "dev_ids": [str(r.get("id")) for r in self.dev]}


def fact_of(row: Row, index: int) -> str:
    """The row's fact (``fact_id``; a row without one is a fact of its own)."""
    return str(row.get("fact_id") or row.get("id") or f"row-{index}")


def _by_fact(rows: Sequence[Row]) -> dict[str, list[int]]:
    out: dict[str, list[int]] = {}
    for i, row in enumerate(rows):
        out.setdefault(fact_of(row, i), []).append(i)
    return out


def dev_split(rows: Sequence[Row], share: float, seed: int, by: str = "paraphrase") -> DevSplit:
    """Hold out ``share`` of the (eligible) facts' questions as dev, seeded by ``seed``.

    At least one fact goes to dev and at least one fact keeps training questions. A dev question
    whose text (normalised) also occurs among the training rows is dropped from dev, so no dev
    question is ever trained on verbatim.
    """
    facts = _by_fact(rows)
    eligible = sorted(f for f, idx in facts.items() if by == "fact" or len(idx) >= 2)
    if by == "fact" and len(eligible) < 2:
        raise HarnessError("finetune.tune: the training set has fewer than two facts; nothing to hold out as dev")
    if not eligible:
        raise HarnessError("finetune.tune.dev_by=paraphrase: no fact has two or more training questions to hold "
                           "one out; use finetune.tune.dev_by=fact")
    n_dev = min(max(1, round(share * len(eligible))), len(eligible) - 1 if by == "fact" else len(eligible))
    rng = random.Random(f"dev-split:{seed}:{by}")
    chosen = sorted(rng.sample(eligible, n_dev))
    held: set[int] = set()
    for fact in chosen:
        idx = facts[fact]
        held |= set(idx) if by == "fact" else {rng.choice(idx)}
    train = [row for i, row in enumerate(rows) if i not in held]
    seen = {normalize_text(str(row.get("question", ""))) for row in train}
    dev = [rows[i] for i in sorted(held) if normalize_text(str(rows[i].get("question", ""))) not in seen]
    if not dev:
        raise HarnessError("finetune.tune: every dev question also occurs among the training questions; "
                           "the training set has duplicate questions")
    return DevSplit(train, dev, tuple(chosen), by)


__all__ = ["DevSplit", "dev_split", "fact_of"]
