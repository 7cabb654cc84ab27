"""Test-session setup: offline, and one harness cache shared by the whole session so the
embedded model is converted once (~30 s) rather than per test."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

REPO = Path(__file__).resolve().parent.parent


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
