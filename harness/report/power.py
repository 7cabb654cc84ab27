"""`python -m harness power <run folder>`: how many questions a paired comparison needs.

A pilot run (``eval.limit=20``, or a finished run) already says how often two conditions
disagree question by question, and that discordance — not the accuracy itself — sets how many
questions a paired test needs: two conditions that answer alike except on a few questions are
told apart with few questions, two that disagree on half of them need many. This module turns
that into numbers (Connor 1987, harness.scoring.stats.power) for every condition × task of a
run against its reference, and gives ``compare`` the same helpers for its per-row MDE.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

import numpy as np
import pandas as pd

from harness.errors import HarnessError
from harness.records import RunFolder, Samples, load_samples
from harness.report.paired import metric_scores, ordered
from harness.scoring import stats

FORMULA = ("n = (z[1-α/2]·√ψ + z[power]·√(ψ − Δ²))² / Δ²  (Connor 1987, paired design): ψ = mean squared "
           "per-question difference in this run (for 0/1 scores the share of questions the two conditions "
           "disagree on, never taken below |Δ|); MDE = the Δ that solves it at the current n.")


@dataclass(frozen=True)
class PairedSpread:
    """What a paired comparison's power depends on: questions, observed delta, and the null
    variance ``psi = mean((b - a)^2)`` (the discordance rate for 0/1 scores)."""

    n: int
    delta: float
    null_var: float
    binary: bool


def spread(pairs: Sequence[tuple[stats.ArrayLike, stats.ArrayLike]]) -> PairedSpread | None:
    """The spread of ``b - a`` over aligned (a, b) score arrays, one pair per task (None when no
    question is scored on both sides). Several tasks are their unweighted mean, taken as one
    comparison of all N questions: the effective ``psi`` makes ``psi / N`` the null variance of
    the mean of task deltas, ``sum(psi_k / n_k) / K^2``."""
    parts = [p for p in (stats.paired_arrays(a, b) for a, b in pairs) if p[0].size]
    if not parts or len(parts) < len(pairs):
        return None
    n = [x.size for x, _ in parts]
    psi = [float(np.mean((y - x) ** 2)) for x, y in parts]
    total, k = int(sum(n)), len(parts)
    return PairedSpread(total, float(np.mean([np.mean(y - x) for x, y in parts])),
                        total * sum(v / m for v, m in zip(psi, n)) / k**2,
                        all(stats.is_binary(np.concatenate(p)) for p in parts))


def mde(s: PairedSpread, *, alpha: float = stats.ALPHA, power: float = 0.8) -> float:
    """Minimum detectable effect at ``s.n`` (nan where undefined)."""
    return stats.minimum_detectable_effect(s.n, s.null_var, binary=s.binary, alpha=alpha, power=power)


def margin_n(margin: float, s: PairedSpread, *, alpha: float = stats.ALPHA, power: float = 0.8) -> int:
    """Questions a non-inferiority margin needs (harness.scoring.stats.margin_questions)."""
    return stats.margin_questions(margin, s.null_var, binary=s.binary, alpha=alpha, power=power)


def row_power(s: PairedSpread | None, *, alpha: float, lone_alpha: float, margin: float | None,
              power: float) -> dict[str, float]:
    """A gate row's power columns: ``null_var``, ``mde`` at ``lone_alpha`` and the questions
    ``margin`` needs (``margin_n``); nan without per-question records."""
    if s is None:
        return {"null_var": math.nan, "mde": math.nan, "margin_n": math.nan}
    need = float(margin_n(margin, s, alpha=alpha, power=power)) if margin else math.nan
    return {"null_var": s.null_var, "mde": mde(s, alpha=lone_alpha, power=power), "margin_n": need}


def gate_notes(table: pd.DataFrame, *, family: int, alpha: float, tolerance: float, margin: float | None,
               power: float) -> list[str]:
    """What a gate can see: how its MDE column is computed, what 'n for margin' means, and a
    warning for every row whose MDE exceeds the tolerance (a drop of the tolerance's size would
    mostly pass unnoticed there, whatever the tolerance promises)."""
    lines = [f"MDE: the drop a row detects with {power:.0%} power at its n, at the level {alpha:g}/{family} a lone "
             f"regression faces under Holm (Connor 1987; discordance of these two runs). Tolerance: {100 * tolerance:g} pp."]
    if margin is not None:
        lines.append(f"n for margin: questions a row needs for its 95% lower bound to clear -{100 * margin:g} pp with "
                     f"{power:.0%} power when nothing changed.")
    blind: dict[tuple[str, int], list[str]] = {}  # rows with the same MDE and n share one line
    for r in table.itertuples():
        if not math.isnan(r.mde) and r.mde > tolerance:
            blind.setdefault((f"{100 * r.mde:.1f}", int(r.n)), []).append(f"{r.condition}/{r.task}")
    return lines + [f"warning: this gate cannot see drops smaller than {mde_pp} pp on {', '.join(rows)} at n={n} "
                    f"(the tolerance is {100 * tolerance:g} pp)" for (mde_pp, n), rows in blind.items()]


# ---------------------------------------------------------------- the planning table


def plan(samples: Samples, primary: Mapping[str, str], reference: str, *, effect: float = 0.05,
         alpha: float = stats.ALPHA, power: float = 0.8) -> pd.DataFrame:
    """One row per condition (other than ``reference``) × task, paired per question."""
    rows = []
    for condition in sorted(c for c in samples if c != reference):
        for task, metric in ordered(primary).items():
            ref = metric_scores(samples, reference, task, metric)
            got = metric_scores(samples, condition, task, metric)
            s = spread([stats.align(ref, got)[1:]]) if ref is not None and got is not None else None
            if s is None:
                continue
            need = stats.questions_needed(effect, s.null_var, binary=s.binary, alpha=alpha, power=power)
            rows.append({"condition": condition, "task": task, "metric": metric, "n": s.n, "delta": s.delta,
                         "null_var": s.null_var, "binary": s.binary, "mde": mde(s, alpha=alpha, power=power),
                         "n_needed": need})
    return pd.DataFrame(rows)


def to_markdown(table: pd.DataFrame, effect: float, power: float) -> str:
    """The plan for people: deltas and effects in points, ψ as a share."""
    return pd.DataFrame({
        "condition": table["condition"],
        "task": [f"{t}/{m}" for t, m in zip(table["task"], table["metric"])],
        "n now": table["n"],
        "Δ (pp)": [f"{100 * d:+.1f}" for d in table["delta"]],
        "ψ = mean d² (discordance)": [f"{v:.3f}" for v in table["null_var"]],
        f"MDE at n, {power:.0%} power (pp)": ["" if math.isnan(v) else f"{100 * v:.1f}" for v in table["mde"]],
        f"n for ±{100 * effect:g} pp": table["n_needed"],
    }).to_markdown(index=False, disable_numparse=True)


def _load(run_dir: Path) -> tuple[Samples, dict[str, str], str | None]:
    folder = RunFolder(run_dir)
    if not folder.metrics_file.is_file():
        raise HarnessError(f"{run_dir}: no metrics.json; give a run folder (results/<exp>/<run>)")
    try:
        metrics = json.loads(folder.metrics_file.read_text())
        primary = dict(metrics["primary"])
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise HarnessError(f"{folder.metrics_file}: not a harness metrics.json ({err})") from err
    samples = load_samples(folder.path)
    if not samples:
        raise HarnessError(f"{run_dir}: no per-question records (samples/): power needs paired scores")
    return samples, primary, metrics.get("reference")


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m harness power", description=(
        "Plan a comparison from a pilot run: per condition × task vs the reference, the minimum detectable\n"
        "effect at the run's n and the questions needed to detect --effect (paired per question)."),
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("run", type=Path, help="a run folder with per-question records (e.g. one made with eval.limit=20)")
    p.add_argument("--effect", type=float, default=0.05, help="difference to detect, metric units (0.05 = 5 points)")
    p.add_argument("--power", type=float, default=0.8, help="chance of detecting it")
    p.add_argument("--alpha", type=float, default=stats.ALPHA,
                   help="two-sided level; for a family of m comparisons under Holm plan with alpha/m")
    p.add_argument("--reference", default=None, help="condition compared against (default: the run's reference, else base)")
    return p


def main(argv: list[str], out: TextIO | None = None, err: TextIO | None = None) -> int:
    """Print the plan; returns the exit status (0, or 2 when the run cannot be planned from)."""
    out, err = out or sys.stdout, err or sys.stderr
    args = parser().parse_args(argv)
    try:
        samples, primary, stored_reference = _load(args.run)
    except HarnessError as error:
        print(f"error: {error}", file=err)
        return 2
    reference = args.reference or stored_reference or ("base" if "base" in samples else sorted(samples)[0])
    if reference not in samples:
        print(f"error: no records of reference condition {reference!r}; known: {', '.join(sorted(samples))}", file=err)
        return 2
    table = plan(samples, primary, reference, effect=args.effect, alpha=args.alpha, power=args.power)
    if table.empty:
        print(f"error: no condition shares questions with {reference!r}", file=err)
        return 2
    print(f"Paired comparisons vs {reference} (two-sided α = {args.alpha:g}, power {args.power:.0%}):\n", file=out)
    print(to_markdown(table, args.effect, args.power), file=out)
    print(f"\n{FORMULA}", file=out)
    return 0


__all__ = ["FORMULA", "PairedSpread", "main", "margin_n", "mde", "parser", "plan", "row_power",
           "spread", "to_markdown", "gate_notes"]
