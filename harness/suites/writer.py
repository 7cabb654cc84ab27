"""The one suite writer: ``suite.yaml``, the task code and the staged publication of a suite folder.

Four producers write suites — the shipped generators (``harness.suites.gen``), ``build-suite``
(``harness.suites.build``), the hub converters (``harness.suites.hub``) and ``generate-qa``
(``harness.qagen.writer``). They describe their manifest as a :class:`Manifest` and this module
renders it, so the format of docs/suite-format.md has one owner. Each producer keeps its own
layout (``Manifest.layout``) because committed suites and cached conversions must stay byte for
byte what they were.

The task code a written suite carries (``utils.py``, derived task YAMLs) is taken from the
shipped suites' own files (``tasks/agri``, ``tasks/finance``), never re-typed, so a written
suite is scored exactly as the shipped ones are.
"""

from __future__ import annotations

import ast
import json
import re
import shutil
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from harness import paths
from harness.suites.loader import SUITE_FILE, Suite, load_suite

TASKS_DIR = paths.TASKS_DIR
AGRI_UTILS = TASKS_DIR / "agri" / "utils.py"
PROMPT = "Question: {question}\nAnswer:"  # = the open-QA task's doc_to_text with an empty context
TRAIN_FORMAT = {"prompt": PROMPT, "completion": " {answer}"}
BUILD_MARKER = "# Built by `python -m harness build-suite`"
# shipped task YAMLs a written suite's multiple-choice / classification task is derived from
DERIVED_FROM = {"multiple_choice": TASKS_DIR / "agri" / "agri_mc.yaml",
                "classification": TASKS_DIR / "finance" / "finance_cls.yaml"}

TASK_YAML = """\
# Open question answering on generated questions (written by `python -m harness generate-qa`).
task: {task}
custom_dataset: !function utils.load_qa
test_split: test
output_type: generate_until
doc_to_text: "{{% if context %}}Context:\\n{{{{context}}}}\\n\\n{{% endif %}}Question: {{{{question}}}}\\nAnswer:"
doc_to_target: answer
generation_kwargs:
  until: ["\\n", "<|im_end|>"]
  max_gen_toks: 32
  do_sample: false
process_results: !function utils.process_qa
metric_list:
  - metric: correct
    aggregation: mean
    higher_is_better: true
  - metric: contains
    aggregation: mean
    higher_is_better: true
  - metric: exact_match
    aggregation: mean
    higher_is_better: true
  - metric: f1
    aggregation: mean
    higher_is_better: true
metadata:
  version: 1.0
"""


GENERIC_NAMES = frozenset({"suite", "suites", "out", "output", "outputs", "tmp", "temp", "data", "tasks", "results",
                           "build", "new"})


def _task_safe(raw: str) -> str:
    name = re.sub(r"[^a-z0-9_]+", "_", raw.lower()).strip("_")
    if not name or not name[0].isalpha():
        name = f"qa_{name}".rstrip("_")
    return name


def suite_name(out: Path, given: str | None) -> str:
    """A task-safe name: the given one, else the out folder's name (lowercase, _ for the rest) —
    unless that is a generic word ("suite", "out", ...), which would name every user's results
    folder alike: then the folder above it (``mydomain/suite`` -> ``mydomain``), else "my_suite"."""
    if given:
        return _task_safe(given)
    for raw in (out.name, out.parent.name):
        if raw and _task_safe(raw) not in GENERIC_NAMES:
            return _task_safe(raw)
    return "my_suite"


# ----------------------------------------------------------------------------- suite.yaml


@dataclass(frozen=True)
class ManifestTask:
    """One ``tasks:`` entry of suite.yaml (its task YAML is ``<name>.yaml``)."""

    name: str
    data: str
    kind: str
    primary_metric: str
    labels: tuple[str, ...] = ()

    def entry(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "yaml": f"{self.name}.yaml", "data": self.data,
                               "kind": self.kind, "primary_metric": self.primary_metric}
        if self.labels:
            out["labels"] = list(self.labels)
        return out


@dataclass(frozen=True)
class Manifest:
    """What suite.yaml says, and how its writer lays it out.

    ``header`` is the comment line naming who wrote the file. ``layout``: ``yaml`` (a PyYAML
    dump; build-suite and hub suites), ``folded`` (hand laid out, the description as a folded
    block; the shipped generators) or ``quoted`` (hand laid out, the description JSON-quoted;
    generate-qa).
    """

    name: str
    description: str
    tasks: Sequence[ManifestTask]
    header: str
    layout: str = "yaml"
    train_format: Mapping[str, str] = field(default_factory=lambda: dict(TRAIN_FORMAT))
    version: str = "1"
    code: tuple[str, ...] = ()  # task code outside the folder that its utils.py runs (hashed with it)
    split: Mapping[str, str] = field(default_factory=dict)  # {mode, unit}: how train and eval were split


class Dumper(yaml.SafeDumper):
    """Multi-line strings (the train prompt) as one double-quoted line, as the shipped suites have them."""


Dumper.add_representer(str, lambda dumper, value: dumper.represent_scalar(
    "tag:yaml.org,2002:str", value, style='"' if "\n" in value else None))


