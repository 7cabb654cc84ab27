"""A task variant (one lm-eval task as one condition sees it) and its ``tasks`` cache entry.

An entry is a self-contained task tree (``harness.variants.portable``: the variants' rows and
YAMLs and a copy of their suite's task files, every path relative) plus ``variants.json``, the
list of variants it holds, its paths relative to the entry. So an entry names nothing outside
itself: it is built in a scratch folder and renamed into place (``cache.get_or_build``), and a
second checkout, an installed copy or a moved cache evaluates it as it is.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness import cache

STAGE = "tasks"
MANIFEST_FILE = "variants.json"
# the layout of an entry, in every ``tasks`` cache key (2: self-contained, relative paths only)
FORMAT = 2

# build(scratch): write the variants' files into scratch, return them (paths under scratch)
Build = Callable[[Path], list["TaskVariant"]]


@dataclass(frozen=True)
class TaskVariant:
    """One lm-eval task as a condition sees it (closed book or with one retriever's contexts)."""

    base_task: str
    name: str
    yaml_path: Path
    data_path: Path
    stats: dict[str, Any]


def tokenizer_name(tokenizer: Any) -> str:
    """What identifies a tokenizer in the ICL cache key (its hub id or folder, else its class)."""
    return str(getattr(tokenizer, "name_or_path", "") or type(tokenizer).__name__)


def cached_variants(key: str, build: Build) -> list[TaskVariant]:
    """The ``tasks`` entry ``key``: read it, or build it (under the key's lock) and publish it."""
    def write(scratch: Path) -> None:
        variants = build(scratch)
        under = scratch.resolve()
        (scratch / MANIFEST_FILE).write_text(json.dumps(
            [{"base_task": v.base_task, "name": v.name, "yaml_path": v.yaml_path.resolve().relative_to(under).as_posix(),
              "data_path": v.data_path.resolve().relative_to(under).as_posix(), "stats": v.stats} for v in variants],
            indent=2))

    return cache.get_or_build(STAGE, key, write, _read_manifest, valid=lambda e: (e / MANIFEST_FILE).is_file())


def _read_manifest(entry: Path) -> list[TaskVariant]:
    entry = entry.resolve()
    return [TaskVariant(v["base_task"], v["name"], entry / v["yaml_path"], entry / v["data_path"], v["stats"])
            for v in json.loads((entry / MANIFEST_FILE).read_text())]
