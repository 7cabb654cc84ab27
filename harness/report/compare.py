"""`python -m harness compare <baseline> <candidate>`: a regression gate between two runs.

Every condition × task primary metric of a candidate run, and each condition's mean over tasks,
is compared with a baseline (paired per question when both kept records of the same questions).
Exit 2, nothing decided: the candidate lacks a condition, task or condition × task the baseline
measured (all named at once: comparing only what both have would pass a broken run), or a
manifest.json is missing or says the runs measured different things (suite or task data, eval
settings) — these two unless ``--force``. Exit 1: a REGRESSION (a drop beyond ``--tolerance``,
significant after Holm's adjustment over all rows) or, with ``--margin δ``, an INFERIOR row (its
own 95% lower bound below -δ; passing needs every row, an intersection–union test, Berger 1982,
so no multiplicity adjustment). Noise is bounded, not harmless: the rows are one Holm (1979)
family, so an unchanged candidate fails with probability at most alpha (5%) per comparison
(tests/test_compare.py simulates it, and the higher rate without Holm); each row's minimum
detectable effect (80% power at the level alpha/m a lone regression faces) is printed, with a
warning where it exceeds the tolerance.
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from harness.report import power as planning
from harness.report.paired import aligned, metric_scores, ordered
from harness.report.run_data import EVAL_KEYS_IGNORED, RunData, incomparabilities, load
from harness.scoring import stats

DEFAULT_TOLERANCE = 0.02
POWER = 0.8  # the power the minimum detectable effect and the margin's n are quoted at
FAILING = ("REGRESSION", "INFERIOR")
DESCRIPTION = ("Gate a candidate run against a baseline per condition x task (paired per question when both have\n"
               "records). Exit 0: pass; 1: a drop beyond the tolerance, significant under Holm over all rows, or\n"
               "(--margin) a 95% lower bound below -margin; 2: the candidate lacks a baseline condition or task,\n"
               "a manifest is missing or differs (see --force), or a run is unreadable.")


def _conditions(run: RunData) -> list[str]:
    return list(dict.fromkeys([*run.aggregates, *run.samples]))


def _measures(run: RunData, condition: str, task: str) -> bool:
    """Whether ``run`` has a value of ``task``'s primary metric for ``condition``."""
    metric = run.primary.get(task, "")
    value = run.aggregates.get(condition, {}).get(task, {}).get(metric)
    return bool(metric) and (isinstance(value, (int, float))
                             or metric_scores(run.samples, condition, task, metric) is not None)


def missing_from(baseline: RunData, candidate: RunData) -> list[str]:
    """What the baseline measured and the candidate lacks ([] when the candidate is complete):
    a gate that compared only what both have would pass a run that lost a condition."""
    have = set(_conditions(candidate))
    tasks = list(ordered(baseline.primary))
    lost = [c for c in _conditions(baseline) if c not in have]
    lost_tasks = [t for t in tasks if t not in candidate.primary]
    lost_cells = [f"{c}/{t}" for c in _conditions(baseline) if c in have for t in tasks
                  if t in candidate.primary and _measures(baseline, c, t) and not _measures(candidate, c, t)]
    named = [("condition", lost), ("task", lost_tasks), ("condition × task", lost_cells)]
    return [f"{kind}{'s' if len(items) > 1 else ''} {', '.join(items)}" for kind, items in named if items]


# ---------------------------------------------------------------- the family of rows


@dataclass(frozen=True)
class _Cell:
    """A row before testing: values, its delta as a function of alpha (Holm asks for the
    interval at its step's level), and the paired spread its power depends on."""

    condition: str
    task: str
    metric: str
    baseline: float
    candidate: float
    at: stats.DeltaAt
    pairs: tuple[tuple[np.ndarray, np.ndarray], ...] = ()  # the aligned scores power is computed from
    se: tuple[float, float] = (math.nan, math.nan)
    evidence: tuple[tuple[stats.Evidence, stats.Evidence], ...] = ()  # what the paired delta is computed on


def _paired(baseline: RunData, candidate: RunData, condition: str, task: str,
            metric: str) -> tuple[stats.Evidence, stats.Evidence] | None:
    """Both runs' evidence when they scored the same questions (None otherwise)."""
    a = baseline.samples.get(condition, {}).get(task)
    b = candidate.samples.get(condition, {}).get(task)
    if not a or not b or set(a) != set(b):
        return None
    return aligned({"baseline": {task: a}, "candidate": {task: b}}, "baseline", "candidate", task, metric)


