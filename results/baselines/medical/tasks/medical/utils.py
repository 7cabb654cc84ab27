"""lm-eval hooks for the medical tasks: dataset loaders and the updated-guideline scorer.

Self-contained (stdlib + datasets) so that plain ``lm_eval --include_path tasks/`` runs these
tasks with no harness installed; the JSON-lines loader is that of ``tasks/agri/utils.py``,
executed by path.
"""

from __future__ import annotations

import runpy
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
_AGRI = runpy.run_path(str(HERE.parent / "agri" / "utils.py"))


def _loader(name: str) -> Any:
    """``load(data_file=None, **kwargs)`` for lm-eval's ``custom_dataset``, defaulting to eval/<name>."""
    return lambda data_file=None, **kwargs: _AGRI["_load"](data_file, HERE / "eval" / name)


load_mc = _loader("mc.jsonl")
load_update = _loader("update.jsonl")


def process_update(doc: dict[str, Any], results: list[Any]) -> dict[str, float]:
    """The most likely choice is the answer: ``acc`` if it is the current recommendation,
    ``stale`` if it is the superseded one (the rest are neither)."""
    scores = [r[0] if isinstance(r, (list, tuple)) else r for r in results]
    pred = max(range(len(scores)), key=lambda i: float(scores[i]))
    return {"acc": float(pred == doc["label"]), "stale": float(pred == doc["stale_label"])}
