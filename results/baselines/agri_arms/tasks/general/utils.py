"""lm-eval hooks for the general tasks: dataset loaders and the open-QA scorer.

Self-contained (stdlib + datasets) so that plain ``lm_eval --include_path tasks/`` runs these
tasks with no harness installed; the loader and the scorer are those of ``tasks/agri/utils.py``
(executed by path), so every suite scores open answers the same way.
"""

from __future__ import annotations

import runpy
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
_AGRI = runpy.run_path(str(HERE.parent / "agri" / "utils.py"))
normalize = _AGRI["normalize"]
process_qa = _AGRI["process_qa"]


def _loader(name: str) -> Any:
    """``load(data_file=None, **kwargs)`` for lm-eval's ``custom_dataset``, defaulting to eval/<name>."""
    return lambda data_file=None, **kwargs: _AGRI["_load"](data_file, HERE / "eval" / name)


load_qa = _loader("qa.jsonl")
load_mc = _loader("mc.jsonl")