def _spread_pairs(pair: tuple[stats.Evidence, stats.Evidence] | None) -> tuple[tuple[np.ndarray, np.ndarray], ...]:
    """The per-question scores power is computed from (none for a label metric such as macro-F1)."""
    if pair is None or pair[0].labels is not None:
        return ()
    return ((pair[0].values, pair[1].values),)


def _cell(baseline: RunData, candidate: RunData, condition: str, task: str, metric: str, seed: int) -> _Cell:
    """Paired when both runs scored the same questions, else unpaired, else from aggregates."""
    a = metric_scores(baseline.samples, condition, task, metric)
    b = metric_scores(candidate.samples, condition, task, metric)
    (va, sa), (vb, sb) = ((float(got.get(metric, math.nan)), float(got.get(f"{metric}_stderr", math.nan)))
                          for got in (run.aggregates.get(condition, {}).get(task, {}) for run in (baseline, candidate)))
    s = stats.stable_seed(condition, task, "compare", base=seed)
    pair = _paired(baseline, candidate, condition, task, metric)
    if pair is not None:
        if pair[0].labels is None:
            va, vb = float(np.nanmean(pair[0].values)), float(np.nanmean(pair[1].values))
        return _Cell(condition, task, metric, va, vb, lambda al: stats.evidence.delta(*pair, alpha=al, seed=s),
                     _spread_pairs(pair), (sa, sb), (pair,))
    if a is not None and b is not None:
        va, vb = float(np.nanmean(list(a.values()))), float(np.nanmean(list(b.values())))
        xs, ys = list(a.values()), list(b.values())
        return _Cell(condition, task, metric, va, vb, lambda al: stats.unpaired_delta(xs, ys, alpha=al, seed=s),
                     se=(sa, sb))
    return _Cell(condition, task, metric, va, vb, lambda al: stats.normal_delta(va, sa, vb, sb, alpha=al), se=(sa, sb))


def _mean_cell(condition: str, parts: Sequence[_Cell], seed: int) -> _Cell:
    """The condition's unweighted mean over tasks: paired over all tasks' questions when every
    task is paired, else from the tasks' standard errors (unknown if any is unknown)."""
    va, vb = float(np.mean([p.baseline for p in parts])), float(np.mean([p.candidate for p in parts]))
    evidence = [e for p in parts for e in p.evidence]
    if len(evidence) == len(parts):
        s = stats.stable_seed(condition, "mean", "compare", base=seed)
        spread = tuple(pair for p in parts for pair in p.pairs)  # power only when every task has per-question scores
        return _Cell(condition, "mean", "", va, vb, lambda al: stats.evidence.mean_delta(evidence, alpha=al, seed=s),
                     spread if len(spread) == len(parts) else (), evidence=tuple(evidence))
    se_a = math.sqrt(sum(p.se[0] ** 2 for p in parts)) / len(parts)
    se_b = math.sqrt(sum(p.se[1] ** 2 for p in parts)) / len(parts)
    return _Cell(condition, "mean", "", va, vb, lambda al: stats.normal_delta(va, se_a, vb, se_b, alpha=al))


def _cells(baseline: RunData, candidate: RunData, seed: int) -> list[_Cell]:
    primary = ordered({t: m for t, m in candidate.primary.items() if t in baseline.primary})
    conditions = [c for c in _conditions(candidate) if c in set(_conditions(baseline))]
    cells: list[_Cell] = []
    for condition in conditions:
        parts = [_cell(baseline, candidate, condition, task, metric, seed) for task, metric in primary.items()]
        cells += parts
        if len(parts) >= 2:
            cells.append(_mean_cell(condition, parts, seed))
    return cells


def _status(held: stats.Delta, alone: stats.Delta, tolerance: float, margin: float | None) -> str:
    """REGRESSION reads the Holm-adjusted decision; INFERIOR the row's own 95% lower bound."""
    if math.isnan(held.estimate) or math.isnan(alone.p_value) or math.isnan(alone.low):
        return "missing" if math.isnan(held.estimate) else "untested"
    if held.significant and held.estimate < -tolerance:
        return "REGRESSION"
    if margin is not None and alone.low < -margin:
        return "INFERIOR"
    if held.significant and held.estimate > tolerance:
        return "improved"
    return "ok"


def _row(cell: _Cell, held: stats.Delta, alone: stats.Delta, *, tolerance: float, margin: float | None,
         alpha: float, lone_alpha: float) -> dict[str, Any]:
    return {"condition": cell.condition, "task": cell.task, "metric": cell.metric, "baseline": cell.baseline,
            "candidate": cell.candidate, "delta": held.estimate, "ci_low": held.low, "ci_high": held.high,
            "level": held.level, "p": alone.p_value, "p_holm": held.p_adjusted, "ci95_low": alone.low,
            "ci95_high": alone.high, "n": held.n, "test": held.test, "paired": held.paired,
            **planning.row_power(planning.spread(cell.pairs), alpha=alpha, lone_alpha=lone_alpha, margin=margin,
                                 power=POWER),
            "status": _status(held, alone, tolerance, margin)}


