"""Every number README.md quotes for the default run comes from the committed baseline.

Fast (no model): reads results/baselines/agri and the agri scorer audit.
"""

from __future__ import annotations

import json
from pathlib import Path

from harness.scoring import audit

REPO = Path(__file__).resolve().parents[1]
README = (REPO / "README.md").read_text(encoding="utf-8")
BASELINE = REPO / "results" / "baselines" / "agri"


def test_the_decision_block_is_the_baselines() -> None:
    board = (BASELINE / "leaderboard.md").read_text(encoding="utf-8")
    start = board.index("**Ship") if "**Ship" in board else board.index("**No clear winner")
    block = board[start:board.index("\n\n_Quality", start)].strip()
    assert block in README, "README's Decision is stale: copy it from results/baselines/agri/leaderboard.md"


def test_recall_retrieval_and_audit_numbers_are_the_baselines() -> None:
    manifest = json.loads((BASELINE / "manifest.json").read_text(encoding="utf-8"))
    (recall,) = manifest["arms"]["training_recall"]["ft"].values()
    assert (f"training-set recall {recall['recall']:.2f} [{recall['ci_low']:.2f}, {recall['ci_high']:.2f}], "
            f"n = {recall['n']}") in README
    retrieval = json.loads((BASELINE / "metrics.json").read_text(encoding="utf-8"))["retrieval_metrics"]
    assert f"dense recall@1 {retrieval['agri_qa__dense']['recall@1']:.3f}" in README
    (rates,) = audit.audit_rates(audit.read_audit(REPO / "tasks" / "agri" / audit.AUDIT_FILE))
    fp, fn = rates.false_positive, rates.false_negative
    assert f"{fp.k} false positive in {fp.n} wrong answers, {fn.k} false negatives in {fn.n} right ones" in README
