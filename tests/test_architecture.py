"""The shape of the house, measured: no import circle, small modules, short functions on the
main path, typed stage entries (docs/architecture.md describes the shape these guard), and the
spec hash the typed sections must keep.

Fast (reads source; the hash test composes configs, no model)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.conftest import REPO

PACKAGE = REPO / "harness"
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60
# the stage entries the pipeline calls: (module, function) -> must be typed, never Any
STAGE_ENTRIES = [
    ("harness/suites/__init__.py", "load"),
    ("harness/models/resolve.py", "resolve_model"),
    ("harness/variants/__init__.py", "materialize_variants"),
    ("harness/finetune/stage.py", "train_adapters"),
    ("harness/evaluate/grid.py", "evaluate_grid"),
    ("harness/report/run_report.py", "report_run"),
    ("harness/pipeline.py", "run"),
]


def module_name(path: Path) -> str:
    name = ".".join(path.relative_to(REPO).with_suffix("").parts)
    return name.removesuffix(".__init__")


def import_graph() -> dict[str, set[str]]:
    """Module -> the harness modules it imports (function-local imports included: a circle
    held together by imports inside functions is still a circle)."""
    files = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    edges: dict[str, set[str]] = {m: set() for m in files}
    for name, path in files.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join(parts + ([base] if base else []))
                targets = [f"{base}.{a.name}" for a in node.names] + [base]
            for target in targets:
                while target and target not in files:
                    target = target.rpartition(".")[0]
                if target and target != name:
                    edges[name].add(target)
    return edges


def circles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan), ignoring a package and
    its own submodules re-exported by its ``__init__``."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return [c for c in found if not _package_reexport(c)]


def _package_reexport(component: list[str]) -> bool:
    return all(any(o.startswith(x + ".") or x.startswith(o + ".") for o in component if o != x) for x in component)


def test_circle_finder_finds_a_circle():
    assert circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert circles({"p": {"p.x"}, "p.x": {"p"}}) == []  # a package re-exporting its submodule


def test_no_import_circle_in_harness():
    assert circles(import_graph()) == []


def test_no_module_over_400_lines():
    sizes = {str(p.relative_to(REPO)): len(p.read_text(encoding="utf-8").splitlines()) for p in PACKAGE.rglob("*.py")}
    assert {p: n for p, n in sizes.items() if n > MAX_MODULE_LINES} == {}


def test_no_function_over_60_lines():
    long = {}
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                lines = node.end_lineno - node.lineno + 1
                if lines > MAX_FUNCTION_LINES:
                    long[f"{path.relative_to(REPO)}:{node.name}"] = lines
    assert long == {}


def test_stage_entries_are_typed():
    for file, name in STAGE_ENTRIES:
        tree = ast.parse((REPO / file).read_text(encoding="utf-8"))
        entry = next((n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == name), None)
        assert entry is not None, f"{file} has no stage entry {name}()"
        assert entry.returns is not None, f"{file}:{name} has no return type"
        assert "Any" not in ast.unparse(entry.returns), f"{file}:{name} returns Any"
        untyped = [a.arg for a in entry.args.args + entry.args.kwonlyargs if a.annotation is None]
        assert not untyped, f"{file}:{name}: untyped parameters {untyped}"


def test_pipeline_run_reads_as_the_stages():
    tree = ast.parse((PACKAGE / "pipeline.py").read_text(encoding="utf-8"))
    run = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "run")
    assert run.end_lineno - run.lineno + 1 <= 45


@pytest.mark.parametrize("suite", sorted(p.name for p in (REPO / "results" / "baselines").iterdir() if p.is_dir()))
def test_spec_hash_of_each_baseline_is_unchanged(suite):
    """The typed spec hashes what it always hashed: composing a committed baseline's experiment
    gives the spec hash in its manifest (so its caches and run-folder name stay valid)."""
    import json

    from hydra import compose, initialize_config_dir
    from omegaconf import OmegaConf

    from harness import spec

    manifest = json.loads((REPO / "results" / "baselines" / suite / "manifest.json").read_text())
    with initialize_config_dir(version_base="1.3", config_dir=str(REPO / "conf")):
        cfg = OmegaConf.to_container(compose("config", overrides=[f"+exp={suite}"]), resolve=True)
    assert spec.from_config(cfg).hash == manifest["spec_hash"]
