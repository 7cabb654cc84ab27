"""`python -m harness merge <run> <run> ... [--out DIR]`: one leaderboard across runs.

A Hydra sweep (``run -m +exp=agri retriever=bm25,dense``) writes one run folder per job; this
puts their conditions side by side. Each row is one run's condition, labelled with what differs
between the runs' specs (``retriever=bm25 · base+bm25``); the columns are each task's primary
metric with its 95% CI (from the per-sample records, as in a run's own leaderboard), their mean,
deltas against a reference row (paired per question), and the retrieval metrics of that row's
retriever (recall/MRR/nDCG@k, answer-in-context) next to the answer metrics.

Runs over different suites, task data or eval settings measured different things and are
refused (exit 2) unless ``--force``: the same checks as ``compare``, except that the
retrieval-augmented task data may differ (it is what a retriever sweep varies).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pandas as pd

from harness import cache
from harness.errors import HarnessError
from harness.records import RunFolder, Samples
from harness.report import compare, leaderboard, paired
from harness.report.runs import find_runs
from harness.report.tables import SIG_NOTE, display_tables
from harness.spec import measured_model

# spec keys that never make two runs' conditions differ in what they measure
IGNORED_SPEC_KEYS = ("results_dir", "history_db", "conditions", "reference")
# a group whose ``kind``/``name`` differs is labelled by it alone (its other keys follow from it)
CHOICE_KEYS = ("kind", "name")
RETRIEVAL_METRICS = (("recall", "recall"), ("mrr", "MRR"), ("ndcg", "nDCG"), ("answer_in_context", "ans∈ctx"))
SEP = " · "
DESCRIPTION = ("Merge run folders (e.g. a Hydra sweep's) into one leaderboard: rows = each run's conditions\n"
               "labelled by what differs between the runs' specs, columns = task metrics with CIs and the\n"
               "retrieval metrics per retriever. Exit 2 when the runs measured different suites, task\n"
               "data or eval settings (see --force).")


@dataclass
class MergedRun:
    """One run folder as the merge sees it."""

    path: Path
    data: compare.RunData
    metrics: dict[str, Any]  # the run's metrics.json
    spec: dict[str, Any]  # manifest["spec"] ({} without a manifest)
    label: str = ""

    @property
    def name(self) -> str:
        return self.path.name

    def retriever_of(self, condition: str) -> str | None:
        """The retriever kind a condition used (None: closed book)."""
        for cond in self.spec.get("conditions") or []:
            if cond.get("name") == condition:
                return None if not cond.get("rag") else str(cond.get("retriever") or "")
        return condition.rpartition("+")[2] if "+" in condition else None


# ---------------------------------------------------------------- loading runs


def load_run(path: Path) -> MergedRun:
    data = compare.load(path)
    run = RunFolder(path)
    try:
        metrics = run.read_metrics()
    except (OSError, ValueError) as err:
        raise HarnessError(f"{run.metrics_file}: unreadable ({err})") from err
    spec = (data.manifest or {}).get("spec") or {}
    return MergedRun(path, data, metrics, spec)


# ---------------------------------------------------------------- what differs between runs


def flatten(spec: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Dotted keys → JSON-encoded leaf values (lists stay whole: they are one setting)."""
    out: dict[str, Any] = {}
    for key, value in spec.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out.update(flatten(value, f"{name}."))
        else:
            out[name] = json.dumps(value, sort_keys=True)
    return out


def differing_keys(specs: list[dict[str, Any]]) -> list[str]:
    """Spec keys whose values are not the same in every run, minus the consequences of a
    differing choice: when ``retriever.kind`` differs, ``retriever.embedder`` (present for
    dense only) is not news."""
    flat = [flatten({k: measured_model(v) if k == "model" else v for k, v in s.items() if k not in IGNORED_SPEC_KEYS})
            for s in specs]
    keys = sorted(set().union(*flat))
    differ = [k for k in keys if len({f.get(k, "<unset>") for f in flat}) > 1]
    choices = {k.rpartition(".")[0] for k in differ if k.rpartition(".")[2] in CHOICE_KEYS and "." in k}
    return [k for k in differ if k.rpartition(".")[0] not in choices or k.rpartition(".")[2] in CHOICE_KEYS]


