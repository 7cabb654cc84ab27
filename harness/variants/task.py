"""A task variant (one lm-eval task as one condition sees it) and its ``tasks`` cache entry.

An entry holds the variants' JSONL rows and derived YAMLs plus ``variants.json``, the list of
variants it holds. The YAMLs and ``variants.json`` name files by absolute path; the entry is
built in a scratch folder and renamed into place (``cache.get_or_build``), so every path
written names the final entry (``cache.entry_dir("tasks", key)``), never the scratch folder:
entries are byte-identical to those the harness built in place before.
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

# build(scratch, final): write the variants' files into scratch, naming final in them
Build = Callable[[Path, Path], list["TaskVariant"]]


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
    final = cache.entry_dir(STAGE, key)

    def write(scratch: Path) -> None:
        variants = build(scratch, final)
        (scratch / MANIFEST_FILE).write_text(json.dumps(
            [{"base_task": v.base_task, "name": v.name, "yaml_path": str(v.yaml_path),
              "data_path": str(v.data_path), "stats": v.stats} for v in variants], indent=2))

    return cache.get_or_build(STAGE, key, write, _read_manifest, valid=lambda e: (e / MANIFEST_FILE).is_file())


def _read_manifest(entry: Path) -> list[TaskVariant]:
    return [TaskVariant(v["base_task"], v["name"], Path(v["yaml_path"]), Path(v["data_path"]), v["stats"])
            for v in json.loads((entry / MANIFEST_FILE).read_text())]
