"""Machine-readable results of one benchmark (``--json PATH`` on every bench script).

Each bench keeps its printed table; this file is what ``bench/run_all.py`` reads back to put every
ratio beside its goal. Written atomically (the harness's ``write_json_atomic``), so a bench
killed half-way never leaves a result that looks complete.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # runnable from a checkout


def write(path: Path | None, bench: str, ratios: dict[str, float], measurements: dict[str, Any],
          params: dict[str, Any]) -> None:
    """Write ``{"bench", "params", "ratios", "measurements"}`` to ``path`` (nothing when None).

    ``ratios`` are the figures that have goals (keys listed in ``bench/goals.py``);
    ``measurements`` are the raw figures behind them (seconds, MB, counts)."""
    if path is None:
        return
    from harness.cache import write_json_atomic

    write_json_atomic(path, {"bench": bench, "params": params, "ratios": ratios, "measurements": measurements})