def compare(baseline: RunData, candidate: RunData, *, tolerance: float = DEFAULT_TOLERANCE,
            alpha: float = stats.ALPHA, margin: float | None = None, seed: int = 0) -> pd.DataFrame:
    """One row per shared condition × task (primary metric) and per condition's mean, one Holm
    family: ``p`` raw, ``p_holm`` adjusted, ``ci_low/high`` at the row's Holm ``level``, ``ci95_*``
    its own 95% CI (the margin reads it), ``mde`` at alpha/m; ``attrs``: family size, rules."""
    cells = {(c.condition, c.task): c for c in _cells(baseline, candidate, seed)}
    alone = {key: c.at(alpha) for key, c in cells.items()}

    def reuse(key: tuple[str, str]) -> stats.DeltaAt:
        return lambda al: alone[key] if al == alpha else cells[key].at(al)

    held = stats.holm_family({key: reuse(key) for key in cells}, alpha)
    m = max(1, sum(not math.isnan(d.p_value) for d in alone.values()))
    rows = [_row(cell, held[key], alone[key], tolerance=tolerance, margin=margin, alpha=alpha, lone_alpha=alpha / m)
            for key, cell in cells.items()]
    table = pd.DataFrame(rows)
    table.attrs.update(family=m, alpha=alpha, tolerance=tolerance, margin=margin, power=POWER)
    return table


def exit_status(table: pd.DataFrame) -> int:
    """The gate's decision on a comparison table: 1 when a row is REGRESSION or INFERIOR, else 0."""
    return int(bool(len(table)) and bool(table["status"].isin(FAILING).any()))


# ---------------------------------------------------------------- for people


def to_markdown(table: pd.DataFrame) -> str:
    """The comparison for people: values, Δ in points with its Holm-level CI, raw and Holm p,
    the MDE, with ``--margin`` the 95% CI and the n the margin needs, and a status."""
    if table.empty:
        return "(no condition × task in common)"
    _pp = lambda x, spec="+.1f": "" if math.isnan(x) else format(100 * x, spec)  # noqa: E731
    _p = lambda p: "" if math.isnan(p) else ("<0.001" if p < 0.001 else f"{p:.3f}")  # noqa: E731
    _ci = lambda lo, hi: "" if math.isnan(lo) else f"[{_pp(lo)}, {_pp(hi)}]"  # noqa: E731
    shown = {
        "condition": table["condition"],
        "task": [t if not m else f"{t}/{m}" for t, m in zip(table["task"], table["metric"])],
        **{side: ["" if math.isnan(v) else f"{v:.3f}" for v in table[side]] for side in ("baseline", "candidate")},
        "Δ (pp)": [_pp(v) for v in table["delta"]],
        "CI (Holm level, pp)": [_ci(lo, hi) for lo, hi in zip(table["ci_low"], table["ci_high"])],
        "level": ["" if math.isnan(lo) else f"{100 * lv:.4g}%" for lo, lv in zip(table["ci_low"], table["level"])],
        "p": [_p(p) for p in table["p"]],
        "p (Holm)": [_p(p) for p in table["p_holm"]],
        "MDE (pp)": [_pp(v, ".1f") for v in table["mde"]],
    }
    if table.attrs.get("margin") is not None:
        shown["95% CI (pp)"] = [_ci(lo, hi) for lo, hi in zip(table["ci95_low"], table["ci95_high"])]
        shown["n for margin"] = ["" if math.isnan(v) else f"{int(v)}" for v in table["margin_n"]]
    shown["test"] = [f"{t} ({'paired' if pr else 'unpaired'})" for t, pr in zip(table["test"], table["paired"])]
    shown["status"] = table["status"]
    return pd.DataFrame(shown).to_markdown(index=False, disable_numparse=True)


