"""Write a converted hub dataset as a suite folder (docs/suite-format.md) and validate it.

The folder is a cache entry (``<cache>/hub_suites/<key>/``) built in a scratch folder and
published only after ``load_suite`` accepted it, so a run never sees half a conversion.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.jsonl import write_jsonl
from harness.suites import writer
from harness.suites.hub.rows import Row
from harness.suites.hub.source import HubSource, RawData
from harness.suites.hub.tasks import TaskSpec, task_utils

TRAIN_FORMAT = {"prompt": "{prompt}", "completion": " {answer}"}  # rows carry the rendered eval prompt
HEADER = "# Converted from a public dataset by harness.suites.hub; see README.md and docs/hub-suites.md."


@dataclass
class Converted:
    """A dataset in the suite format, before it is written."""

    description: str
    corpus: list[Row]
    train: list[Row]
    tasks: list[tuple[TaskSpec, list[Row]]]
    notes: list[str] = field(default_factory=list)  # conversion decisions and counts for the card


@dataclass(frozen=True)
class HubConverter:
    """One hub suite: where its raw files are, its own settings (with defaults) and its conversion.

    Each converter module ends with ``CONVERTER = HubConverter(SOURCE, OPTIONS, convert)``, the
    object ``harness.suites.hub.HUB_SUITES`` registers under the suite's name.
    """

    source: HubSource
    options: Mapping[str, Any]
    convert: Callable[[RawData, dict[str, Any]], Converted]


def _manifest(name: str, converted: Converted) -> writer.Manifest:
    tasks = [writer.ManifestTask(spec.name, spec.data, spec.kind, spec.primary_metric, tuple(spec.labels))
             for spec, _ in converted.tasks]
    return writer.Manifest(name, converted.description, tasks, header=HEADER, train_format=TRAIN_FORMAT)


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
    writer.write_manifest(out, _manifest(name, converted))
    (out / "README.md").write_text(_card(name, converted, provenance), encoding="utf-8")
    writer.validate(out)
