"""`python -m harness compare <baseline> <candidate>`: a regression gate between two runs.

A change to the harness (or a new adapter, a new retriever setting) should not silently cost
accuracy. This compares every condition × task primary metric of a candidate run against a
baseline, paired per question when both runs kept per-sample records for the same questions,
and fails (exit 1) only on a drop that is both larger than a tolerance and statistically
significant — noise alone never fails the gate. Runs whose manifests say they measured
different things (other suite or task data, other decoding/eval settings) are refused
(exit 2) unless ``--force``: their difference would not mean what the table claims.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from harness.errors import HarnessError
from harness.records import RunFolder, Samples, load_samples
from harness.report.paired import metric_scores, ordered
from harness.scoring import stats

DEFAULT_TOLERANCE = 0.02
# eval settings that do not change what is measured (throughput, stderr iterations)
EVAL_KEYS_IGNORED = frozenset({"batch_size", "bootstrap_iters"})
DESCRIPTION = ("Compare a candidate run with a baseline per condition x task (paired per question when both\n"
               "have per-sample records). Exit 0: pass; 1: a primary metric dropped by more than the\n"
               "tolerance and significantly; 2: the runs are not comparable (see --force) or unreadable.")


@dataclass
class RunData:
    """What one side of a comparison offers: aggregates, maybe per-sample records, maybe a manifest."""

    source: Path
    aggregates: dict[str, dict[str, dict[str, float]]]  # condition -> task -> metric (+ _stderr)
    primary: dict[str, str]
    samples: Samples = field(default_factory=dict)
    manifest: dict[str, Any] | None = None


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as err:
        raise HarnessError(f"{path}: unreadable ({err})") from err


def _from_board(path: Path) -> tuple[dict[str, dict[str, dict[str, float]]], dict[str, str]]:
    """Aggregates from a leaderboard.csv/.parquet: ``<task>/<metric>`` columns (+ ``_stderr``)."""
    try:
        frame = pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path, index_col="condition")
    except (OSError, ValueError, KeyError) as err:
        raise HarnessError(f"{path}: not a leaderboard table ({err})") from err
    suffixes = ("_stderr", "_ci_low", "_ci_high", "_n", "_delta", "_p")
    value_cols = [c for c in frame.columns if "/" in c and not c.endswith(suffixes) and "_delta_" not in c]
    primary = dict(c.split("/", 1) for c in value_cols)
    aggregates: dict[str, dict[str, dict[str, float]]] = {}
    for condition in frame.index:
        for col in value_cols:
            task, metric = col.split("/", 1)
            entry = aggregates.setdefault(str(condition), {}).setdefault(task, {})
            entry[metric] = float(frame.loc[condition, col])
            if f"{col}_stderr" in frame:
                entry[f"{metric}_stderr"] = float(frame.loc[condition, f"{col}_stderr"])
            if f"{col}_n" in frame:
                entry["n"] = float(frame.loc[condition, f"{col}_n"])
    return aggregates, primary


def load(path: Path) -> RunData:
    """A run folder, its metrics.json, or a leaderboard.csv/.parquet (aggregates only)."""
    path = Path(path)
    if path.is_dir():
        folder, target = path, RunFolder(path).metrics_file
        if not target.is_file() and (path / "leaderboard.csv").is_file():
            target = path / "leaderboard.csv"
    else:
        folder, target = path.parent, path
    if not target.is_file():
        raise HarnessError(f"{path}: no metrics.json or leaderboard.csv there; give a run folder "
                           "(results/<exp>/<run>), its metrics.json or a leaderboard.csv")
    if target.suffix == ".json":
        stored = _read_json(target)
        if not isinstance(stored, dict) or "conditions" not in stored or "primary" not in stored:
            raise HarnessError(f"{target}: not a harness metrics.json (needs 'conditions' and 'primary')")
        aggregates, primary = stored["conditions"], dict(stored["primary"])
        samples = load_samples(folder) if RunFolder(folder).samples_dir.is_dir() else {}
    elif target.suffix in (".csv", ".parquet"):
        aggregates, primary = _from_board(target)
        samples = {}
    else:
        raise HarnessError(f"{target}: expected a run folder, metrics.json, leaderboard.csv or .parquet")
    manifest_file = RunFolder(folder).manifest_file
    manifest = _read_json(manifest_file) if manifest_file.is_file() else None
    return RunData(path, aggregates, primary, samples, manifest)


# ---------------------------------------------------------------- comparability


def _differ(label: str, a: Any, b: Any) -> list[str]:
    return [] if a == b else [f"{label}: {json.dumps(a, sort_keys=True)} vs {json.dumps(b, sort_keys=True)}"]


def incomparabilities(baseline: RunData, candidate: RunData) -> list[str]:
    """Reasons the two runs did not measure the same thing ([] when comparable)."""
    reasons = _differ("primary metrics", {t: baseline.primary[t] for t in baseline.primary if t in candidate.primary},
                      {t: candidate.primary[t] for t in baseline.primary if t in candidate.primary})
    a, b = baseline.manifest, candidate.manifest
    if a is None or b is None:
        return reasons
    ha, hb = a.get("hashes", {}), b.get("hashes", {})
    reasons += _differ("suite content hash", ha.get("suite"), hb.get("suite"))
    ta, tb = ha.get("task_data_sha256") or {}, hb.get("task_data_sha256") or {}
    for name in sorted(set(ta) & set(tb)):
        reasons += _differ(f"task data hash of {name}", ta[name], tb[name])
    sa, sb = a.get("spec", {}), b.get("spec", {})
    ea = {k: v for k, v in (sa.get("eval") or {}).items() if k not in EVAL_KEYS_IGNORED}
    eb = {k: v for k, v in (sb.get("eval") or {}).items() if k not in EVAL_KEYS_IGNORED}
    for key in sorted(set(ea) | set(eb)):
        reasons += _differ(f"eval.{key}", ea.get(key), eb.get(key))
    reasons += _differ("suite selection", sa.get("suite"), sb.get("suite"))
    return reasons


# ---------------------------------------------------------------- the table


def _aggregate(run: RunData, condition: str, task: str, metric: str) -> tuple[float, float]:
    got = run.aggregates.get(condition, {}).get(task, {})
    return float(got.get(metric, math.nan)), float(got.get(f"{metric}_stderr", math.nan))


def _cell_delta(baseline: RunData, candidate: RunData, condition: str, task: str, metric: str,
                seed: int) -> tuple[float, float, stats.Delta, tuple[np.ndarray, np.ndarray] | None]:
    """(baseline value, candidate value, delta, aligned pair arrays when paired)."""
    a = metric_scores(baseline.samples, condition, task, metric)
    b = metric_scores(candidate.samples, condition, task, metric)
    cell_seed = stats.stable_seed(condition, task, "compare", base=seed)
    if a is not None and b is not None:
        va, vb = float(np.nanmean(list(a.values()))), float(np.nanmean(list(b.values())))
        if set(a) == set(b):
            _, xa, xb = stats.align(a, b)
            return va, vb, stats.paired_delta(xa, xb, seed=cell_seed), (xa, xb)
        return va, vb, stats.unpaired_delta(list(a.values()), list(b.values()), seed=cell_seed), None
    (va, sa), (vb, sb) = _aggregate(baseline, condition, task, metric), _aggregate(candidate, condition, task, metric)
    return va, vb, stats.normal_delta(va, sa, vb, sb), None


def _status(delta: stats.Delta, tolerance: float) -> str:
    if math.isnan(delta.estimate):
        return "missing"
    if delta.significant and delta.estimate < -tolerance:
        return "REGRESSION"
    if delta.significant and delta.estimate > tolerance:
        return "improved"
    return "ok"


def _row(condition: str, task: str, metric: str, va: float, vb: float, delta: stats.Delta,
         tolerance: float) -> dict[str, Any]:
    return {"condition": condition, "task": task, "metric": metric, "baseline": va, "candidate": vb,
            "delta": delta.estimate, "ci_low": delta.low, "ci_high": delta.high, "p": delta.p_value,
            "n": delta.n, "test": delta.test, "paired": delta.paired, "status": _status(delta, tolerance)}


def compare(baseline: RunData, candidate: RunData, *, tolerance: float = DEFAULT_TOLERANCE,
            seed: int = 0) -> pd.DataFrame:
    """One row per shared condition × task (primary metric), plus each condition's mean over
    tasks; ``status`` is REGRESSION for a significant drop larger than ``tolerance``."""
    primary = ordered({t: m for t, m in candidate.primary.items() if t in baseline.primary})
    conditions = [c for c in candidate.aggregates if c in baseline.aggregates]
    conditions += [c for c in candidate.samples if c in baseline.samples and c not in conditions]
    rows = []
    for condition in conditions:
        pairs, parts = [], []
        for task, metric in primary.items():
            va, vb, delta, paired = _cell_delta(baseline, candidate, condition, task, metric, seed)
            rows.append(_row(condition, task, metric, va, vb, delta, tolerance))
            parts.append((va, vb, _aggregate(baseline, condition, task, metric)[1],
                          _aggregate(candidate, condition, task, metric)[1]))
            if paired is not None:
                pairs.append(paired)
        if len(primary) < 2:
            continue
        va = float(np.mean([p[0] for p in parts]))
        vb = float(np.mean([p[1] for p in parts]))
        if len(pairs) == len(primary):
            delta = stats.paired_delta_groups([p[0] for p in pairs], [p[1] for p in pairs],
                                              seed=stats.stable_seed(condition, "mean", "compare", base=seed))
        else:
            k = len(parts)
            se_a = math.sqrt(sum((0.0 if math.isnan(p[2]) else p[2]) ** 2 for p in parts)) / k
            se_b = math.sqrt(sum((0.0 if math.isnan(p[3]) else p[3]) ** 2 for p in parts)) / k
            delta = stats.normal_delta(va, se_a, vb, se_b)
        rows.append(_row(condition, "mean", "", va, vb, delta, tolerance))
    return pd.DataFrame(rows)


def to_markdown(table: pd.DataFrame) -> str:
    """The comparison for people: values, Δ in points with its CI and p, and a status."""
    if table.empty:
        return "(no condition × task in common)"

    def fmt(x: float, spec: str) -> str:
        return "" if math.isnan(x) else format(x, spec)

    shown = pd.DataFrame({
        "condition": table["condition"],
        "task": [t if not m else f"{t}/{m}" for t, m in zip(table["task"], table["metric"])],
        "baseline": [fmt(v, ".3f") for v in table["baseline"]],
        "candidate": [fmt(v, ".3f") for v in table["candidate"]],
        "Δ (pp)": [fmt(100 * v, "+.1f") for v in table["delta"]],
        "95% CI (pp)": ["" if math.isnan(lo) else f"[{100 * lo:+.1f}, {100 * hi:+.1f}]"
                        for lo, hi in zip(table["ci_low"], table["ci_high"])],
        "p": ["" if math.isnan(p) else ("<0.001" if p < 0.001 else f"{p:.3f}") for p in table["p"]],
        "test": [f"{t} ({'paired' if pr else 'unpaired'})" for t, pr in zip(table["test"], table["paired"])],
        "status": table["status"],
    })
    return shown.to_markdown(index=False)


# ---------------------------------------------------------------- CLI


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m harness compare", description=DESCRIPTION,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("baseline", type=Path, help="baseline run folder, metrics.json or leaderboard.csv/.parquet")
    p.add_argument("candidate", type=Path, help="candidate run folder (or metrics.json / leaderboard.csv)")
    p.add_argument("--tolerance", type=float, default=DEFAULT_TOLERANCE,
                   help="largest drop (metric units, 0.02 = 2 points) that never fails the gate")
    p.add_argument("--force", action="store_true", help="compare even when the manifests say the runs differ")
    p.add_argument("--csv", type=Path, default=None, help="also write the comparison table here")
    p.add_argument("--seed", type=int, default=0, help="seed of the bootstrap and permutation tests")
    return p


def main(argv: list[str], out: Any = None, err: Any = None) -> int:
    """Run the gate; returns the exit status (0 pass, 1 regression, 2 refused)."""
    out, err = out or sys.stdout, err or sys.stderr
    args = parser().parse_args(argv)
    baseline, candidate = load(args.baseline), load(args.candidate)
    reasons = incomparabilities(baseline, candidate)
    if reasons and not args.force:
        print("error: the runs are not comparable (use --force to compare anyway):", file=err)
        for reason in reasons:
            print(f"  - {reason}", file=err)
        return 2
    for reason in reasons:
        print(f"warning: compared despite: {reason}", file=err)
    if baseline.manifest is None or candidate.manifest is None:
        print("warning: a side has no manifest.json; comparability was not checked", file=err)
    table = compare(baseline, candidate, tolerance=args.tolerance, seed=args.seed)
    if table.empty:
        print("error: the runs share no condition × task to compare", file=err)
        return 2
    print(to_markdown(table), file=out)
    if args.csv:
        table.to_csv(args.csv, index=False, float_format="%.6g")
    failed = table[table["status"] == "REGRESSION"]
    if len(failed):
        names = ", ".join(f"{c}/{t}" for c, t in zip(failed["condition"], failed["task"]))
        print(f"FAIL: significant drop larger than {args.tolerance:g} in {names}", file=out)
        return 1
    print(f"PASS: no significant drop larger than {args.tolerance:g}", file=out)
    return 0


def gate(baseline: Path, candidate: Path, *, tolerance: float = DEFAULT_TOLERANCE,
         force: bool = False) -> int:
    """Programmatic form of the CLI (for tests and CI scripts): the exit status."""
    argv = [str(baseline), str(candidate), "--tolerance", str(tolerance)] + (["--force"] if force else [])
    return main(argv)


__all__ = ["RunData", "compare", "gate", "incomparabilities", "load", "main", "to_markdown"]