def _laid_out(manifest: Manifest) -> list[str]:
    if manifest.layout == "folded":
        description = ["description: >-", *(f"  {line}" for line in manifest.description.strip().splitlines())]
    else:
        description = [f"description: {json.dumps(manifest.description)}"]
    lines = [f"name: {manifest.name}", f'version: "{manifest.version}"', *description, "corpus: corpus.jsonl",
             "train: train.jsonl", "train_format:",
             *(f"  {part}: {json.dumps(text)}" for part, text in manifest.train_format.items())]
    if manifest.code:
        lines.append(f"code: [{', '.join(manifest.code)}]")
    if manifest.split:
        lines.append(f"split: {{{', '.join(f'{k}: {v}' for k, v in manifest.split.items())}}}")
    lines.append("tasks:")
    for task in manifest.tasks:
        lines += [f"  - name: {task.name}", f"    yaml: {task.name}.yaml", f"    data: {task.data}",
                  f"    kind: {task.kind}", f"    primary_metric: {task.primary_metric}"]
        if task.labels:
            lines.append(f"    labels: [{', '.join(task.labels)}]")
    return lines


def manifest_text(manifest: Manifest) -> str:
    """suite.yaml's text for ``manifest`` (docs/suite-format.md)."""
    if manifest.layout in ("folded", "quoted"):
        return "\n".join([manifest.header, *_laid_out(manifest)]) + "\n"
    if manifest.layout != "yaml":
        raise ValueError(f"unknown suite.yaml layout {manifest.layout!r}")
    body = {"name": manifest.name, "version": manifest.version, "description": manifest.description,
            "corpus": "corpus.jsonl", "train": "train.jsonl", "train_format": dict(manifest.train_format),
            **({"code": list(manifest.code)} if manifest.code else {}),
            **({"split": dict(manifest.split)} if manifest.split else {}),
            "tasks": [task.entry() for task in manifest.tasks]}
    return manifest.header + "\n" + yaml.dump(body, Dumper=Dumper, sort_keys=False, allow_unicode=True, width=100)


def write_manifest(folder: Path, manifest: Manifest) -> Path:
    """Write ``<folder>/suite.yaml``; returns its path."""
    path = folder / SUITE_FILE
    path.write_text(manifest_text(manifest), encoding="utf-8")
    return path


# ----------------------------------------------------------------------------- task code


def derived_task_yaml(kind: str, task: str) -> str:
    """The task YAML of a written suite's task ``task``: the shipped one of its kind, renamed."""
    source = DERIVED_FROM.get(kind)
    if source is None:
        return TASK_YAML.format(task=task)
    text = re.sub(r"(?m)^task: .*$", f"task: {task}", source.read_text(encoding="utf-8"))
    return f"{BUILD_MARKER} from tasks/{source.parent.name}/{source.name}.\n" + \
        "\n".join(line for line in text.splitlines() if not line.startswith("#")) + "\n"


def _functions(path: Path, names: tuple[str, ...]) -> str:
    """The source of top-level functions of a shipped utils.py (so the written suite's task code is
    the shipped scorer itself, not a re-typed copy)."""
    text = path.read_text(encoding="utf-8")
    found = {n.name: ast.get_source_segment(text, n) for n in ast.parse(text).body if isinstance(n, ast.FunctionDef)}
    return "\n\n\n".join(found[n] or "" for n in names)


def task_utils(cls_task: str | None) -> str:
    """utils.py of a written suite: the agri loaders and open-QA scorer (+ the finance
    classification scorer for ``cls_task``, its label set read from suite.yaml)."""
    parts = [f"{BUILD_MARKER}: tasks/agri/utils.py (loaders, open-QA scorer)"
             + (" + tasks/finance/utils.py's classification scorer" if cls_task else "") + ".\n",
             AGRI_UTILS.read_text(encoding="utf-8")]
    if cls_task:
        parts.append(f'''

# ---- classification ({cls_task}): label set from suite.yaml; scorer from tasks/finance/utils.py


def label_set(task: str = "{cls_task}") -> list[str]:
    import yaml

    spec = yaml.safe_load((HERE / "suite.yaml").read_text(encoding="utf-8"))
    return next(list(t["labels"]) for t in spec["tasks"] if t["name"] == task)


def load_cls(data_file: str | None = None, **kwargs: Any) -> Any:
    labels = label_set()
    return _load(data_file, HERE / "eval" / "cls.jsonl").map(lambda row: {{"choices": labels}})


''' + _functions(TASKS_DIR / "finance" / "utils.py", ("process_cls", "macro_f1")) + "\n")
    return "".join(parts)


# ----------------------------------------------------------------------------- publication


def validate(folder: Path) -> Suite:
    """The checks every run applies (``load_suite``), on a folder just written."""
    return load_suite(folder, folder.parent)


def publish(out: Path, fill: Callable[[Path], None]) -> Path:
    """``fill`` an empty ``.<out>.tmp`` beside ``out``, validate it, then move it into place.

    A failed write or validation removes the staging folder, so ``out`` is never a half-written
    suite that looks complete; an existing ``out`` is replaced only by a suite that validated.
    """
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = out.with_name(f".{out.name}.tmp")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    try:
        fill(staging)
        validate(staging)
        if out.exists():
            old = out.with_name(f".{out.name}.old")
            shutil.rmtree(old, ignore_errors=True)
            out.rename(old)
            staging.rename(out)
            shutil.rmtree(old, ignore_errors=True)
        else:
            staging.rename(out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return out
