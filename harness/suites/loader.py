"""Load and validate a suite folder (suite.yaml + corpus + train + eval tasks) into a ``Suite``.

A suite is checked once, up front, so that a broken file fails in a second with one message
naming the file, line and field — not an hour later inside retrieval, training or lm-eval.
The format is documented in docs/suite-format.md.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from harness.cache import hash_file, hash_json
from harness.errors import HarnessError
from harness.suites.task_functions import check_functions
from harness.suites.checks import (
    TYPE_NAMES,
    check_corpus,
    check_leakage,
    check_task_rows,
    check_train,
    read_rows,
    show,
)

SUITE_FILE = "suite.yaml"
TASK_KINDS = ("open_qa", "multiple_choice", "classification")
# How eval relates to training: paraphrase (every eval fact trained, asked in new words), transfer
# (no eval fact trained), mixed (some of each). docs/suite-format.md#split-modes
SPLIT_MODES = ("paraphrase", "transfer", "mixed")


@dataclass(frozen=True)
class SuiteTask:
    """One lm-eval task of a suite and its eval rows (already validated)."""

    name: str
    yaml_path: Path
    data_path: Path
    kind: str
    primary_metric: str
    rows: list[dict[str, Any]]
    labels: tuple[str, ...] = ()  # classification: the label set, in choice order


@dataclass(frozen=True)
class Suite:
    """Everything a run needs from a suite; ``content_hash`` keys caches built from it."""

    name: str
    version: str
    root: Path
    corpus: list[dict[str, Any]]
    train: list[dict[str, Any]]
    train_format: dict[str, str]
    tasks: list[SuiteTask]
    content_hash: str
    description: str = ""
    files: tuple[Path, ...] = field(default=(), compare=False)
    split: Mapping[str, Any] = field(default_factory=dict, compare=False)  # suite.yaml's ``split:``, if any

    @property
    def split_mode(self) -> str | None:
        """paraphrase, transfer or mixed: suite.yaml's ``split.mode``, else read off the rows' fact ids."""
        declared = self.split.get("mode")
        return str(declared) if declared else infer_split_mode(self.train, [r for t in self.tasks for r in t.rows])

    def task(self, name: str) -> SuiteTask:
        for task in self.tasks:
            if task.name == name:
                return task
        raise HarnessError(f"suite '{self.name}' has no task '{name}' (it has: {', '.join(t.name for t in self.tasks)})")


def infer_split_mode(train: Iterable[Mapping[str, Any]], evals: Iterable[Mapping[str, Any]]) -> str | None:
    """The split mode the ``fact_id`` fields show, for suites whose suite.yaml does not say it:
    "paraphrase" when every eval row's fact is trained, "transfer" when none is, "mixed" otherwise;
    None without fact ids on both sides (eval rows without one are not counted)."""
    trained = {str(r["fact_id"]) for r in train if r.get("fact_id") is not None}
    asked = [str(r["fact_id"]) in trained for r in evals if r.get("fact_id") is not None]
    if not trained or not asked:
        return None
    return "paraphrase" if all(asked) else "transfer" if not any(asked) else "mixed"


def _split_spec(spec: Mapping[str, Any], path: Path, lines: Mapping[str, int]) -> dict[str, Any]:
    """suite.yaml's optional ``split:`` (``{mode: paraphrase|transfer|mixed, unit: ...}``), checked."""
    split = spec.get("split")
    if split is None:
        return {}
    if not isinstance(split, dict):
        raise HarnessError(f"{show(path)} line {lines.get('split')}: field 'split' must be a mapping "
                           f"(mode: {' | '.join(SPLIT_MODES)}), got {split!r}")
    if "mode" in split and split["mode"] not in SPLIT_MODES:
        raise HarnessError(f"{show(path)} line {lines.get('split.mode')}: field 'split.mode' is {split['mode']!r}; "
                           f"expected one of {', '.join(SPLIT_MODES)}")
    return dict(split)


# ----------------------------------------------------------------------------- file reading


def _yaml_key_lines(node: yaml.Node | None, prefix: str = "") -> dict[str, int]:
    """Dotted field path → 1-based line, so suite.yaml errors can point at a line."""
    lines: dict[str, int] = {}
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            path = f"{prefix}.{key.value}" if prefix else str(key.value)
            lines[path] = key.start_mark.line + 1
            lines.update(_yaml_key_lines(value, path))
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            path = f"{prefix}[{i}]"
            lines[path] = item.start_mark.line + 1
            lines.update(_yaml_key_lines(item, path))
    return lines


