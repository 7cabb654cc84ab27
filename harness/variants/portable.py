"""The run folder's own copy of every task it evaluated, runnable by plain lm-eval from any
directory: ``lm_eval --include_path <run folder>/tasks --tasks agri_qa__dense`` evaluates the
same rows (contexts and shots included) with the same prompts and scorers as the run did.

The variants the harness evaluates live in the cache and name absolute paths (the suite's task
YAML, the rows); a copied run folder could not be re-evaluated elsewhere. Here every path is
relative. Layout under ``tasks/``:

    <variant>.jsonl              the rows each condition was given (as before)
    <suite>/<task>.yaml, *.py    the suite's own task definitions and hooks, copied
    <suite>/<variant>.yaml       the variant: includes its task YAML, reads ../<variant>.jsonl
    <suite>/run_rows.py          loaders that find those rows next to this file, through the
                                 suite's own loaders (so a loader's row mapping is kept)
    <other>/...                  code the suite's hooks load by path (suite.yaml ``code:``)
"""

from __future__ import annotations

import logging
import posixpath
import re
from collections.abc import Sequence
from pathlib import Path

import yaml

from harness.errors import HarnessError
from harness.variants.task import TaskVariant

log = logging.getLogger(__name__)

LOADER = re.compile(r"^custom_dataset:\s*!function\s+(\w+)\.(\w+)\s*$", re.M)
ROWS_MODULE = "run_rows"
ROWS_CODE = '''"""Written by the harness: the suite's own row loaders, pointed at this run folder's rows
(paths relative to this file), so lm-eval evaluates the run's tasks from any directory."""

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
    """A path under tasks/, normalised; one that would leave it is refused."""
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
    return _loader(task_yaml.parent / included.group(1)) if included else None


def _variant_yaml(derived: dict, task_yaml: Path, rows: str, loader: tuple[str, str] | None) -> str:
    body = {"include": task_yaml.name, **{k: v for k, v in derived.items() if k not in ("include", "dataset_kwargs")},
            "dataset_kwargs": {**(derived.get("dataset_kwargs") or {}), "data_file": f"../{rows}"}}
    text = yaml.safe_dump(body, sort_keys=False, allow_unicode=True)
    return text + (f"custom_dataset: !function {ROWS_MODULE}.{loader[0]}__{loader[1]}\n" if loader else "")


def _rows_module(loaders: set[tuple[str, str]]) -> str:
    wrappers = [f"\n\ndef {module}__{name}(data_file=None, **kwargs):\n"
                f"    return _call({module!r}, {name!r}, data_file, kwargs)\n" for module, name in sorted(loaders)]
    return ROWS_CODE + "".join(wrappers)


def portable_tasks(variants: Sequence[TaskVariant]) -> dict[str, str]:
    """Every file of the run folder's tasks/ (path under tasks/ -> text) for ``variants``."""
    files: dict[str, str] = {}
    loaders: dict[str, set[tuple[str, str]]] = {}
    for v in variants:
        derived = yaml.safe_load(v.yaml_path.read_text(encoding="utf-8")) or {}
        task_yaml = Path(str(derived.get("include", "")))
        if not task_yaml.is_file():
            raise HarnessError(f"{v.yaml_path}: its task YAML {task_yaml} is gone; rerun to rebuild the variant")
        suite = task_yaml.parent.name
        files[v.data_path.name] = v.data_path.read_text(encoding="utf-8")
        if f"{suite}/{task_yaml.name}" not in files:  # the suite's folder, copied once
            files.update(_suite_files(task_yaml.parent, suite))
        loader = _loader(task_yaml)
        if loader is None:
            log.warning("%s names no custom_dataset loader; its copy in the run folder reads %s by the path lm-eval "
                        "is given", task_yaml, v.data_path.name)
        else:
            loaders.setdefault(suite, set()).add(loader)
        files[f"{suite}/{v.name}.yaml"] = _variant_yaml(derived, task_yaml, v.data_path.name, loader)
    for suite, used in loaders.items():
        files[f"{suite}/{ROWS_MODULE}.py"] = _rows_module(used)
    return files


__all__ = ["portable_tasks"]
