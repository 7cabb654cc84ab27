"""The ``!function module.name`` references of a task YAML, resolved when the suite is validated.

lm-eval imports them only when it builds the task — after the model has loaded, minutes into a
run — and a typo then ends the run in a 93-line traceback. Reading the module's source (never
importing it) finds the missing function first, with the YAML line that names it.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from harness.errors import HarnessError

PREFIX = "!function "


def references(data: Any, path: str = "") -> Iterator[tuple[str, str]]:
    """(dotted field path, ``module.name``) of every ``!function`` value in parsed task YAML."""
    if isinstance(data, Mapping):
        for key, value in data.items():
            yield from references(value, f"{path}.{key}" if path else str(key))
    elif isinstance(data, list):
        for i, value in enumerate(data):
            yield from references(value, f"{path}[{i}]")
    elif isinstance(data, str) and data.startswith(PREFIX):
        yield path, data[len(PREFIX):].strip()


def _defined(source: Path) -> set[str]:
    tree = ast.parse(source.read_text(encoding="utf-8"), filename=str(source))
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
    return names


def check_functions(yaml_path: Path, data: Any, lines: Mapping[str, int], shown: str) -> None:
    """Every ``!function module.name`` of the task YAML names a function of ``module.py``
    beside it; else one HarnessError naming the YAML line, the module and what it defines."""
    for field, ref in references(data):
        module, _, name = ref.rpartition(".")
        where = f"{shown} line {lines[field]}" if field in lines else shown
        source = yaml_path.parent / f"{module.replace('.', '/')}.py"
        if not module or not source.is_file():
            raise HarnessError(f"{where}: field '{field}' is '!function {ref}', but {source.name} does not exist "
                               f"beside the task YAML; write it as !function <module>.<function> with <module>.py there")
        try:
            defined = _defined(source)
        except (SyntaxError, UnicodeDecodeError) as err:
            raise HarnessError(f"{source}: cannot be read as Python ({err}); lm-eval imports it for '{field}'") from err
        if name not in defined:
            raise HarnessError(f"{where}: field '{field}' is '!function {ref}', but {source.name} defines no '{name}' "
                               f"(it defines: {', '.join(sorted(n for n in defined if not n.startswith('_')))})")


__all__ = ["check_functions", "references"]
