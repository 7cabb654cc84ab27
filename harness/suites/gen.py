"""Shared pieces of the shipped suite generators (``harness.suites.<name>``).

A generator is a pure function ``generate() -> {relative file name: text}`` driven by one seeded
``random.Random``; this module renders rows and ``suite.yaml`` (through the one suite writer,
``harness.suites.writer``), writes the files and provides
the ``python -m harness.suites.<name> [--out DIR]`` command line, so every generator is only
its fact tables and templates. Regenerating must reproduce the committed files byte for byte.
"""

from __future__ import annotations

import argparse
import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from harness.jsonl import dumps_row
from harness.suites.writer import Manifest, ManifestTask, manifest_text

NUMBER_WORDS: tuple[str, ...] = (
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
    "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen",
    "nineteen", "twenty",
)  # fmt: skip
MONTHS: tuple[str, ...] = (
    "January", "February", "March", "April", "May", "June", "July", "August", "September",
    "October", "November", "December",
)  # fmt: skip


def cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def number_word(n: int) -> str:
    """English words for 0..99 ("twenty-eight")."""
    if n < len(NUMBER_WORDS):
        return NUMBER_WORDS[n]
    tens = {2: "twenty", 3: "thirty", 4: "forty", 5: "fifty", 6: "sixty", 7: "seventy", 8: "eighty",
            9: "ninety"}[n // 10]
    return tens if n % 10 == 0 else f"{tens}-{NUMBER_WORDS[n % 10]}"


def jsonl(rows: Sequence[Mapping[str, Any]]) -> str:
    return "".join(dumps_row(row) + "\n" for row in rows)


def balanced_labels(n: int, k: int, rng: random.Random) -> list[int]:
    """``n`` gold positions in ``range(k)``, as balanced as ``n`` allows, shuffled."""
    labels = [i % k for i in range(n)]
    rng.shuffle(labels)
    return labels


# ----------------------------------------------------------------------------- facts → rows


class Stated(Protocol):
    """What the row builders read from a fact (``Fact`` below, or a generator's own class)."""

    @property
    def fact_id(self) -> str: ...
    @property
    def doc_id(self) -> str: ...
    @property
    def value(self) -> str: ...
    @property
    def aliases(self) -> tuple[str, ...]: ...


@dataclass(frozen=True)
class Fact:
    """One (subject, attribute) → value fact of a generated suite, stated in document ``doc_id``.

    ``slots`` fill the question/answer templates (``{value}`` is added); ``attr`` picks the
    template family.
    """

    fact_id: str
    doc_id: str
    attr: str
    value: str
    slots: Mapping[str, str]
    aliases: tuple[str, ...] = field(default=())

    def fill(self, template: str, capitalize: bool = True) -> str:
        text = template.format(**self.slots, value=self.value)
        return cap(text) if capitalize else text


def train_rows(prefix: str, facts: Sequence[Fact], templates: Mapping[str, Sequence[str]],
               answers: Mapping[str, str], rng: random.Random, per_fact: int = 2,
               start: int = 0, **extra: Any) -> list[dict[str, Any]]:
    """``per_fact`` training phrasings per fact (drawn from ``templates[attr]``), each answered by
    the full sentence ``answers[attr]``; ids continue from ``start``; ``extra`` fields are added."""
    rows = []
    for fact in facts:
        for template in rng.sample(list(templates[fact.attr]), per_fact):
            rows.append({
                "id": f"{prefix}-train-{start + len(rows) + 1:04d}",
                "question": fact.fill(template),
                "answer": fact.fill(answers[fact.attr], capitalize=False),
                "doc_id": fact.doc_id,
                "fact_id": fact.fact_id,
                **extra,
            })
    return rows


def qa_row(row_id: str, question: str, fact: Stated, gold_ids: Sequence[str] | None = None,
           **extra: Any) -> dict[str, Any]:
    """An open-QA eval row whose target is the fact's short value (+ aliases)."""
    return {
        "id": row_id,
        "question": question,
        "answer": fact.value,
        "aliases": list(fact.aliases),
        "gold_ids": list(gold_ids or [fact.doc_id]),
        "fact_id": fact.fact_id,
        **extra,
        "context": "",
    }


def mc_row(row_id: str, question: str, fact: Stated, distractors: Sequence[str], label: int,
           **extra: Any) -> dict[str, Any]:
    """A multiple-choice eval row: the fact's value inserted at ``label`` among ``distractors``."""
    choices = list(distractors)
    choices.insert(label, fact.value)
    return {
        "id": row_id,
        "question": question,
        "choices": choices,
        "label": label,
        "gold_ids": [fact.doc_id],
        "fact_id": fact.fact_id,
        **extra,
        "context": "",
    }


class Attributed(Stated, Protocol):
    """A fact that names its attribute (``Fact`` below, agri's practice facts)."""

    @property
    def attr(self) -> str: ...


def attr_candidates(fact: Attributed, facts: Sequence[Attributed]) -> list[str]:
    """The other values (and their aliases) of the fact's attribute in the suite: the row's
    ``candidates``, which the open-QA scorer refuses to see asserted beside the gold value."""
    own = {fact.value, *fact.aliases}
    return sorted({v for f in facts if f.attr == fact.attr for v in (f.value, *f.aliases)} - own)


def same_attr_distractors(fact: Fact, facts: Sequence[Fact], rng: random.Random, k: int = 3,
                          exclude: Sequence[str] = ()) -> list[str]:
    """``k`` other values of the same attribute (never the fact's own value or ``exclude``)."""
    pool = sorted({f.value for f in facts if f.attr == fact.attr} - {fact.value, *exclude})
    return rng.sample(pool, k)


# ----------------------------------------------------------------------------- suite.yaml


SHARED_SCORER = "../agri/utils.py"  # the open-QA scorer and loader every shipped suite runs by path


def suite_yaml(name: str, description: str, tasks: Sequence[ManifestTask], version: str = "1",
               code: tuple[str, ...] = ()) -> str:
    """The suite manifest (docs/suite-format.md), with a do-not-edit header. ``code``: the task
    code outside the folder its utils.py runs (``SHARED_SCORER`` for the shipped suites but
    agri, which owns it)."""
    header = f"# Generated by `python -m harness.suites.{name}`; do not edit by hand (see README.md)."
    return manifest_text(Manifest(name, description, tasks, header=header, layout="folded", version=version,
                                  code=code))


# ----------------------------------------------------------------------------- writing + CLI


def write_files(out: Path, files: Mapping[str, str]) -> dict[str, int]:
    """Write ``files`` under ``out``; returns rows per file (lines for jsonl, else 1)."""
    sizes = {}
    for name, text in files.items():
        path = out / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8", newline="\n")
        sizes[name] = text.count("\n") if name.endswith(".jsonl") else 1
    return sizes


def cli(name: str, doc: str, generate: Callable[[], Mapping[str, str]],
        argv: Sequence[str] | None = None) -> int:
    """``python -m harness.suites.<name> [--out tasks/<name>]``: write and list the files."""
    default = Path("tasks") / name
    parser = argparse.ArgumentParser(prog=f"python -m harness.suites.{name}", description=doc.splitlines()[0])
    parser.add_argument("--out", type=Path, default=default, help=f"suite folder (default: {default})")
    args = parser.parse_args(argv)
    for file, count in write_files(args.out, generate()).items():
        print(f"{args.out / file}: {count} {'rows' if file.endswith('.jsonl') else 'file'}")
    return 0