def _label_part(key: str, value: str) -> str:
    group, _, leaf = key.rpartition(".")
    shown = json.loads(value) if value != "<unset>" else "unset"
    if isinstance(shown, (dict, list)):
        shown = json.dumps(shown, separators=(",", ":"))
    elif shown is None:
        shown = "null"
    return f"{group}={shown}" if group and leaf in CHOICE_KEYS else f"{key}={shown}"


def label_runs(runs: list[MergedRun]) -> list[str]:
    """Sets each run's ``label`` (what distinguishes it); returns the differing keys.

    Runs with identical specs (a rerun) are told apart by their folder names."""
    keys = differing_keys([r.spec for r in runs])
    for run in runs:
        flat = flatten(run.spec)
        run.label = " ".join(_label_part(k, flat.get(k, "<unset>")) for k in keys)
    counts: dict[str, int] = {}
    for run in runs:
        counts[run.label] = counts.get(run.label, 0) + 1
    for run in runs:
        if counts[run.label] > 1:
            run.label = f"{run.label} run={run.name}".strip()
    return keys


def row_name(run: MergedRun, condition: str) -> str:
    return f"{run.label}{SEP}{condition}" if run.label else condition


# ---------------------------------------------------------------- comparability


def _closed_book_only(run: compare.RunData) -> compare.RunData:
    """The run with its retrieval-augmented task data hashes dropped: a sweep over retrievers
    or top_k changes them by design, while the closed-book data pins the questions."""
    if run.manifest is None:
        return run
    manifest = json.loads(json.dumps(run.manifest))
    hashes = manifest.get("hashes") or {}
    task_data = hashes.get("task_data_sha256") or {}
    hashes["task_data_sha256"] = {k: v for k, v in task_data.items() if k.endswith("__closed")}
    return replace(run, manifest=manifest)


def incomparabilities(runs: list[MergedRun]) -> list[str]:
    """Reasons (per run, against the first) why the runs did not measure the same thing."""
    first = _closed_book_only(runs[0].data)
    reasons = []
    for run in runs[1:]:
        for reason in compare.incomparabilities(first, _closed_book_only(run.data)):
            reasons.append(f"{runs[0].name} vs {run.name}: {reason}")
        if set(run.data.primary) != set(first.primary):
            reasons.append(f"{runs[0].name} vs {run.name}: tasks {sorted(first.primary)} vs {sorted(run.data.primary)}")
    return reasons


# ---------------------------------------------------------------- the merged table


@dataclass
class Merged:
    frame: pd.DataFrame  # leaderboard.build's numeric frame, one row per run × condition
    primary: dict[str, str]
    reference: str
    retrieval: pd.DataFrame  # per row: top_k and retrieval:<task>:<metric>@k
    rows: pd.DataFrame  # per row: run folder, spec hash, condition, differing spec values
    keys: list[str]  # the differing spec keys


def _retrieval_row(run: MergedRun, condition: str, tasks: list[str]) -> dict[str, float]:
    kind = run.retriever_of(condition)
    stored = run.metrics.get("retrieval_metrics") or {}
    if not kind:
        return {}
    row: dict[str, float] = {}
    top_k = (run.spec.get("retriever") or {}).get("top_k")
    if top_k is not None:
        row["retrieval:top_k"] = float(top_k)
    for task in tasks:
        values = stored.get(f"{task}__{kind}") or {}
        for metric, _ in RETRIEVAL_METRICS:
            found = [v for k, v in values.items() if k == metric or k.startswith(f"{metric}@")]
            if found:
                row[f"retrieval:{task}:{metric}" + ("" if metric == "answer_in_context" else "@k")] = float(found[0])
    return row


