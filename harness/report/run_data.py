"""What ``compare``, ``merge`` and the all-suites leaderboard read of a run: aggregates, per-sample
scores and the manifest, from a run folder, its metrics.json or a leaderboard.csv/.parquet; and
whether two runs measured the same thing (their manifests agree on suite, task data and eval
settings)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from harness.completion import incomplete_reason, is_temporary
from harness.errors import HarnessError
from harness.records import RunFolder, Samples, load_samples

# eval settings that do not change what is measured (throughput, stderr iterations)
EVAL_KEYS_IGNORED = frozenset({"batch_size", "bootstrap_iters"})


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
    suffixes = ("_stderr", "_ci_low", "_ci_high", "_ci_level", "_n", "_delta", "_p", "_p_holm")
    value_cols = [c for c in frame.columns if "/" in c and not c.endswith(suffixes) and "_delta_" not in c]
    primary = dict(c.split("/", 1) for c in value_cols)
    aggregates: dict[str, dict[str, dict[str, float]]] = {}
    for condition in frame.index:
        for col in value_cols:
            task, metric = col.split("/", 1)
            entry = aggregates.setdefault(str(condition), {}).setdefault(task, {})
            entry[metric] = float(frame.loc[condition, col])
            for column, key in ((f"{col}_stderr", f"{metric}_stderr"), (f"{col}_n", "n")):
                if column in frame:
                    entry[key] = float(frame.loc[condition, column])
    return aggregates, primary


def load(path: Path) -> RunData:
    """A run folder, its metrics.json, or a leaderboard.csv/.parquet (aggregates only); a folder
    that is not a finished run (``.<name>.tmp``, or a file inside one) is a HarnessError."""
    path = Path(path)
    if path.is_dir():
        folder, target = path, RunFolder(path).metrics_file
        if not target.is_file() and (path / "leaderboard.csv").is_file():
            target = path / "leaderboard.csv"
    else:
        folder, target = path.parent, path
    if is_temporary(folder):  # a run still being written, or killed: never a run to compare
        raise HarnessError(f"{folder}: {incomplete_reason(folder)}")
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


__all__ = ["EVAL_KEYS_IGNORED", "RunData", "incomparabilities", "load"]
