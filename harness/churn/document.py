"""churn.json, the churn experiment's numbers in the run folder: where it lives and how it is read
(the stage writes it, the report and the Decision read it)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

CHURN_DIR = "churn"  # in the run folder: churn/k<fraction>/{suite,samples}/
CHURN_FILE = "churn.json"  # in the run folder: every fraction's numbers


def read_churn(run_dir: Path) -> dict[str, Any] | None:
    """The run's churn.json (None when the run had no churn experiment)."""
    path = Path(run_dir) / CHURN_FILE
    return json.loads(path.read_text()) if path.is_file() else None