def merge_runs(runs: list[MergedRun], *, reference: str | None = None, seed: int = 0) -> Merged:
    """The merged numeric frame (``leaderboard.build`` over run × condition rows)."""
    keys = label_runs(runs)
    primary = paired.ordered(dict(runs[0].data.primary))
    aggregates: dict[str, Any] = {}
    samples: Samples = {}
    retrieval: dict[str, dict[str, float]] = {}
    info: dict[str, dict[str, Any]] = {}
    for run in runs:
        conditions = list(run.data.aggregates) + [c for c in run.data.samples if c not in run.data.aggregates]
        flat = flatten(run.spec)
        for condition in conditions:
            name = row_name(run, condition)
            aggregates[name] = run.data.aggregates.get(condition, {})
            if condition in run.data.samples:
                samples[name] = run.data.samples[condition]
            retrieval[name] = _retrieval_row(run, condition, list(primary))
            info[name] = {"run": str(run.path), "spec_hash": (run.data.manifest or {}).get("spec_hash", ""),
                          "run_condition": condition,
                          **{f"spec:{k}": json.loads(flat[k]) if k in flat else None for k in keys}}
    if reference is None:
        ref = runs[0].metrics.get("reference")
        reference = row_name(runs[0], ref) if ref and row_name(runs[0], ref) in aggregates else ""
    elif reference not in aggregates:
        raise HarnessError(f"--reference {reference!r} is not a merged row; rows: {', '.join(aggregates)}")
    frame = leaderboard.build(aggregates, primary, reference, samples, seed=seed)
    _own_intervals(frame, runs, primary, seed)
    table = pd.DataFrame.from_dict(retrieval, orient="index").reindex(frame.index)
    order = ["retrieval:top_k"] + [f"retrieval:{t}:{m}" + ("" if m == "answer_in_context" else "@k")
                                   for t in primary for m, _ in RETRIEVAL_METRICS]
    table = table[[c for c in order if c in table.columns]]
    rows = pd.DataFrame.from_dict(info, orient="index").reindex(frame.index)
    return Merged(frame, primary, reference, table, rows, keys)


def _own_intervals(frame: pd.DataFrame, runs: list[MergedRun], primary: dict[str, str], seed: int) -> None:
    """Values and CIs exactly as in each run's own leaderboard: bootstrap seeds derive from
    condition names, so the merged row names alone would draw other (equally valid) CIs."""
    for run in runs:
        own = leaderboard.build(run.data.aggregates, primary, "", run.data.samples, seed=seed)
        own.index = [row_name(run, c) for c in own.index]
        cols = [c for c in own.columns if c in frame.columns and "delta" not in c]
        frame.loc[own.index, cols] = own[cols]


def _fmt(value: Any) -> str:
    return "" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.3f}"


def to_markdown(merged: Merged) -> str:
    """The main table (task metrics with CIs, mean, Δ, retrieval metrics beside them), the Δ per
    task table when a reference is set, and which run each row came from."""
    tables = display_tables(merged.frame, merged.primary, merged.reference)
    main = tables[0][1].copy()
    main.index.name = "run · condition"
    rows = merged.frame.index  # the main table may end with a "chance" row the retrieval columns leave blank

    def put(name: str, cells: list[str]) -> None:
        main[name] = pd.Series(cells, index=rows).reindex(main.index).fillna("")

    if "retrieval:top_k" in merged.retrieval:
        put("k", ["" if math.isnan(v) else f"{int(v)}" for v in merged.retrieval["retrieval:top_k"]])
    for task in merged.primary:
        for metric, shown in RETRIEVAL_METRICS:
            col = f"retrieval:{task}:{metric}" + ("" if metric == "answer_in_context" else "@k")
            if col in merged.retrieval:
                put(f"{task} {shown}" + ("" if metric == "answer_in_context" else "@k"),
                    [_fmt(v) for v in merged.retrieval[col]])
    parts = [main.to_markdown(disable_numparse=True)]
    parts += [f"**{title}**\n\n{table.to_markdown()}" for title, table in tables[1:]]
    runs = merged.rows[["run", "spec_hash"]].copy()
    runs["spec_hash"] = [cache.short(h) if h else "" for h in runs["spec_hash"]]
    runs = runs.drop_duplicates()
    runs.index = [i.rpartition(SEP)[0] or i for i in runs.index]
    runs.index.name = "run label"
    differ = ", ".join(merged.keys) if merged.keys else "nothing (same spec)"
    parts.append(f"**Runs** (labels = what differs between their specs: {differ})\n\n{runs.to_markdown()}")
    parts.append(f"_{SIG_NOTE}; retrieval metrics @k = the run's retriever top_k, "
                 "ans∈ctx = the gold answer reached the prompt_")
    return "\n\n".join(parts)