def read_text(path: Path, shown: str) -> str:
    """A suite file's text; bytes that are not UTF-8 are one error naming the file and line."""
    raw = path.read_bytes()
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = raw[: err.start].count(b"\n") + 1
        raise HarnessError(f"{shown} line {line}: not UTF-8 text (byte 0x{raw[err.start]:02x}); "
                           "save the file as UTF-8") from None


class _TaskYamlLoader(yaml.SafeLoader):
    """Reads lm-eval task YAML without importing anything: ``!function x.y`` stays a string."""


_TaskYamlLoader.add_constructor("!function", lambda loader, node: f"!function {loader.construct_scalar(node)}")


def _read_yaml(path: Path, loader: type[yaml.SafeLoader] = yaml.SafeLoader) -> tuple[Any, dict[str, int]]:
    if not path.is_file():
        raise HarnessError(f"{show(path)}: file not found")
    text = read_text(path, show(path))
    try:
        data = yaml.load(text, Loader=loader)  # noqa: S506 - SafeLoader subclasses only
        lines = _yaml_key_lines(yaml.compose(text, Loader=loader))
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        problem = getattr(err, "problem", None) or str(err).splitlines()[0]
        raise HarnessError(f"{show(path)}{where}: invalid YAML ({problem})") from err
    return data, lines


# ----------------------------------------------------------------------------- suite.yaml


def resolve_suite_dir(name_or_path: str | os.PathLike[str], tasks_root: Path) -> Path:
    """A folder or suite.yaml path as given, else ``tasks_root/<name>``."""
    given = Path(name_or_path).expanduser()
    if given.is_file() and given.name == SUITE_FILE:
        return given.parent.resolve()
    if (given / SUITE_FILE).is_file():
        return given.resolve()
    candidate = Path(tasks_root) / str(name_or_path)
    if (candidate / SUITE_FILE).is_file():
        return candidate.resolve()
    places = [given] if given.resolve() == candidate.resolve() else [given, candidate]
    raise HarnessError(
        f"suite '{name_or_path}' not found: no {SUITE_FILE} in {' or '.join(show(p) for p in places)}"
    )


def _spec_field(
    spec: Mapping[str, Any], key: str, kind: type, path: Path, lines: Mapping[str, int], prefix: str = ""
) -> Any:
    """Fetch dotted ``key`` from (a part of) suite.yaml, erroring with its line or its parent's."""
    full = f"{prefix}.{key}" if prefix else key
    parent = full.rpartition(".")[0]
    node: Any = spec
    for part in key.split("."):
        if not isinstance(node, Mapping) or part not in node:
            line = lines.get(full) or lines.get(parent)
            where = show(path) + (f" line {line}" if line else "")
            raise HarnessError(f"{where}: missing required field '{full}'")
        node = node[part]
    if kind is str and isinstance(node, (int, float)) and not isinstance(node, bool):
        node = str(node)
    if not isinstance(node, kind) or (kind is str and not node.strip()):
        line = lines.get(full)
        where = show(path) + (f" line {line}" if line else "")
        raise HarnessError(f"{where}: field '{full}' must be {TYPE_NAMES.get(kind, kind.__name__)}, got {node!r}")
    return node


def _suite_file(root: Path, rel: str, spec_path: Path, lines: Mapping[str, int], key: str) -> Path:
    path = (root / rel).resolve()
    if not path.is_file():
        line = lines.get(key)
        where = f"{show(spec_path)}" + (f" line {line}" if line else "")
        raise HarnessError(f"{where}: field '{key}' names {rel!r}, but {show(path)} does not exist")
    return path


def _check_task_yaml(path: Path, name: str) -> None:
    """The task YAML must parse and define the task name that suite.yaml gives it."""
    data, lines = _read_yaml(path, _TaskYamlLoader)
    if not isinstance(data, dict):
        raise HarnessError(f"{show(path)}: expected a mapping of lm-eval task fields")
    check_functions(path, data, lines, show(path))
    if "task" not in data and "include" in data:
        return  # the name comes from the included template; lm-eval resolves it
    if data.get("task") != name:
        where = show(path) + (f" line {lines['task']}" if "task" in lines else "")
        raise HarnessError(f"{where}: field 'task' is {data.get('task')!r}, but suite.yaml calls this task {name!r}")


