"""Test-session setup and the helpers every test file shares.

Offline, and one harness cache shared by the whole session so the embedded model is converted
once (~30 s) rather than per test. Tests that run real models are marked ``slow`` here (every
test that uses the ``smollm2`` fixture, and the modules in ``SLOW_MODULES``):
``pytest -m "not slow"`` is the fast tier (no model runs), ``pytest`` runs everything.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

REPO = Path(__file__).resolve().parent.parent
# modules whose tests run real models end to end (minutes each); the rest of the suite is fast
SLOW_MODULES = {"test_end_to_end", "test_all_suites", "test_vllm_serving", "test_launchers", "test_export",
                "test_baseline_reports"}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        module = item.module.__name__.rpartition(".")[2] if item.module else ""
        if module in SLOW_MODULES or "smollm2" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="session", autouse=True)
def session_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``$HARNESS_CACHE`` for the session (set HARNESS_TEST_CACHE to reuse one across sessions)."""
    root = Path(os.environ.get("HARNESS_TEST_CACHE") or tmp_path_factory.mktemp("harness-cache"))
    os.environ["HARNESS_CACHE"] = str(root)
    return root


@pytest.fixture(scope="session")
def smollm2(session_cache: Path):
    """The embedded generator, converted once per session."""
    from harness.models import wheels

    return wheels.smollm2_135m_instruct()


def harness(*args: str | Path, cache: Path | None = None, timeout: int = 900, env: dict[str, str] | None = None,
            **kwargs) -> subprocess.CompletedProcess:
    """``python -m harness <args>`` from the checkout, output captured; ``cache`` sets
    ``$HARNESS_CACHE``, ``env`` adds variables; other keywords go to ``subprocess.run``."""
    environ = dict(os.environ, **(env or {}))
    if cache is not None:
        environ["HARNESS_CACHE"] = str(cache)
    return subprocess.run([sys.executable, "-m", "harness", *map(str, args)], cwd=REPO, env=environ,
                          capture_output=True, text=True, timeout=timeout, **kwargs)


def run_folders(parent: Path) -> list[Path]:
    """The completed run folders directly under ``parent`` (not the ``.<name>.tmp`` ones), sorted."""
    return sorted(p for p in parent.iterdir() if not p.name.startswith(".")) if parent.is_dir() else []


def only_run(results: Path, exp: str = "agri") -> Path:
    """The one completed run folder of experiment ``exp`` under ``results``."""
    runs = run_folders(results / exp)
    assert len(runs) == 1, runs
    return runs[0]
