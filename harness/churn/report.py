"""churn.json as the leaderboard's churn tables (one per fraction) and the report's plot.

Each row is an update strategy: what a condition does when the facts change, and what that
update cost in seconds on this machine (RAG: the incremental re-index; FT: the training the
adapter card recorded; FT+RAG: both).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from harness.churn.document import read_churn
from harness.report import svg

Table = tuple[str, pd.DataFrame]
MEANING = {"base": "no update (closed book)", "ft_stale": "FT, not updated", "ft_retrain": "FT retrained from scratch",
           "ft_continue": "FT continued on the changed facts"}  # harness.churn.update's strategies


def _share(cell: Mapping[str, Any]) -> str:
    if not cell["n"]:
        return "—"
    return f"{cell['value']:.3f} [{cell['low']:.3f}, {cell['high']:.3f}] ({cell['k']}/{cell['n']})"


def strategy(condition: str) -> str:
    """What the condition does on an update, in words."""
    arm, _, retriever = condition.partition("+")
    if not retriever:
        return MEANING.get(arm, arm)
    return f"RAG re-indexed ({retriever})" if arm == "base" else f"{MEANING.get(arm, arm)} + RAG re-indexed"


def update_seconds(condition: str, update: Mapping[str, Any]) -> float | None:
    """Seconds the condition's update took (None: not measured, e.g. an adapter without a card)."""
    arm, _, retriever = condition.partition("+")
    train = 0.0 if arm == "base" else update["train"].get(arm)
    if train is None:
        return None
    reindex = update["reindex"]["incremental_s"] if retriever and update.get("reindex") else 0.0
    return float(train) + float(reindex)


def _delta(cell: Mapping[str, Any] | None) -> str:
    if cell is None:
        return "(reference)"
    mark = "*" if cell["p_holm"] < 0.05 else "ns"
    return (f"{cell['delta'] * 100:+.1f} pp [{cell['low'] * 100:+.1f}, {cell['high'] * 100:+.1f}] "
            f"Holm p={cell['p_holm']:.3f} {mark}")


def fraction_table(block: Mapping[str, Any]) -> Table:
    """One fraction's table: a row per condition."""
    deltas = (block.get("vs_rag") or {}).get("deltas", {})
    kept = block.get("retained") or {}
    rows = []
    for name in block.get("order") or list(block["conditions"]):
        cells = block["conditions"][name]
        seconds = update_seconds(name, block["update_s"])
        rows.append({"condition": name, "update strategy": strategy(name), "changed facts acc": _share(cells["changed"]),
                     "stale answers": _share(cells["stale"]), "unchanged facts acc": _share(cells["unchanged"]),
                     "update s": "—" if seconds is None else f"{seconds:.2f}",
                     "Δ changed vs RAG": _delta(deltas.get(name)) if block.get("vs_rag") else "—",
                     "Δ unchanged vs not updated": _delta(kept[name]) if name in kept else
                     ("(reference)" if name.startswith("ft_stale") and kept else "—")})
    title = (f"Knowledge churn, k = {block['fraction']:g}: {block['n_changed']} of {block['n_facts']} facts changed "
             f"in {block['changed_docs']} of {block['n_docs']} documents (95% Wilson CIs; Δ changed: paired per changed "
             "question vs re-indexed RAG; Δ unchanged: paired per unchanged question vs the not-updated adapter with the "
             "same retrieval; Tango/McNemar, Holm within each column, each interval at its Holm step's level)")
    return title, pd.DataFrame(rows).set_index("condition")


def churn_tables(run_dir: Path) -> list[Table]:
    """The churn tables of a run folder ([] when it ran no churn experiment)."""
    document = read_churn(run_dir)
    return [fraction_table(b) for b in document["fractions"]] if document else []


def _value(cell: Mapping[str, Any]) -> svg.Value:
    if not cell["n"]:
        return svg.Value(math.nan)
    return svg.Value(cell["value"], cell["low"], cell["high"])


def churn_plots(run_dir: Path) -> list[tuple[str, str]]:
    """(caption, svg): accuracy on the changed facts, and the stale-answer rate, per condition
    against k ([] when the run has no churn experiment)."""
    document = read_churn(run_dir)
    if not document:
        return []
    blocks = document["fractions"]
    labels = [f"k = {b['fraction']:g}" for b in blocks]
    names = blocks[0].get("order") or list(blocks[0]["conditions"])
    out = []
    for metric, title, caption in (
            ("changed", "Accuracy on the changed facts", "Knowledge churn: accuracy on the facts that changed, "
             "per update strategy, against the share k of facts changed (whisker: Wilson 95% CI)."),
            ("stale", "Stale answers on the changed facts", "Knowledge churn: share of changed-fact questions "
             "answered with the old value, per update strategy, against k (whisker: Wilson 95% CI).")):
        series = {n: [_value(b["conditions"][n][metric]) if n in b["conditions"] else None for b in blocks]
                  for n in names}
        out.append((caption, svg.line_chart(title, labels, series, y_label="share of changed-fact questions")))
    return out
