"""Format or knowledge? Fine-tuning's gain split by the ``style`` control.

Why: an adapter trained on a suite's Q&A learns two things at once — how to answer (terse, in
the expected form, using a passage when it has one) and what the answers are. The ``style``
arm learns only the first: it is trained exactly like ``ft`` on other suites' facts in this
suite's format (harness.finetune.style). So, closed book and with each retriever r:

- format part    = style − base      (what answering in the format is worth),
- knowledge part = ft − style        (what knowing the suite's facts adds),
- total          = ft − base         (the two parts sum to it exactly, estimate by estimate).

Each part is a paired delta per question with the leaderboard's procedures
(harness.scoring.stats.evidence: per task, and the mean over tasks); the table's deltas are one
Holm family, so a part marked * is a claim the run supports after multiplicity control.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from harness.records import Samples
from harness.report import paired
from harness.report.tables import Table, holm_text, mark, p_text, pp
from harness.scoring import stats

PARTS = (("format (style − base)", "base", "style"), ("knowledge (ft − style)", "style", "ft"),
         ("total (ft − base)", "base", "ft"))
MEAN = "mean"


def settings(conditions: Sequence[str]) -> list[str]:
    """The retrieval settings with base, style and ft all present: "" (closed book) and ``+r``."""
    present = set(conditions)
    suffixes = [""] + sorted({c[len("ft"):] for c in conditions if c.startswith("ft+")})
    return [s for s in suffixes if {f"base{s}", f"style{s}", f"ft{s}"} <= present]


def _part_at(samples: Samples, primary: Mapping[str, str], ref: str, cand: str, seed: int) -> dict[str, stats.DeltaAt]:
    """``cand − ref`` per task and for the mean over tasks, as functions of alpha (for Holm)."""
    cells: dict[str, stats.DeltaAt] = {}
    pairs = []
    for task, metric in primary.items():
        pair = paired.aligned(samples, ref, cand, task, metric)
        if pair is None:
            continue
        pairs.append(pair)
        cells[task] = (lambda alpha, pair=pair, s=stats.stable_seed(ref, cand, task, base=seed):
                       stats.evidence.delta(*pair, alpha=alpha, seed=s))
    if len(primary) > 1 and len(pairs) == len(primary):
        cells[MEAN] = (lambda alpha, s=stats.stable_seed(ref, cand, MEAN, base=seed):
                       stats.evidence.mean_delta(pairs, alpha=alpha, seed=s))
    return cells


def split_deltas(samples: Samples, primary: Mapping[str, str], conditions: Sequence[str], *,
                 seed: int = 0) -> dict[tuple[str, str, str], stats.Delta]:
    """(setting, part, task or ``mean``) -> the part's delta, the whole table one Holm family."""
    cells: dict[Any, stats.DeltaAt] = {}
    for suffix in settings(conditions):
        for label, ref, cand in PARTS:
            for task, at in _part_at(samples, primary, f"{ref}{suffix}", f"{cand}{suffix}", seed).items():
                cells[(suffix, label, task)] = at
    return dict(stats.holm_family(cells)) if cells else {}


def _cell(delta: stats.Delta | None) -> str:
    if delta is None:
        return ""
    if math.isnan(delta.low):
        return f"{pp(delta.estimate)} pp"
    return (f"{pp(delta.estimate)} pp [{pp(delta.low)}, {pp(delta.high)}] {p_text(delta.p_value)}"
            f"{holm_text(delta.p_adjusted)}{mark(delta.low, delta.high, delta.p_adjusted)}")


def format_knowledge_table(samples: Samples, primary: Mapping[str, str], conditions: Sequence[str], *,
                           seed: int = 0) -> Table | None:
    """The split as a leaderboard table, one row per setting × part; None without a style arm
    beside base and ft (or without per-question records)."""
    primary = paired.ordered(primary)
    deltas = split_deltas(samples, primary, conditions, seed=seed)
    if not deltas:
        return None
    columns = [*primary, *([MEAN] if any(k[2] == MEAN for k in deltas) else [])]
    rows = {}
    for suffix in dict.fromkeys(k[0] for k in deltas):
        for label, _, _ in PARTS:
            where = f"+{suffix[1:]}" if suffix else "closed book"
            rows[f"{where}: {label}"] = {col: _cell(deltas.get((suffix, label, col))) for col in columns}
    shown = pd.DataFrame.from_dict(rows, orient="index")
    shown.index.name = "part"
    return ("Format or knowledge: FT's gain split by the style control (trained like ft on other suites' facts); "
            "Δ in pp, paired per question, p (Holm p), the table one Holm family", shown)