def _task_labels(task_spec: Mapping[str, Any], kind: str, path: Path, lines: Mapping[str, int], key: str) -> tuple[str, ...]:
    """A classification task's label set (``labels:``: ≥ 2 distinct non-empty strings); () otherwise."""
    full = f"{key}.labels"
    if kind != "classification":
        if "labels" in task_spec:
            raise HarnessError(f"{show(path)} line {lines.get(full)}: field '{full}' only applies to kind classification")
        return ()
    labels = _spec_field(task_spec, "labels", list, path, lines, prefix=key)
    for i, label in enumerate(labels):
        if not isinstance(label, str) or not label.strip():
            line = lines.get(f"{full}[{i}]") or lines.get(full)
            raise HarnessError(f"{show(path)} line {line}: field '{full}[{i}]' must be a non-empty string, got {label!r}")
    if len(labels) < 2 or len(set(labels)) != len(labels):
        raise HarnessError(f"{show(path)} line {lines.get(full)}: field '{full}' needs at least 2 distinct labels, got {labels!r}")
    return tuple(labels)


def _content_hash(root: Path, files: Iterable[Path], code: Mapping[str, Path]) -> str:
    """sha256 over every file the suite reads, plus the task code beside them (metrics live there)
    and the shared code its utils.py runs from elsewhere (``code:``, keyed as suite.yaml names it,
    so the hash does not depend on where the checkout lives)."""
    every = set(files) | set(root.glob("*.py"))
    digests = {p.relative_to(root).as_posix() if p.is_relative_to(root) else str(p): hash_file(p) for p in sorted(every)}
    return hash_json(digests | {f"code:{rel}": hash_file(path) for rel, path in sorted(code.items())})


def _shared_code(spec: Mapping[str, Any], root: Path, spec_path: Path, lines: Mapping[str, int]) -> dict[str, Path]:
    """``code:`` — Python files outside the folder that the task code runs (the shared open-QA
    scorer): each must exist, and each enters the suite hash, so editing a scorer that several
    suites share changes all their hashes."""
    if "code" not in spec:
        return {}
    listed = _spec_field(spec, "code", list, spec_path, lines)
    out = {}
    for i, rel in enumerate(listed):
        if not isinstance(rel, str) or not rel.endswith(".py"):
            raise HarnessError(f"{show(spec_path)} line {lines.get(f'code[{i}]') or lines.get('code')}: "
                               f"field 'code[{i}]' must be the relative path of a .py file, got {rel!r}")
        out[rel] = _suite_file(root, rel, spec_path, lines, f"code[{i}]")
    return out


def _load_task(i: int, task_spec: Any, root: Path, spec_path: Path, lines: Mapping[str, int],
               corpus_ids: set[str], train_path: Path, train: list[tuple[int, dict[str, Any]]],
               tasks: list[SuiteTask]) -> SuiteTask:
    """``tasks[i]`` of suite.yaml: its fields, task YAML and rows, checked (``tasks``: those before it)."""
    key = f"tasks[{i}]"
    if not isinstance(task_spec, dict):
        raise HarnessError(f"{show(spec_path)} line {lines.get(key)}: field '{key}' must be a mapping")
    get = {
        f: _spec_field(task_spec, f, str, spec_path, lines, prefix=key)
        for f in ("name", "yaml", "data", "kind", "primary_metric")
    }
    if get["kind"] not in TASK_KINDS:
        raise HarnessError(
            f"{show(spec_path)} line {lines.get(key + '.kind')}: field '{key}.kind' is {get['kind']!r}; "
            f"expected one of {', '.join(TASK_KINDS)}"
        )
    if any(t.name == get["name"] for t in tasks):
        raise HarnessError(f"{show(spec_path)} line {lines.get(key + '.name')}: duplicate task name {get['name']!r}")
    labels = _task_labels(task_spec, get["kind"], spec_path, lines, key)
    yaml_path = _suite_file(root, get["yaml"], spec_path, lines, key + ".yaml")
    data_path = _suite_file(root, get["data"], spec_path, lines, key + ".data")
    _check_task_yaml(yaml_path, get["name"])
    rows = read_rows(data_path)
    check_task_rows(data_path, get["kind"], rows, corpus_ids, labels)
    check_leakage(train_path, train, data_path, rows)
    return SuiteTask(get["name"], yaml_path, data_path, get["kind"], get["primary_metric"], [r for _, r in rows], labels)


