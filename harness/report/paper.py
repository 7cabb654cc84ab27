"""Paper vs ours: a reproduction experiment's published numbers beside the run's own.

A ``+exp=repro_*`` config carries a ``paper`` block: its source, what its numbers measure
(``metric``) and in which task ``format`` (``open``: generated answers graded for correctness;
``mc``: multiple choice), whether its absolute levels are a claim we can check
(``compare_levels``), and one row per published number naming our condition and the
``task/metric`` column it corresponds to. A row with ``vs`` is a contrast (``condition − vs``),
computed the same way on both sides: the paper's from its own number for ``vs`` (the row with
that condition and column), ours paired per question on the same two conditions.

Why a verdict per row: a paper's open-ended accuracy and our 4-way multiple choice (chance
0.25) are not the same quantity, and neither are FT+RAG − RAG and FT+RAG − FT. A row is
"comparable" only when the task format and the contrast match; then it prints ours − paper.
Otherwise it says why not and prints no difference. Ours always carries its 95% CI and the
chance floor of our task, so a value below chance reads as such.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from harness.errors import HarnessError
from harness.records import GOLD, N_CHOICES, Samples, load_samples
from harness.report import paired
from harness.scoring import stats

ROW_FIELDS = {"condition", "paper", "ours", "label", "vs"}
BLOCK_FIELDS = {"source", "note", "metric", "format", "compare_levels", "rows"}
FORMATS = {"open": "open-ended answers", "mc": "multiple choice"}
COMPARABLE = "comparable"
CHOICE_METRICS = {"acc", "acc_norm"}  # lm-eval's log-likelihood choice among options


@dataclass(frozen=True)
class Comparison:
    """One published number beside ours: what each side measures, and whether they can meet."""

    label: str
    condition: str
    vs: str | None  # None: a level; else the contrast is ``condition − vs`` on both sides
    column: str
    paper: float  # the paper's level, or its contrast when ``vs`` is set
    paper_metric: str
    ours: stats.Interval | stats.Delta
    our_format: str
    chance: float  # our task's chance floor (0 for open answers: a guess names nothing)
    verdict: str

    @property
    def contrast(self) -> str:
        return f"{self.condition} − {self.vs}" if self.vs else f"{self.condition} (level)"

    @property
    def comparable(self) -> bool:
        return self.verdict == COMPARABLE


def _check_block(paper: dict[str, Any]) -> None:
    unknown = set(paper) - BLOCK_FIELDS
    if unknown:
        raise HarnessError(f"paper: unknown field(s) {sorted(unknown)} (expected {sorted(BLOCK_FIELDS)})")
    if paper.get("format") not in FORMATS:
        raise HarnessError(f"paper.format: expected one of {sorted(FORMATS)} (the task format of the paper's "
                           f"numbers), got {paper.get('format')!r}")
    if not str(paper.get("metric") or "").strip():
        raise HarnessError("paper.metric: say what the paper's numbers measure (e.g. 'GPT-4-judged accuracy')")


def _rows(paper: dict[str, Any]) -> list[dict[str, Any]]:
    """The validated rows: every field known, ``ours`` one task's metric (a mean over tasks of
    mixed formats measures nothing a paper reports), and every ``vs`` backed by the paper's own
    number for that condition on the same column, so no contrast silently prints "—"."""
    rows = paper.get("rows") or []
    if not isinstance(rows, list) or not rows:
        raise HarnessError("paper.rows: expected a list of {condition, paper, ours[, vs, label]} entries")
    for i, row in enumerate(rows):
        missing = {"condition", "paper", "ours"} - set(row or {})
        if missing:
            raise HarnessError(f"paper.rows[{i}]: missing field(s) {sorted(missing)}")
        unknown = set(row) - ROW_FIELDS
        if unknown:
            raise HarnessError(f"paper.rows[{i}]: unknown field(s) {sorted(unknown)}")
        if str(row["ours"]).count("/") != 1:
            raise HarnessError(f"paper.rows[{i}].ours: expected one task's column <task>/<metric>, got {row['ours']!r}")
        if row.get("vs") is not None and _paper_level(rows, str(row["vs"]), str(row["ours"])) is None:
            raise HarnessError(f"paper.rows[{i}].vs: no row gives the paper's number for {row['vs']!r} on "
                               f"{row['ours']} (the contrast needs both sides)")
    return rows


def _paper_level(rows: list[dict[str, Any]], condition: str, column: str) -> float | None:
    """The paper's number for ``condition`` on ``column`` (a row's ``paper`` is always the
    paper's level, also on a contrast row): looked up by condition and column, never by label
    (labels differ between rows of one measure, e.g. 'FT + paraphrases gain')."""
    for row in rows:
        if str(row["condition"]) == condition and str(row["ours"]) == column:
            return float(row["paper"])
    return None


def our_format(samples: Samples, task: str, metric: str) -> tuple[str, str, float]:
    """(format key, description, chance floor) of our task, read from its records: choices
    make it multiple choice with the leaderboard's chance level; records without choices
    scored by a choice metric (lm-eval's log-likelihood ``acc``, older runs stored no choices)
    are multiple choice of unknown width (floor unknown); other records are open answers
    (floor 0); no records at all leave the format unknown."""
    records = [s for tasks in samples.values() for s in (tasks.get(task) or {}).values()]
    counts = [s[N_CHOICES] for s in records if N_CHOICES in s]
    if counts:
        low, high = int(min(counts)), int(max(counts))
        way = f"{high}-way" if low == high else f"{low}–{high}-way"
        return "mc", f"{way} multiple choice, {metric}", paired.chance(samples, task, metric)
    if records and (metric in CHOICE_METRICS or any(f"{metric}{GOLD}" in s for s in records)):
        return "mc", f"multiple choice (choices not recorded), {metric}", math.nan
    if records:
        return "open", f"open-ended answers, {metric}", 0.0
    return "unknown", f"{metric} (no per-question records)", math.nan


def _agg(frame: pd.DataFrame, condition: str, column: str) -> tuple[float, float]:
    """(value, stderr) from the leaderboard frame: the fallback when records are missing."""
    def cell(name: str) -> float:
        if condition not in frame.index or name not in frame.columns:
            return math.nan
        try:
            return float(frame.loc[condition, name])
        except (TypeError, ValueError):
            return math.nan
    return cell(column), cell(f"{column}_stderr")


def _ours(samples: Samples, frame: pd.DataFrame, row: dict[str, Any], seed: int) -> stats.Interval | stats.Delta:
    """Our level with its 95% CI (Wilson for 0/1 scores), or our ``condition − vs`` paired per
    question (Tango/McNemar for 0/1 scores), by the helpers the leaderboard uses."""
    condition, column = str(row["condition"]), str(row["ours"])
    task, metric = column.split("/")
    got = _agg(frame, condition, column)
    if row.get("vs") is None:
        return paired.interval(samples, condition, task, metric, {metric: got[0], "n": 0}, seed)
    vs = str(row["vs"])
    return paired.delta_at(samples, vs, condition, task, metric, _agg(frame, vs, column), got, seed)(stats.ALPHA)


def verdict(paper_format: str, ours_format: str, *, contrast: bool, compare_levels: bool, measured: bool) -> str:
    """"comparable" only when the task formats match and the row is a contrast (or the paper's
    levels are a claim we can check); else "not comparable: <reason>"."""
    if not measured:
        return "not measured: a condition of this row is missing from the run"
    if ours_format == "unknown":
        return "not comparable: our task's format is unknown (no per-question records)"
    if paper_format != ours_format:
        return f"not comparable: the paper's {FORMATS[paper_format]} vs our {FORMATS[ours_format]}"
    if not contrast and not compare_levels:
        return "not comparable: a level of the paper's model on its data; only its contrasts are compared"
    return COMPARABLE


def compare(paper: dict[str, Any], frame: pd.DataFrame, samples: Samples | None = None, *,
            seed: int = 0) -> list[Comparison]:
    """Every row of a ``paper`` block against a run (its leaderboard frame and records)."""
    _check_block(paper)
    rows, samples = _rows(paper), samples or {}
    out = []
    for row in rows:
        condition, column, vs = str(row["condition"]), str(row["ours"]), row.get("vs")
        task, metric = column.split("/")
        kind, described, chance = our_format(samples, task, metric)
        ours = _ours(samples, frame, row, seed)
        published = float(row["paper"])
        if vs is not None:  # _rows made sure the paper gives its number for ``vs``
            base = _paper_level(rows, str(vs), column)
            published = published - base if base is not None else math.nan
        out.append(Comparison(
            label=str(row.get("label") or column), condition=condition, vs=None if vs is None else str(vs),
            column=column, paper=published, paper_metric=str(paper["metric"]), ours=ours, our_format=described,
            chance=chance, verdict=verdict(str(paper["format"]), kind, contrast=vs is not None,
                                           compare_levels=bool(paper.get("compare_levels")),
                                           measured=not math.isnan(ours.estimate))))
    return out


def _num(value: float, delta: bool) -> str:
    return "—" if math.isnan(value) else (f"{100 * value:+.1f} pp" if delta else f"{value:.3f}")


def _with_ci(estimate: float, low: float, high: float, delta: bool) -> str:
    if math.isnan(estimate):
        return "—"
    if math.isnan(low) or math.isnan(high):
        return f"{_num(estimate, delta)} (no CI)"
    if delta:
        return f"{100 * estimate:+.1f} pp [{100 * low:+.1f}, {100 * high:+.1f}]"
    return f"{estimate:.3f} [{low:.3f}, {high:.3f}]"


def _cells(c: Comparison) -> list[str]:
    """One table row: the difference is printed for comparable rows only."""
    delta = c.vs is not None
    ours = _with_ci(c.ours.estimate, c.ours.low, c.ours.high, delta)
    if not delta and not math.isnan(c.chance) and c.ours.estimate < c.chance:
        ours += " (below chance)"
    chance = "—" if math.isnan(c.chance) else ("≈0 (open answer)" if c.chance == 0 else f"{c.chance:.3f}")
    diff = "—"
    if c.comparable:
        diff = _with_ci(c.ours.estimate - c.paper, c.ours.low - c.paper, c.ours.high - c.paper, True)
    return [c.label, c.contrast, c.paper_metric, _num(c.paper, delta), f"{c.column} ({c.our_format})", ours,
            chance, c.verdict, diff]


HEADER = ["measure", "contrast (both sides)", "paper's metric", "paper", "ours (task, format)", "ours (95% CI)",
          "chance floor (ours)", "comparable?", "ours − paper"]


def paper_vs_ours(paper: dict[str, Any], frame: pd.DataFrame, samples: Samples | None = None, *,
                  seed: int = 0) -> str:
    """The markdown table (with its source line and how to read it) for one run."""
    found = compare(paper, frame, samples, seed=seed)
    lines = [f"**Paper vs ours** — {paper.get('source', 'unnamed source')}", ""]
    if paper.get("note"):
        lines += [f"_{str(paper['note']).strip()}_", ""]
    lines += ["| " + " | ".join(HEADER) + " |", "|:--|:--|:--|--:|:--|--:|--:|:--|--:|"]
    lines += ["| " + " | ".join(_cells(c)) + " |" for c in found]
    lines += ["", "_A contrast is the same two conditions on both sides. Ours: 95% CI, Wilson for a 0/1 level, "
              "paired per question for a contrast (Tango's interval for 0/1 scores), each alone (no Holm "
              "adjustment across this table). Chance floor: a uniform random guess on our task. ours − paper "
              "only where comparable; its interval is ours shifted by the paper's number (the paper's own "
              "sampling error is not included)._"]
    return "\n".join(lines) + "\n"


def write_paper_table(run_dir: Path, paper: dict[str, Any] | None, frame: pd.DataFrame, reference: str) -> str:
    """Write ``paper_vs_ours.md`` when the run's config has a ``paper`` block; returns the table.

    The per-question records are read here (the contrasts are paired on them). ``reference``,
    the run's reference condition, is not used: a paper's contrast names its own subtrahend
    (``vs``), which is not always the reference (FT+RAG − FT)."""
    del reference
    if not paper:
        return ""
    table = paper_vs_ours(paper, frame, load_samples(Path(run_dir)))
    (Path(run_dir) / "paper_vs_ours.md").write_text(table, encoding="utf-8")
    return table