def notes(table: pd.DataFrame) -> list[str]:
    """What the decisions mean (the family and its error rate, the margin rule), what the gate
    can see (harness.report.power.gate_notes), and a warning for each untested row."""
    m, alpha, tol, margin = (table.attrs.get(k) for k in ("family", "alpha", "tolerance", "margin"))
    lines = [f"Holm family of {m} tests (all rows with a p, means included): the family-wise false-alarm rate, the "
             f"chance that a candidate with no real change shows any REGRESSION, is ≤ {100 * alpha:g}%. p (Holm) decides; "
             f"each CI is at its row's Holm level, so it excludes 0 exactly when p (Holm) < {alpha:g}."]
    if margin is not None:
        lines.append(f"Non-inferiority: a row is INFERIOR when its own 95% CI's lower bound is below -{100 * margin:g} pp; "
                     "passing needs every row, an intersection-union test (Berger 1982), so no multiplicity adjustment "
                     "is needed.")
    lines += planning.gate_notes(table, family=m, alpha=alpha, tolerance=tol, margin=margin, power=POWER)
    untested = [f"{r.condition}/{r.task}" for r in table.itertuples() if r.status == "untested"]
    return lines + ([f"warning: no interval (no per-question scores, no stderr), untested: {', '.join(untested)}"]
                    if untested else [])


# ---------------------------------------------------------------- CLI


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m harness compare", description=DESCRIPTION,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("baseline", type=Path, help="baseline run folder, metrics.json or leaderboard.csv/.parquet")
    p.add_argument("candidate", type=Path, help="candidate run folder (or metrics.json / leaderboard.csv)")
    p.add_argument("--tolerance", type=float, default=DEFAULT_TOLERANCE, help="largest drop that never fails (0.02 = 2 pp)")
    p.add_argument("--alpha", type=float, default=stats.ALPHA, help="family-wise false-alarm rate (Holm over all rows)")
    p.add_argument("--margin", type=float, default=None, help="non-inferiority: fail a row whose 95%% lower bound < -margin")
    p.add_argument("--force", action="store_true", help="compare despite differing or missing manifests")
    p.add_argument("--csv", type=Path, default=None, help="also write the comparison table here")
    p.add_argument("--seed", type=int, default=0, help="seed of the bootstrap intervals")
    return p


def _refused(baseline: RunData, candidate: RunData, force: bool, err: Any) -> bool:
    """Print why the runs cannot be gated (True), or the warnings ``--force`` leaves (False)."""
    reasons = [f"the {side} has no manifest.json, so suite, task data and eval settings cannot be checked"
               for side, run in (("baseline", baseline), ("candidate", candidate)) if run.manifest is None]
    reasons += incomparabilities(baseline, candidate)
    if reasons and not force:
        print("error: the runs are not comparable (use --force to compare anyway):", file=err)
        for reason in reasons:
            print(f"  - {reason}", file=err)
        return True
    for reason in reasons:
        print(f"warning: compared despite: {reason}", file=err)
    missing = missing_from(baseline, candidate)
    if missing:
        print(f"error: the candidate is incomplete: it lacks the baseline's {'; '.join(missing)}", file=err)
    return bool(missing)


def _verdict(table: pd.DataFrame, out: Any) -> int:
    tol, margin = table.attrs["tolerance"], table.attrs["margin"]
    for status, rule in (("REGRESSION", f"Holm-significant drop larger than {tol:g}"),
                         ("INFERIOR", f"95% CI lower bound below -{margin}")):
        names = ", ".join(f"{r.condition}/{r.task}" for r in table.itertuples() if r.status == status)
        if names:
            print(f"FAIL: {status} ({rule}) in {names}", file=out)
    if exit_status(table):
        return 1
    rule = "" if margin is None else f", every row non-inferior at margin {margin:g}"
    print(f"PASS: no Holm-significant drop larger than {tol:g}{rule}", file=out)
    return 0


def main(argv: list[str], out: Any = None, err: Any = None) -> int:
    """Run the gate; returns the exit status (0 pass, 1 regression or inferior, 2 refused)."""
    out, err = out or sys.stdout, err or sys.stderr
    args = parser().parse_args(argv)
    baseline, candidate = load(args.baseline), load(args.candidate)
    if _refused(baseline, candidate, args.force, err):
        return 2
    table = compare(baseline, candidate, tolerance=args.tolerance, alpha=args.alpha, margin=args.margin, seed=args.seed)
    if table.empty:
        print("error: the runs share no condition × task to compare", file=err)
        return 2
    print(to_markdown(table), file=out)
    print("\n".join(["", *notes(table)]), file=out)
    if args.csv:
        table.to_csv(args.csv, index=False, float_format="%.6g")
    return _verdict(table, out)


def gate(baseline: Path, candidate: Path, *, tolerance: float = DEFAULT_TOLERANCE, force: bool = False) -> int:
    """Programmatic form of the CLI (for tests and CI scripts): the exit status."""
    return main([str(baseline), str(candidate), "--tolerance", str(tolerance)] + (["--force"] if force else []))


__all__ = ["RunData", "compare", "exit_status", "gate", "incomparabilities", "load", "main", "missing_from",
           "notes", "to_markdown"]