def load_suite(name_or_path: str | os.PathLike[str], tasks_root: Path) -> Suite:
    """Read and validate a suite; every problem is a HarnessError naming file, line and field."""
    root = resolve_suite_dir(name_or_path, tasks_root)
    spec_path = root / SUITE_FILE
    spec, lines = _read_yaml(spec_path)
    if not isinstance(spec, dict):
        raise HarnessError(f"{show(spec_path)}: expected a mapping with name, version, corpus, train, train_format, tasks")

    name = _spec_field(spec, "name", str, spec_path, lines)
    version = _spec_field(spec, "version", str, spec_path, lines)
    fmt = {part: _spec_field(spec, f"train_format.{part}", str, spec_path, lines) for part in ("prompt", "completion")}
    corpus_path = _suite_file(root, _spec_field(spec, "corpus", str, spec_path, lines), spec_path, lines, "corpus")
    train_path = _suite_file(root, _spec_field(spec, "train", str, spec_path, lines), spec_path, lines, "train")
    task_specs = _spec_field(spec, "tasks", list, spec_path, lines)
    if not task_specs:
        raise HarnessError(f"{show(spec_path)} line {lines.get('tasks')}: field 'tasks' is empty; list at least one eval task")

    corpus = read_rows(corpus_path)
    check_corpus(corpus_path, corpus)
    corpus_ids = {row["id"] for _, row in corpus}
    train = read_rows(train_path)
    check_train(train_path, train, corpus_ids, fmt)

    files = [spec_path, corpus_path, train_path]
    code = _shared_code(spec, root, spec_path, lines)
    tasks: list[SuiteTask] = []
    for i, task_spec in enumerate(task_specs):
        tasks.append(_load_task(i, task_spec, root, spec_path, lines, corpus_ids, train_path, train, tasks))
        files += [tasks[-1].yaml_path, tasks[-1].data_path]

    return Suite(
        name=name,
        version=version,
        root=root,
        corpus=[r for _, r in corpus],
        train=[r for _, r in train],
        train_format=fmt,
        tasks=tasks,
        content_hash=_content_hash(root, files, code),
        description=str(spec.get("description") or "").strip(),
        files=tuple(files),
        split=_split_spec(spec, spec_path, lines),
    )


# ----------------------------------------------------------------------------- helpers


def render_train_example(suite: Suite, row: Mapping[str, Any]) -> tuple[str, str]:
    """(prompt, completion) for a train row, formatted exactly as the eval prompt is rendered."""
    try:
        return suite.train_format["prompt"].format_map(row), suite.train_format["completion"].format_map(row)
    except KeyError as err:
        raise HarnessError(f"suite '{suite.name}': train_format uses field {err}, missing from row {row.get('id')!r}") from err


def subset_suite(suite: Suite, n_docs: int) -> Suite:
    """Keep the first ``n_docs`` corpus documents and only the rows whose gold docs are among them.

    Train rows without ``doc_id`` are kept. Task ``data_path`` still points at the full file:
    write ``task.rows`` out (``harness.jsonl.write_jsonl``) before handing a subset task to lm-eval.
    """
    if n_docs < 1:
        raise HarnessError(f"n_docs must be at least 1, got {n_docs}")
    corpus = suite.corpus[:n_docs]
    keep = {row["id"] for row in corpus}
    train = [r for r in suite.train if r.get("doc_id") is None or r["doc_id"] in keep]
    tasks = [replace(t, rows=[r for r in t.rows if r["gold_ids"] and set(r["gold_ids"]) <= keep]) for t in suite.tasks]
    for label, rows in [("train", train)] + [(f"task {t.name}", t.rows) for t in tasks]:
        if not rows:
            raise HarnessError(f"suite '{suite.name}' with n_docs={n_docs} leaves {label} empty; raise n_docs")
    return replace(
        suite,
        corpus=corpus,
        train=train,
        tasks=tasks,
        content_hash=hash_json({"suite": suite.content_hash, "n_docs": n_docs}),
    )
