"""k-shot in-context learning: the adaptation that trains nothing, so a task variant.

k training examples, drawn once per run with a seeded RNG, are rendered in the suite's
``train_format`` (the same text the adapter is trained on) and prepended to every eval prompt.
The ICL variant of a task includes the original task YAML and only swaps its data file and
prefixes its ``doc_to_text``, so metrics, filters and the question wording stay the task's own.
"""

from __future__ import annotations

import json
import random
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from harness.errors import HarnessError
from harness.variants.portable import write_variant

PREFIX_FIELD = "icl_examples"
IDS_FIELD = "icl_ids"


def draw_shots(train: Sequence[Mapping[str, Any]], k: int, seed: int, *, where: str = "the training set") -> list[Mapping[str, Any]]:
    """``k`` distinct training rows, the same for the same (rows, k, seed), in drawn order."""
    if k < 1:
        raise HarnessError(f"icl.k={k}: the number of in-context examples must be >= 1")
    if k > len(train):
        raise HarnessError(
            f"icl.k={k} is larger than {where} ({len(train)} examples); lower icl.k or use more documents"
        )
    return random.Random(seed).sample(list(train), k)


def render_prefix(examples: Sequence[tuple[str, str]]) -> str:
    """Worked examples, one ``prompt + completion`` block each, separated by blank lines."""
    return "\n\n".join(prompt + completion for prompt, completion in examples)


def doc_to_text_template(task_yaml: Path) -> str:
    """The task YAML's ``doc_to_text`` Jinja template (ICL prefixes it, RAFT renders it)."""
    from harness.suites.loader import _TaskYamlLoader

    data = yaml.load(task_yaml.read_text(encoding="utf-8"), Loader=_TaskYamlLoader)  # noqa: S506
    template = data.get("doc_to_text") if isinstance(data, dict) else None
    if not isinstance(template, str) or template.startswith("!function"):
        raise HarnessError(
            f"{task_yaml}: icl needs a template doc_to_text in the task YAML to prefix the examples to "
            f"(found {template!r})"
        )
    return template


def materialize_icl_task(task_yaml: Path, name: str, rows: Sequence[Mapping[str, Any]], prefix: str,
                         shot_ids: Sequence[str], out_dir: Path) -> tuple[Path, Path]:
    """Write ``<name>.jsonl`` (the rows plus the examples) and its YAML into the self-contained
    task tree ``out_dir`` (``harness.variants.portable``); returns (YAML path, rows path)."""
    task_yaml = Path(task_yaml).resolve()
    template = "{{" + PREFIX_FIELD + "}}\n\n" + doc_to_text_template(task_yaml)
    data_path = Path(out_dir).resolve() / f"{name}.jsonl"
    data_path.write_text("".join(
        json.dumps(dict(row, **{PREFIX_FIELD: prefix, IDS_FIELD: list(shot_ids)}), ensure_ascii=False) + "\n"
        for row in rows), encoding="utf-8")
    return write_variant(data_path.parent, name, task_yaml, data_path.name, {"doc_to_text": template}), data_path
