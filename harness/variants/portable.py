"""Self-contained task trees: every task variant the harness evaluates, with relative paths only,
so plain lm-eval loads it from any directory and from any copy of the tree:
``lm_eval --include_path <run folder>/tasks --tasks agri_qa__dense`` evaluates the same rows
(contexts and shots included) with the same prompts and scorers as the run did.

One layout, written by ``write_variant`` into every ``tasks`` cache entry (so an entry never
points into the checkout that built it: a second clone, or a pip-installed copy, that reuses the
entry evaluates what is in it, even after the first clone is edited or deleted), and a run
folder's ``tasks/`` is the union of the entries it evaluated (``portable_tasks``):

    <variant>.jsonl              the rows the variant is given
    <suite>/<task>.yaml, *.py    the suite's own task definitions and hooks, copied
    <suite>/<variant>.yaml       the variant: includes its task YAML, reads ../<variant>.jsonl
    <suite>/run_rows.py          loaders that find those rows next to this file, through the
                                 suite's own loaders (so a loader's row mapping is kept)
    <other>/...                  code the suite's hooks load by path (suite.yaml ``code:``)

lm-eval resolves ``include:`` and ``!function`` against the directory of the YAML that names
them; the suites' loaders read ``data_file`` against the working directory, hence run_rows.py.
"""

from __future__ import annotations

import logging
import posixpath
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from harness import cache
from harness.errors import HarnessError
from harness.variants.task import TaskVariant

log = logging.getLogger(__name__)

LOADER = re.compile(r"^custom_dataset:\s*!function\s+(\w+)\.(\w+)\s*$", re.M)
ROWS_MODULE = "run_rows"
ROWS_CODE = '''"""Written by the harness: the suite's own row loaders, pointed at this tree's rows
(paths relative to this file), so lm-eval evaluates the tasks from any directory."""

import runpy
from pathlib import Path

HERE = Path(__file__).resolve().parent
_MODULES = {}


def _call(module, name, data_file, kwargs):
    if module not in _MODULES:
        _MODULES[module] = runpy.run_path(str(HERE / f"{module}.py"))
    path = str((HERE / data_file).resolve()) if data_file else None
    return _MODULES[module][name](data_file=path, **kwargs)
'''


def _inside(relative: str) -> str:
    """A path under the tree's root, normalised; one that would leave it is refused."""
    normal = posixpath.normpath(relative)
    if normal.startswith("..") or posixpath.isabs(normal):
        raise HarnessError(f"task file {relative!r} would be written outside the run folder's tasks/")
    return normal


def _suite_files(root: Path, name: str) -> dict[str, str]:
    """The suite folder's task YAMLs and hooks, and the code its hooks load by path."""
    files = {f"{name}/{p.name}": p.read_text(encoding="utf-8")
             for p in sorted(root.iterdir()) if p.is_file() and p.suffix in (".yaml", ".py")}
    manifest = root / "suite.yaml"
    shared = (yaml.safe_load(manifest.read_text(encoding="utf-8")) or {}).get("code") if manifest.is_file() else None
    for relative in shared or []:
        files[_inside(f"{name}/{relative}")] = (root / relative).read_text(encoding="utf-8")
    return files


def _loader(task_yaml: Path) -> tuple[str, str] | None:
    """(module, function) of the task's ``custom_dataset``, from its YAML or one it includes."""
    text = task_yaml.read_text(encoding="utf-8")
    found = LOADER.search(text)
    if found:
        return found.group(1), found.group(2)
    included = re.search(r"^include:\s*(\S+)\s*$", text, re.M)
    target = task_yaml.parent / included.group(1) if included else None
    return _loader(target) if target is not None and target.is_file() else None


def _rows_module(loaders: set[tuple[str, str]]) -> str:
    wrappers = [f"\n\ndef {module}__{name}(data_file=None, **kwargs):\n"
                f"    return _call({module!r}, {name!r}, data_file, kwargs)\n" for module, name in sorted(loaders)]
    return ROWS_CODE + "".join(wrappers)


