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


def test_the_wall_time_per_cpu_model_is_the_baselines() -> None:
    """README states the default run's cold time per CPU model: the baseline's own stage total,
    on the CPU its manifest records."""
    manifest = json.loads((BASELINE / "manifest.json").read_text(encoding="utf-8"))
    minutes, seconds = divmod(round(sum(manifest["timings_s"].values())), 60)
    assert "Xeon" in manifest["hardware"]["cpu_model"] and manifest["hardware"]["cpu_count"] == 2
    assert f"**{minutes} min {seconds} s** on an Intel Xeon (this baseline)" in README
    measured = (REPO / "docs" / "measured.md").read_text(encoding="utf-8")
    assert f"**{minutes} min {seconds} s**" in measured


def test_the_default_and_the_whole_suite_agree_in_sign() -> None:
    """docs/measured.md: every difference the one-region default shows has the same sign on the
    whole suite (agri_full), and the whole suite's Decision is the default's leaning."""
    import pandas as pd

    small = pd.read_csv(BASELINE / "leaderboard.csv", index_col=0)["mean"]
    full = pd.read_csv(REPO / "results" / "baselines" / "agri_full" / "leaderboard.csv", index_col=0)["mean"]
    rows = ("base", "base+dense", "ft", "ft+dense")
    for a in rows:
        for b in rows:
            if a < b:
                assert (small[a] > small[b]) == (full[a] > full[b]), (a, b, small[a] - small[b], full[a] - full[b])
    default = json.loads((BASELINE / "decision.json").read_text(encoding="utf-8"))
    whole = json.loads((REPO / "results" / "baselines" / "agri_full" / "decision.json").read_text(encoding="utf-8"))
    assert default["recommended"] == whole["recommended"] == "ft+dense"
    assert whole["clear"] and not default["clear"]  # 270 questions decide what 45 cannot
