"""One leaderboard across suites: rows = conditions, columns = every suite's tasks.

``merge`` stacks runs of one suite as rows (a sweep); this joins runs of *different* suites as
columns, one run per suite, made with the same model, conditions and eval settings
(``run +exp=all``). A condition's row then holds every suite's task metrics with their CIs, each
suite's mean over its tasks, the overall mean over every task, and the deltas against the
reference condition, all paired per question. Rows are the suites' condition names when every
suite ran the same grid, else roles ("ft+rag": each suite's own retriever, as its experiment
chose it); bootstrap seeds derive from the data, so each number here equals the one in that
suite's own leaderboard.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pandas as pd

from harness import cache
from harness.errors import HarnessError
from harness.records import RunFolder, Samples, record_files
from harness.report import compare, leaderboard, merge, paired
from harness.report.side_suites import present_columns, side_suites
from harness.report.tables import (
    SIG_NOTE,
    delta_cell,
    display_tables,
    retrieval_markdown,
    to_html,
    value_cell,
)
from harness.spec import measured_model

SUITE_MEAN = "suite_mean:"  # no "/" in the name: compare reads <task>/<metric> columns as primary
FORGETTING = "forgetting:"
DELTA_SUFFIXES = ("", "_ci_low", "_ci_high", "_p")


@dataclass
class Combined:
    """The joined numeric frame and what it is made of."""

    frame: pd.DataFrame  # leaderboard.build over every task + suite_mean:* and forgetting:* columns
    primary: dict[str, str]  # every suite's task -> primary metric
    suites: dict[str, list[str]]  # suite -> its tasks, in the order the suites ran
    reference: str
    runs: dict[str, merge.MergedRun]
    differing: list[str]  # spec keys whose values differ between the suite runs


def _same_model_and_eval(runs: dict[str, merge.MergedRun]) -> None:
    """A row joins one model's answers across suites: refuse runs of other models, conditions
    or eval settings (the suite, its retriever settings and fine-tuning data may differ)."""
    first_name, first = next(iter(runs.items()))

    def settings(run: merge.MergedRun) -> dict[str, Any]:
        spec = run.spec
        hashes = (run.data.manifest or {}).get("hashes") or {}
        return {"model": measured_model(spec.get("model")), "base model weights": hashes.get("base_model_sha256"),
                "eval": {k: v for k, v in (spec.get("eval") or {}).items() if k not in compare.EVAL_KEYS_IGNORED},
                "conditions": [_role(c) for c in spec.get("conditions") or []]}

    want = settings(first)
    for name, run in list(runs.items())[1:]:
        got = settings(run)
        for key in want:
            if got[key] != want[key]:
                raise HarnessError(
                    f"suites '{first_name}' ({first.path}) and '{name}' ({run.path}) differ in {key}: "
                    f"{json.dumps(want[key], sort_keys=True)} vs {json.dumps(got[key], sort_keys=True)}; "
                    "a cross-suite row must be one model under one protocol: rerun them with the same overrides")


RAG_ROW = "rag"  # the row name's retriever part when the suites ran different retrievers


def _role(condition: dict[str, Any]) -> str:
    """A condition as adaptation × closed/RAG, whatever retriever it used: "base", "ft+rag"."""
    adaptation = str(condition.get("adaptation") or condition.get("name"))
    return f"{adaptation}+{RAG_ROW}" if condition.get("rag") else adaptation


def _row_names(runs: dict[str, merge.MergedRun]) -> dict[str, dict[str, str]]:
    """suite -> {its condition name -> row name}. The names themselves when every suite ran the
    same grid; else (each suite's experiment chose its retriever: finance's BM25 beside the
    others' dense) rows by role, "ft+rag" holding each suite's own retriever's scores."""
    grids = {s: [c for c in run.spec.get("conditions") or [] if c.get("name")] for s, run in runs.items()}
    if len({tuple(c["name"] for c in grid) for grid in grids.values()}) <= 1:
        return {s: {c["name"]: c["name"] for c in grid} for s, grid in grids.items()}
    return {s: {c["name"]: _role(c) for c in grid} for s, grid in grids.items()}


def _renamed(run: merge.MergedRun, names: dict[str, str]) -> merge.MergedRun:
    data = replace(run.data, aggregates={names.get(c, c): t for c, t in run.data.aggregates.items()},
                   samples={names.get(c, c): t for c, t in run.data.samples.items()})
    return replace(run, data=data, metrics=dict(run.metrics, reference=names.get(str(run.metrics.get("reference")),
                                                                                   run.metrics.get("reference"))))


def combine(runs: dict[str, merge.MergedRun], *, seed: int = 0) -> Combined:
    """Join one completed run per suite (``{suite name: merge.load_run(folder)}``) by condition
    (by role, adaptation × closed/RAG, when the suites ran different retrievers)."""
    if not runs:
        raise HarnessError("no suite runs to combine")
    _same_model_and_eval(runs)
    names = _row_names(runs)
    runs = {suite: _renamed(run, names[suite]) for suite, run in runs.items()}
    primary: dict[str, str] = {}
    owner: dict[str, str] = {}
    aggregates: dict[str, dict[str, Any]] = {}
    samples: Samples = {}
    for suite, run in runs.items():
        for task in run.data.primary:
            if task in owner:
                raise HarnessError(f"suites '{owner[task]}' and '{suite}' both have a task named '{task}'; "
                                   "a combined leaderboard needs distinct task names")
            owner[task] = suite
        primary.update(run.data.primary)
        for condition, tasks in run.data.aggregates.items():
            aggregates.setdefault(condition, {}).update(tasks)
        for condition, tasks in run.data.samples.items():
            samples.setdefault(condition, {}).update(tasks)
    first = next(iter(runs.values()))
    reference = str(first.metrics.get("reference") or "")
    frame = leaderboard.build(aggregates, primary, reference, samples, seed=seed)
    for suite, run in runs.items():
        own = leaderboard.build(run.data.aggregates, run.data.primary, reference, run.data.samples, seed=seed,
                                **leaderboard.variant_args(run.metrics, run.path))
        side_columns = [c for side in side_suites(run.metrics, run.path) for c in present_columns(own, side)]
        _put_suite_columns(frame, suite, own, side_columns, reference)
    suites = {suite: sorted(run.data.primary) for suite, run in runs.items()}
    differing = merge.differing_keys([run.spec for run in runs.values()])
    return Combined(frame, paired.ordered(primary), suites, reference, runs, differing)


def _put_suite_columns(frame: pd.DataFrame, suite: str, own: pd.DataFrame, side_columns: list[str],
                       reference: str) -> None:
    """The suite's mean (its own leaderboard's ``mean`` with CI and Δ) and its forgetting
    columns (``side_columns``: its side suites' ``<task>/<metric>`` columns in ``own``)."""
    columns = {f"{SUITE_MEAN}{suite}{s}": f"mean{s}" for s in ("", "_ci_low", "_ci_high")}
    if f"delta_vs_{reference}" in own:
        columns |= {f"{SUITE_MEAN}{suite}_delta{s}": f"delta_vs_{reference}{s}" for s in DELTA_SUFFIXES}
    for col in side_columns:
        task, _, metric = col.partition("/")
        name = f"{FORGETTING}{suite}:{task}:{metric}"
        for suffix in ("", "_ci_low", "_ci_high") + tuple(f"_delta{s}" for s in DELTA_SUFFIXES):
            if f"{col}{suffix}" in own:
                columns[f"{name}{suffix}"] = f"{col}{suffix}"
    for target, source in columns.items():
        frame[target] = own[source].reindex(frame.index)


# ---------------------------------------------------------------- rendering


def _as_display(frame: pd.DataFrame, names: dict[str, str], reference: str) -> pd.DataFrame:
    """A frame whose ``<name>/<metric>`` columns are the given prefixed columns, so the run
    leaderboard's own cell formatting (value [CI], Δ pp [CI] p) renders them."""
    shown = pd.DataFrame(index=frame.index)
    for label, source in names.items():
        for suffix in ("", "_ci_low", "_ci_high"):
            shown[f"{label}{suffix}"] = frame[f"{source}{suffix}"]
        if f"{source}_delta" in frame:
            for suffix in DELTA_SUFFIXES:
                shown[f"{label}_delta{suffix}"] = frame[f"{source}_delta{suffix}"]
    for col in [c for c in frame.columns if c == "mean" or c.startswith(("mean_", f"delta_vs_{reference}"))]:
        shown[col] = frame[col]
    return shown


def suite_means_tables(combined: Combined) -> list[tuple[str, pd.DataFrame]]:
    """(title, table): each suite's mean with its CI, the overall mean and Δ; then Δ per suite."""
    shown = _as_display(combined.frame, {f"{s}/mean": f"{SUITE_MEAN}{s}" for s in combined.suites},
                        combined.reference)
    tables = display_tables(shown, {s: "mean" for s in combined.suites}, combined.reference)
    titles = ["Suite means (each suite's mean over its tasks; mean = over every task)",
              f"Δ per suite vs {combined.reference} (pp, paired CI at its Holm level, p)"]
    return [(title, table) for title, (_, table) in zip(titles, tables)]


def forgetting_table(combined: Combined) -> tuple[str, pd.DataFrame] | None:
    """Each suite's closed-book conditions on the forgetting suite, when the runs had one."""
    names = {}
    for col in combined.frame.columns:
        if col.startswith(FORGETTING) and col.count(":") == 3 and not col.endswith(("_ci_low", "_ci_high")) \
                and "_delta" not in col:
            _, suite, task, metric = col.split(":")
            names[f"{suite} · {task}/{metric}"] = col
    if not names:
        return None
    shown = _as_display(combined.frame, names, combined.reference)
    rows = [c for c in shown.index if shown[list(names)].loc[c].notna().any()]
    table = pd.DataFrame(index=pd.Index(rows, name="condition"))
    for label in names:
        table[label] = [value_cell(shown, c, label) for c in rows]
    for label in names:
        if f"{label}_delta" in shown:
            table[f"Δ {label}"] = [delta_cell(shown, c, f"{label}_delta", combined.reference)
                                   for c in rows]
    return ("Forgetting: each suite run's closed-book models on the forgetting suite (Δ pp, paired CI at its Holm level, p)",
            table)


def retrieval_table(combined: Combined) -> str:
    """Retrieval quality per RAG task variant of every suite (``@k`` = that suite's top_k)."""
    rows: dict[str, dict[str, float]] = {}
    for run in combined.runs.values():
        top_k = (run.spec.get("retriever") or {}).get("top_k")
        for variant, values in (run.metrics.get("retrieval_metrics") or {}).items():
            row = {(k.split("@")[0] + "@k" if "@" in k else k): v for k, v in values.items()}
            rows[variant] = row | ({"k": float(top_k)} if top_k is not None else {})
    return retrieval_markdown(rows).replace("(gold documents", "(each suite's own top_k; gold documents")


def runs_table(combined: Combined, base: Path | None = None) -> pd.DataFrame:
    """Which run folder each suite's columns came from, and its settings that differ between suites."""
    rows = {}
    for suite, run in combined.runs.items():
        flat = merge.flatten(run.spec)
        path = Path(run.path)
        shown = path.relative_to(base) if base is not None and path.is_relative_to(base) else path
        rows[suite] = {"run folder": str(shown), "spec hash": cache.short((run.data.manifest or {}).get("spec_hash", "")),
                       "tasks": ", ".join(combined.suites[suite]),
                       **{k: json.loads(flat[k]) if k in flat else "" for k in combined.differing
                          if not k.startswith(("suite.", "exp_name"))}}
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.index.name = "suite"
    return table


def tables(combined: Combined) -> list[tuple[str, pd.DataFrame]]:
    """Every table of the combined leaderboard, the suite means first."""
    out = suite_means_tables(combined)
    every = display_tables(combined.frame, combined.primary, combined.reference)
    out.append(("Every task (primary metric, 95% CI)", every[0][1]))
    out += every[1:]
    forgetting = forgetting_table(combined)
    if forgetting is not None:
        out.append(forgetting)
    return out


def decisions_line(combined: Combined) -> str:
    """One line per suite from each suite run's decision.json, and one across suites."""
    rows, picks = [], []
    for suite, run in combined.runs.items():
        path = run.path / "decision.json"
        if not path.is_file():
            continue
        made = json.loads(path.read_text())
        picks.append(made["recommended"] if made.get("clear") else "no clear winner")
        rows.append(f"| {suite} | {picks[-1]} | {100 * made.get('stability', 0):.0f}% | {made.get('reason') or ''} |")
    if not rows:
        return ""
    clear = {p for p in picks if p != "no clear winner"}
    if len(clear) == 1:
        only = next(iter(clear))
        across = f"{only} in every suite with a clear answer ({picks.count(only)} of {len(picks)})"
    else:
        across = f"it depends on the domain: {', '.join(sorted(clear)) or 'no suite has a clear answer'}"
    return "\n".join([f"**Decision per suite** (each suite run's decision.json; across suites: {across})", "",
                      "| suite | recommended | stability | why not clear |", "|:--|:--|--:|:--|", *rows])


def to_markdown(combined: Combined, base: Path | None = None) -> str:
    parts = [f"**{title}**\n\n{table.to_markdown()}" for title, table in tables(combined)]
    line = decisions_line(combined)
    parts = ([line] if line else []) + parts
    retrieval = retrieval_table(combined)
    if retrieval:
        parts.append(retrieval.strip())
    parts.append(f"**Runs**\n\n{runs_table(combined, base).to_markdown()}")
    parts.append(f"_{SIG_NOTE}_")
    return "\n\n".join(parts)


def to_frame(combined: Combined) -> pd.DataFrame:
    """The csv: every task's columns as in a run leaderboard, then the suite and forgetting columns."""
    out = combined.frame.copy()
    out.index.name = "condition"
    return out


def metrics_json(combined: Combined) -> dict[str, Any]:
    """metrics.json in the run folder format (``compare`` can gate two combined runs), plus the
    suites and their run folders."""
    conditions: dict[str, dict[str, Any]] = {}
    for run in combined.runs.values():
        for condition, tasks in run.data.aggregates.items():
            conditions.setdefault(condition, {}).update(tasks)
    return {"conditions": conditions, "primary": combined.primary, "reference": combined.reference,
            "suites": {suite: {"run": str(run.path), "tasks": combined.suites[suite]}
                       for suite, run in combined.runs.items()}}


def manifest_json(combined: Combined) -> dict[str, Any]:
    """manifest.json of the combined folder: what ``compare`` checks before gating two of them
    (every suite's content and task-data hashes, the shared eval settings, the suites), and the
    suite runs' own spec hashes."""
    runs = list(combined.runs.items())
    task_data: dict[str, Any] = {}
    for _, run in runs:
        task_data.update(((run.data.manifest or {}).get("hashes") or {}).get("task_data_sha256") or {})
    first = runs[0][1].spec
    return {"combined": True,
            "hashes": {"suite": {s: ((r.data.manifest or {}).get("hashes") or {}).get("suite") for s, r in runs},
                       "task_data_sha256": task_data},
            "spec": {"eval": first.get("eval") or {}, "suite": [s for s, _ in runs]},
            "runs": {s: {"path": str(r.path), "spec_hash": (r.data.manifest or {}).get("spec_hash")} for s, r in runs}}


def write(combined: Combined, folder: Path, base: Path | None = None) -> str:
    """leaderboard.{md,csv,parquet,html}, metrics.json, manifest.json and samples/ (copies of every suite run's
    per-sample records) into ``folder``; returns the markdown."""
    markdown = to_markdown(combined, base)
    (folder / "leaderboard.md").write_text(markdown + "\n", encoding="utf-8")
    frame = to_frame(combined)
    frame.to_csv(folder / "leaderboard.csv", float_format="%.6g")
    frame.to_parquet(folder / "leaderboard.parquet")
    (folder / "leaderboard.html").write_text(to_html(tables(combined)), encoding="utf-8")
    RunFolder(folder).write_metrics(metrics_json(combined))
    RunFolder(folder).write_manifest(manifest_json(combined))
    for run in combined.runs.values():
        for path in record_files(run.path):
            target = RunFolder(folder).samples_file(path.parent.name, path.stem)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(path.read_bytes())
    return markdown


__all__ = ["Combined", "combine", "decisions_line", "manifest_json", "metrics_json", "tables", "to_frame", "to_markdown", "write"]
