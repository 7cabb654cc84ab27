"""The committed baselines rebuild to the committed files: ``report`` is deterministic, and a
refactor of the report, the scorers or the run-folder reader that changes one byte shows here.

Every ``results/baselines/<suite>`` is copied and rebuilt in process by the ``report`` entry
(one process: the MiniLM embedder behind answer similarity loads once). The human tables
(leaderboard.md/.tex/.html, rag_x_ft.csv) must be byte-identical. The numeric files
(leaderboard.csv/.parquet, metrics.json) may differ in floats by at most ``TOLERANCE``:
answer-similarity embeddings differ in the 6th decimal between Intel and AMD CPUs (measured:
the knowledge baseline's answer_similarity_ci_high 0.124195 vs 0.124194).
"""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from harness.report.run_report import report_run

REPO = Path(__file__).resolve().parent.parent
BASELINES = sorted(p for p in (REPO / "results" / "baselines").iterdir() if (p / "metrics.json").is_file())
EXACT = ("leaderboard.md", "leaderboard.tex", "leaderboard.html", "rag_x_ft.csv")
TOLERANCE = 2e-6


def _close(a: Any, b: Any, where: str) -> None:
    """``a == b`` for JSON values, floats within TOLERANCE (nan equals nan)."""
    if isinstance(a, dict) and isinstance(b, dict):
        assert list(a) == list(b), f"{where}: keys {sorted(set(a) ^ set(b))} differ"
        for key in a:
            _close(a[key], b[key], f"{where}.{key}")
    elif isinstance(a, list) and isinstance(b, list):
        assert len(a) == len(b), f"{where}: lengths {len(a)} vs {len(b)}"
        for i, (x, y) in enumerate(zip(a, b)):
            _close(x, y, f"{where}[{i}]")
    elif isinstance(a, float) or isinstance(b, float):
        assert isinstance(a, (int, float)) and isinstance(b, (int, float)), f"{where}: {a!r} vs {b!r}"
        assert (math.isnan(a) and math.isnan(b)) or abs(a - b) <= TOLERANCE, f"{where}: {a!r} vs {b!r}"
    else:
        assert a == b, f"{where}: {a!r} vs {b!r}"


def _frames_close(want: pd.DataFrame, got: pd.DataFrame, name: str) -> None:
    assert list(want.columns) == list(got.columns), f"{name}: columns differ"
    assert list(want.index) == list(got.index), f"{name}: rows differ"
    for col in want.columns:
        if pd.api.types.is_numeric_dtype(want[col]) and pd.api.types.is_numeric_dtype(got[col]):
            diff = (want[col].astype(float) - got[col].astype(float)).abs()
            both_nan = want[col].isna() & got[col].isna()
            assert bool(((diff <= TOLERANCE) | both_nan).all()), f"{name} {col}: {diff.max()}"
        else:
            assert want[col].equals(got[col]), f"{name} {col}: values differ"


@pytest.fixture(scope="module")
def rebuilt(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Each baseline copied and rebuilt by ``report`` (in this process)."""
    out = {}
    for folder in BASELINES:
        copy = Path(shutil.copytree(folder, tmp_path_factory.mktemp("baseline") / folder.name))
        report_run(copy)
        out[folder.name] = copy
    return out


@pytest.mark.parametrize("suite", [p.name for p in BASELINES])
def test_baseline_rebuilds_to_the_committed_files(rebuilt: dict[str, Path], suite: str) -> None:
    committed, got = REPO / "results" / "baselines" / suite, rebuilt[suite]
    for name in EXACT:
        if (committed / name).is_file():
            assert (got / name).read_bytes() == (committed / name).read_bytes(), f"{suite}/{name} differs"
    _frames_close(pd.read_csv(committed / "leaderboard.csv", index_col="condition"),
                  pd.read_csv(got / "leaderboard.csv", index_col="condition"), f"{suite}/leaderboard.csv")
    _frames_close(pd.read_parquet(committed / "leaderboard.parquet"), pd.read_parquet(got / "leaderboard.parquet"),
                  f"{suite}/leaderboard.parquet")
    for name in ("metrics.json", "decision.json"):
        _close(json.loads((committed / name).read_text()), json.loads((got / name).read_text()), f"{suite}/{name}")