def to_frame(merged: Merged) -> pd.DataFrame:
    """The csv: the leaderboard columns, then retrieval and run columns. None of the added names
    holds a ``/``, so ``compare`` still reads ``<task>/<metric>`` as the primary metrics."""
    out = merged.frame.copy()
    for table in (merged.retrieval, merged.rows):
        for col in table.columns:
            out[col] = table[col]
    out.index.name = "condition"
    return out


# ---------------------------------------------------------------- writing


def default_out(runs: list[MergedRun], root: Path = Path("results")) -> Path:
    digest = cache.short(cache.hash_json(sorted(str(r.path) for r in runs)), 8)
    return root / "merged" / f"{time.strftime('%Y%m%d-%H%M%S')}-{digest}"


def write(merged: Merged, runs: list[MergedRun], out: Path, *, forced: list[str] | None = None) -> str:
    """leaderboard.md, leaderboard.csv and merge.json (sources, labels, refusals overridden)
    into ``out``, written under a temporary name and renamed when complete."""
    if out.exists() and any(out.iterdir()) and not (out / "merge.json").is_file():
        raise HarnessError(f"{out} exists and holds something other than a merged leaderboard; choose another --out")
    markdown = to_markdown(merged)
    staging = out.with_name(f".{out.name}.tmp")
    staging.mkdir(parents=True, exist_ok=True)
    (staging / "leaderboard.md").write_text(markdown + "\n", encoding="utf-8")
    to_frame(merged).to_csv(staging / "leaderboard.csv", float_format="%.6g")
    cache.write_json_atomic(staging / "merge.json", {
        "runs": [{"path": str(r.path), "label": r.label} for r in runs],
        "differing_keys": merged.keys, "reference": merged.reference, "primary": merged.primary,
        "forced_despite": forced or [],
    })
    if out.exists():
        for name in ("leaderboard.md", "leaderboard.csv", "merge.json"):
            (staging / name).replace(out / name)
        staging.rmdir()
    else:
        staging.rename(out)
    return markdown


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m harness merge", description=DESCRIPTION,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("runs", type=Path, nargs="+", help="run folders, or folders holding run folders")
    p.add_argument("--out", type=Path, default=None,
                   help="where to write leaderboard.{md,csv} (default: results/merged/<time>-<hash>)")
    p.add_argument("--reference", default=None,
                   help="row the deltas are taken against (default: the first run's reference condition)")
    p.add_argument("--force", action="store_true", help="merge even when the runs measured different things")
    p.add_argument("--seed", type=int, default=0, help="seed of the bootstrap and permutation tests")
    return p


def main(argv: list[str], out: Any = None, err: Any = None) -> int:
    """Merge and write; returns the exit status (0 written, 2 refused)."""
    out, err = out or sys.stdout, err or sys.stderr
    args = parser().parse_args(argv)
    runs = [load_run(p) for p in find_runs(list(args.runs))]
    reasons = incomparabilities(runs)
    if reasons and not args.force:
        print(f"error: the {len(runs)} runs are not comparable (use --force to merge anyway):", file=err)
        for reason in reasons:
            print(f"  - {reason}", file=err)
        return 2
    for reason in reasons:
        print(f"warning: merged despite: {reason}", file=err)
    missing = [r.name for r in runs if r.data.manifest is None]
    if missing:
        print(f"warning: no manifest.json in {', '.join(missing)}; comparability was not checked", file=err)
    merged = merge_runs(runs, reference=args.reference, seed=args.seed)
    target = args.out or default_out(runs)
    markdown = write(merged, runs, target, forced=reasons)
    print(markdown, file=out)
    print(f"\nwrote {target}/leaderboard.md and leaderboard.csv ({len(merged.frame)} rows from {len(runs)} runs)",
          file=out)
    return 0


__all__ = ["incomparabilities", "label_runs", "load_run", "main", "merge_runs", "to_markdown"]
