"""lm-eval hooks for knowledge_mem and knowledge_gen: both open QA, each from its own file.

Needs only the standard library and ``datasets`` (no harness install): the JSON-lines loader and
the answer scorer are taken from ``tasks/agri/utils.py`` by path, so memorization and
generalization answers are scored exactly as every other suite's open answers.
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


load_mem = _loader("mem.jsonl")
load_gen = _loader("gen.jsonl")
