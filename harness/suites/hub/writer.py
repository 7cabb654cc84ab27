"""Write a converted hub dataset as a suite folder (docs/suite-format.md) and validate it.

The folder is a cache entry (``<cache>/hub_suites/<key>/``) built in a scratch folder and
published only after ``load_suite`` accepted it, so a run never sees half a conversion.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from harness.suites.hub.rows import Row
from harness.suites.hub.tasks import TaskSpec, task_utils
from harness.suites.loader import SUITE_FILE, load_suite, write_jsonl

TRAIN_FORMAT = {"prompt": "{prompt}", "completion": " {answer}"}  # rows carry the rendered eval prompt


@dataclass
class Converted:
    """A dataset in the suite format, before it is written."""

    description: str
    corpus: list[Row]
    train: list[Row]
    tasks: list[tuple[TaskSpec, list[Row]]]
    notes: list[str] = field(default_factory=list)  # conversion decisions and counts for the card


def _suite_yaml(name: str, converted: Converted) -> str:
    tasks = []
    for spec, _ in converted.tasks:
        entry: dict[str, Any] = {"name": spec.name, "yaml": f"{spec.name}.yaml", "data": spec.data, "kind": spec.kind,
                                 "primary_metric": spec.primary_metric}
        if spec.labels:
            entry["labels"] = list(spec.labels)
        tasks.append(entry)
    body = {"name": name, "version": "1", "description": converted.description, "corpus": "corpus.jsonl",
            "train": "train.jsonl", "train_format": TRAIN_FORMAT, "tasks": tasks}
    return ("# Converted from a public dataset by harness.suites.hub; see README.md and docs/hub-suites.md.\n"
            + yaml.safe_dump(body, sort_keys=False, allow_unicode=True, width=100))


def _card(name: str, converted: Converted, provenance: list[str]) -> str:
    lines = [f"# {name} (converted hub dataset)", "", converted.description, "",
             f"- corpus: {len(converted.corpus)} documents", f"- train: {len(converted.train)} pairs"]
    lines += [f"- {spec.name}: {len(rows)} eval rows ({spec.kind}, primary metric {spec.primary_metric})"
              for spec, rows in converted.tasks]
    lines += ["", "## Provenance", ""] + [f"- {p}" for p in provenance]
    lines += ["", "## Conversion", ""] + [f"- {n}" for n in converted.notes] + [""]
    return "\n".join(lines)


def write_suite(out: Path, name: str, converted: Converted, provenance: list[str]) -> None:
    """Write every file of the suite into ``out`` (an empty scratch folder) and validate it."""
    write_jsonl(out / "corpus.jsonl", converted.corpus)
    write_jsonl(out / "train.jsonl", converted.train)
    for spec, rows in converted.tasks:
        write_jsonl(out / spec.data, [dict(r, context="") for r in rows])
        (out / f"{spec.name}.yaml").write_text(spec.yaml_text(), encoding="utf-8")
    (out / "utils.py").write_text(task_utils([spec for spec, _ in converted.tasks]), encoding="utf-8")
    (out / SUITE_FILE).write_text(_suite_yaml(name, converted), encoding="utf-8")
    (out / "README.md").write_text(_card(name, converted, provenance), encoding="utf-8")
    load_suite(out, out.parent)
