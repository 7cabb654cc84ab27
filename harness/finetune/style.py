"""The format control: training rows in the suite's own format about facts it does not contain.

Why: a fine-tuned arm can gain by learning *how* to answer (terse, in the expected form, using
the passage) as much as by learning the facts. The ``style`` adapter is trained exactly like
``ft`` — same hyper-parameters, same number of examples, so the same optimizer steps — on other
suites' training Q&A rendered in this suite's ``train_format``. Every control row whose question
or answer names a fact of this suite (a key answer of its eval rows, or a training answer) is
left out, so what style learns is the format. ``style − base`` is then the format part of a
gain and ``ft − style`` the knowledge part.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from typing import Any

from harness.errors import HarnessError
from harness.finetune.arm_settings import StyleSettings
from harness.suites import Suite
from harness.suites.text import normalize_text

Row = Mapping[str, Any]


def suite_fact_values(suite: Suite) -> set[str]:
    """The normalised values that identify the suite's facts: its eval rows' key answers and aliases
    and its training answers."""
    from harness.finetune.recall import fact_keys

    values = {key for keys in fact_keys(suite).values() for key in keys}
    values |= {normalize_text(str(row.get("answer", ""))) for row in suite.train}
    return {v for v in values if v}


def names_a_fact(row: Row, values: set[str]) -> bool:
    """The row's question or answer contains one of ``values`` as whole words."""
    said = f" {normalize_text(str(row.get('question', '')))} {normalize_text(str(row.get('answer', '')))} "
    return any(f" {value} " in said for value in values)


def control_pool(sources: Sequence[Suite], suite: Suite) -> list[dict[str, Any]]:
    """The sources' training rows that name none of the suite's facts (ids prefixed by source)."""
    values = suite_fact_values(suite)
    pool = []
    for source in sources:
        if source.name == suite.name:
            raise HarnessError(f"style.sources names the experiment's own suite '{suite.name}': the format "
                               "control must be trained on other facts; choose other suites")
        for row in source.train:
            if {"question", "answer"} <= set(row) and not names_a_fact(row, values):
                pool.append(dict(row, id=f"style-{source.name}-{row.get('id')}"))
    if not pool:
        raise HarnessError(f"style.sources {[s.name for s in sources]}: no training row is left once the rows "
                           f"naming a fact of '{suite.name}' are dropped; choose other suites")
    return pool


def control_rows(settings: StyleSettings, suite: Suite, sources: Sequence[Suite]) -> list[dict[str, Any]]:
    """As many control rows as the suite has training rows (a seeded draw, cycled when the pool
    is smaller), so style trains for exactly ft's number of steps."""
    pool = control_pool(sources, suite)
    order = list(range(len(pool)))
    random.Random(f"style:{settings.seed}").shuffle(order)
    return [pool[order[i % len(order)]] for i in range(len(suite.train))]


def load_sources(settings: StyleSettings) -> list[Suite]:
    """The suites named by ``style.sources`` (a shipped name or a folder)."""
    from harness.spec import PROJECT_ROOT
    from harness.suites import load_suite

    return [load_suite(name, tasks_root=PROJECT_ROOT / "tasks") for name in settings.sources]
