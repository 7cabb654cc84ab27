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


ARMS = REPO / "results" / "baselines" / "agri_arms"
ARM_ROWS = ("base", "ft", "cpt", "cpt_sft", "full", "merge-0.5", "style")


def _table_after(board: str, marker: str) -> str:
    start = board.index("\n|", board.index(marker)) + 1
    return board[start:board.index("\n\n", start)]


def test_the_arms_tables_are_the_agri_arms_baselines() -> None:
    """README's compact arms table, the agri card's tables and docs/arms.md's training times are
    the committed agri_arms run's."""
    import pandas as pd

    frame = pd.read_csv(ARMS / "leaderboard.csv", index_col=0)
    manifest = json.loads((ARMS / "manifest.json").read_text(encoding="utf-8"))
    recall = manifest["arms"]["training_recall"]
    for arm in ARM_ROWS:
        delta, holm = frame.loc[arm, "general_mc/acc_delta"], frame.loc[arm, "general_mc/acc_delta_p_holm"]
        forgets = "—" if arm == "base" else f"{100 * delta:+.1f}{' *' if holm < 0.05 else ''}"
        own = f"{next(iter(recall[arm].values()))['recall']:.2f}" if arm in recall else "—"
        row = f"| {arm} | {frame.loc[arm, 'mean']:.3f} | {frame.loc[f'{arm}+dense', 'mean']:.3f} | {forgets} | {own} |"
        assert row in README, f"README's arms table is stale: expected {row}"
    board = (ARMS / "leaderboard.md").read_text(encoding="utf-8")
    card = (REPO / "tasks" / "agri" / "README.md").read_text(encoding="utf-8")
    for marker in ("## Leaderboard", "**Format or knowledge", "**Forgetting: general suite"):
        assert _table_after(board, marker) in card, f"the agri card's {marker} table is stale"
    assert next(line for line in board.splitlines() if line.startswith("Same questions")) in card
    arms_doc = (REPO / "docs" / "arms.md").read_text(encoding="utf-8")
    for arm, seconds in manifest["arms"]["train_seconds"].items():
        if arm in ARM_ROWS:
            assert f"| {arm} | {seconds:.0f} |" in arms_doc, f"docs/arms.md: {arm}'s training time is stale"