def _suite_tree(folder: Path) -> dict[str, str]:
    """What every variant of the suite in ``folder`` needs beside its own YAML: the suite's files
    and run_rows.py, wrapping every loader the folder's YAMLs name (the same file whichever of
    the suite's variants a tree holds, so trees of one suite merge without conflict)."""
    files = _suite_files(folder, folder.name)
    loaders = {found for p in sorted(folder.glob("*.yaml")) if (found := _loader(p)) is not None}
    if loaders:
        files[f"{folder.name}/{ROWS_MODULE}.py"] = _rows_module(loaders)
    return files


def source_digest(task_yamls: Sequence[Path]) -> str:
    """Hash of what the trees of these tasks copy from their suites' folders (a cache key part:
    an edited hook or included template makes a new entry; the checkout's place does not)."""
    folders = sorted({Path(p).resolve().parent for p in task_yamls})
    return cache.hash_json({path: text for folder in folders for path, text in _suite_tree(folder).items()})


def _variant_yaml(name: str, task_yaml: Path, rows: str, fields: Mapping[str, Any]) -> str:
    body = {"include": task_yaml.name, "task": name, **fields, "dataset_kwargs": {"data_file": f"../{rows}"}}
    text = yaml.safe_dump(body, sort_keys=False, allow_unicode=True)
    loader = _loader(task_yaml)
    if loader is None:
        log.warning("%s names no custom_dataset loader; its variant %s reads %s by the path lm-eval is given "
                    "(relative to the working directory)", task_yaml, name, rows)
        return text
    return text + f"custom_dataset: !function {ROWS_MODULE}.{loader[0]}__{loader[1]}\n"


def write_variant(out_dir: Path, name: str, task_yaml: Path, rows: str, fields: Mapping[str, Any] | None = None) -> Path:
    """Write the variant ``name`` of ``task_yaml`` into the tree at ``out_dir`` (its suite's files,
    run_rows.py and ``<suite>/<name>.yaml``); returns that YAML's path.

    ``rows``: the name of its rows file at the tree's root (written by the caller); ``fields``:
    keys of the variant YAML besides include, task and the data file (ICL's ``doc_to_text``).
    """
    task_yaml = Path(task_yaml).resolve()
    if not task_yaml.is_file():
        raise HarnessError(f"task YAML {task_yaml} does not exist")
    suite = task_yaml.parent.name
    files = _suite_tree(task_yaml.parent)
    files[f"{suite}/{name}.yaml"] = _variant_yaml(name, task_yaml, rows, fields or {})
    for relative, text in files.items():
        target = Path(out_dir) / _inside(relative)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    return Path(out_dir) / suite / f"{name}.yaml"


def portable_tasks(variants: Sequence[TaskVariant]) -> dict[str, str]:
    """Every file of the run folder's tasks/ (path under tasks/ -> text) for ``variants``: the
    union of the trees (``tasks`` cache entries) that hold them, each suite folder read once."""
    files: dict[str, str] = {}
    origin: dict[str, Path] = {}
    read: set[Path] = set()
    for v in variants:
        folder = v.yaml_path.parent
        if not v.yaml_path.is_file() or not v.data_path.is_file():
            raise HarnessError(f"{v.yaml_path}: the task variant's files are gone; rerun to rebuild it")
        more = {v.data_path.name: v.data_path.read_text(encoding="utf-8")}
        if folder not in read:
            more.update(_suite_files(folder, folder.name))
            read.add(folder)
        for relative, text in more.items():
            if files.setdefault(relative, text) != text:
                raise HarnessError(f"task variants disagree on {relative} ({origin[relative]} vs {folder}); "
                                   f"were their suites edited between builds? rerun to rebuild them")
            origin.setdefault(relative, folder)
    return files


__all__ = ["portable_tasks", "source_digest", "write_variant"]
