"""Where a score comes from: a run's primary metric broken down by what the questions ask,
the stale answers of a suite with superseded facts, and retrieval per question variant.

A suite mean hides what a reader needs before trusting it: a base model can score 1.00 on
every pest question and 0.00 on every irrigation one because one answer format suits it; a
fine-tuned model can learn the superseded guideline, which lowers accuracy no more than any
other wrong answer would; a retriever can find the document a direct question names and miss
it for a paraphrase. The suite generators write these properties into every eval row
(``attribute``; ``template``: which phrasing; ``variant``: retrieval difficulty;
``stale_label``: the superseded answer's choice), the run folder keeps those rows under
``tasks/`` and the answers under ``samples/``, so everything here is recomputed from the
folder, with no model, by the same procedures as the leaderboard (harness.report.paired over
harness.scoring.stats). Rows without a field give no table for it (older run folders).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from harness.jsonl import read_jsonl
from harness.records import TASKS_DIR, Records, Samples, flat_scores, sample_key
from harness.report import paired
from harness.report.tables import Table, delta_cell, value_cell
from harness.retrieval.metrics import context_metrics_by
from harness.scoring import stats

FIELDS = ("attribute", "template", "variant", "stale_label")
STALE = "stale"
Fields = dict[str, dict[str, dict[str, Any]]]  # task -> question id -> the row's FIELDS that it has
Retrieval = Mapping[str, Mapping[str, float]]


def task_fields(run_dir: Path) -> Fields:
    """The breakdown fields of the eval rows under ``tasks/``, by task and question id.

    A task's files (closed book, each retriever) hold the same questions, so the first file
    naming a question gives its fields; ids are paired as the records pair them (``sample_key``:
    the row's id, else its position, which is lm-eval's doc_id)."""
    out: Fields = {}
    folder = Path(run_dir) / TASKS_DIR
    for path in sorted(folder.glob("*__*.jsonl")) if folder.is_dir() else []:
        got = out.setdefault(path.stem.split("__", 1)[0], {})
        for index, row in enumerate(read_jsonl(path)):
            fields = {name: row[name] for name in FIELDS if row.get(name) is not None}
            if fields:
                got.setdefault(sample_key({"id": row.get("id"), "doc_id": index}), fields)
    return {task: rows for task, rows in out.items() if rows}


def _groups(fields: Mapping[str, Mapping[str, Any]], name: str) -> dict[str, list[str]]:
    """Question ids by their value of one field, values and ids in sorted order."""
    out: dict[str, list[str]] = {}
    for key, got in fields.items():
        if name in got:
            out.setdefault(str(got[name]), []).append(key)
    return {value: sorted(ids) for value, ids in sorted(out.items())}


def _subset(samples: Samples, task: str, ids: Sequence[str]) -> Samples:
    """Every condition's records of ``ids`` on one task: a group is scored like a whole task."""
    keep = set(ids)
    return {c: {task: {i: s for i, s in tasks[task].items() if i in keep}} for c, tasks in samples.items()
            if tasks.get(task)}


def _cell(frame: pd.DataFrame, condition: str, col: str) -> str:
    return "" if math.isnan(frame.loc[condition, col]) else value_cell(frame, condition, col)


def _spread(samples: Samples, condition: str, task: str, metric: str, templates: Mapping[str, list[str]]) -> str:
    """`` · phrasings lo–hi``: the lowest and highest score over an attribute's templates, so
    a reader sees when the answer format, not the knowledge, decides the score."""
    scores = [paired.interval(_subset(samples, task, ids), condition, task, metric, {}, 0).estimate
              for ids in templates.values()]
    scores = [s for s in scores if not math.isnan(s)]
    return f" · phrasings {min(scores):.2f}–{max(scores):.2f}" if len(scores) > 1 else ""


def attribute_table(task: str, metric: str, fields: Mapping[str, Mapping[str, Any]], samples: Samples,
                    conditions: Sequence[str], *, seed: int = 0) -> Table | None:
    """Condition × attribute: the primary metric on each attribute's questions with its 95% CI
    (the leaderboard's procedure on the subset), plus the spread over the attribute's
    templates where it has several; None when no row carries an attribute."""
    groups = _groups(fields, "attribute")
    present = [c for c in conditions if samples.get(c, {}).get(task)]
    if not groups or not present:
        return None
    numeric: dict[str, dict[str, float]] = {c: {} for c in present}
    spreads: dict[tuple[str, str], str] = {}
    columns = []
    for attribute, ids in groups.items():
        col = f"{attribute} (n={len(ids)})"
        columns.append(col)
        sub, templates = _subset(samples, task, ids), _groups({i: fields[i] for i in ids}, "template")
        for c in present:
            ci = paired.interval(sub, c, task, metric, {}, stats.stable_seed(c, task, attribute, base=seed))
            numeric[c].update({col: ci.estimate, f"{col}_ci_low": ci.low, f"{col}_ci_high": ci.high})
            spreads[(c, col)] = _spread(samples, c, task, metric, templates) if len(templates) > 1 else ""
    frame = pd.DataFrame.from_dict(numeric, orient="index")
    shown = pd.DataFrame(index=pd.Index(present, name="condition"))
    for col in columns:
        shown[col] = [_cell(frame, c, col) + spreads[(c, col)] for c in present]
    phrasings = "; · phrasings = lowest–highest score over its question templates" if any(spreads.values()) else ""
    return f"Per attribute: {task}/{metric} (95% CI as in the leaderboard{phrasings})", shown


def stale_samples(fields: Fields, records: Records) -> Samples:
    """condition -> task -> question id -> ``stale`` (1 = the superseded choice was picked):
    the stored score where the task scored it, else whether the chosen index (``output``) is
    the row's ``stale_label`` (run folders scored before the metric existed)."""
    out: Samples = {}
    for condition, tasks in records.items():
        for task, rows in tasks.items():
            labels = fields.get(task, {})
            for record in rows:
                key = sample_key(record)
                scores = {k: v for k, v in flat_scores(record).items() if k.split("@")[0] == STALE}
                if STALE not in scores:
                    label, output = labels.get(key, {}).get("stale_label"), record.get("output")
                    if label is None or not isinstance(output, int):
                        continue
                    scores = {STALE: float(output == int(label))}
                out.setdefault(condition, {}).setdefault(task, {})[key] = scores
    return out


def stale_table(stale: Samples, conditions: Sequence[str], reference: str, *, seed: int = 0) -> Table | None:
    """Share of stale answers per condition and task with its 95% CI, and its paired Δ vs the
    reference (question by question; the table's Δs one Holm family); None without any."""
    present = [c for c in conditions if c in stale]
    tasks = sorted({t for c in present for t in stale[c]})
    if not tasks:
        return None
    numeric: dict[str, dict[str, float]] = {c: {} for c in present}
    cells: dict[Any, stats.DeltaAt] = {}
    for task in tasks:
        col = f"{task}/{STALE}"
        for c in present:
            ci = paired.interval(stale, c, task, STALE, {}, stats.stable_seed(c, task, STALE, base=seed))
            numeric[c].update({col: ci.estimate, f"{col}_ci_low": ci.low, f"{col}_ci_high": ci.high})
            if c != reference and task in stale[c] and task in stale.get(reference, {}):
                cells[(c, col)] = paired.delta_at(stale, reference, c, task, STALE, (math.nan, math.nan),
                                                  (math.nan, math.nan), stats.stable_seed(c, reference, task, STALE,
                                                                                          base=seed))
    for (c, col), delta in stats.holm_family(cells).items():
        paired.put_delta(numeric[c], f"{col}_delta", delta)
    frame = pd.DataFrame.from_dict(numeric, orient="index")
    shown = pd.DataFrame(index=pd.Index(present, name="condition"))
    for task in tasks:
        col = f"{task}/{STALE}"
        shown[f"{task} stale share"] = [_cell(frame, c, col) for c in present]
        if cells and any(key[1] == col for key in cells):
            shown[f"Δ {task} vs {reference}"] = [
                delta_cell(frame, c, f"{col}_delta", reference)
                if c == reference or not math.isnan(frame.loc[c, f"{col}_delta"]) else "" for c in present]
    return (f"Stale answers: share that picked the superseded fact (lower is better; 95% CI; "
            f"Δ vs {reference} in pp, paired per question, p (Holm p))", shown)


def breakdown_tables(run_dir: Path, samples: Samples, records: Records, primary: Mapping[str, str], reference: str,
                     conditions: Sequence[str], *, seed: int = 0) -> list[Table]:
    """Every breakdown table a run folder supports: one "Per attribute" table per task whose
    rows carry ``attribute``, then "Stale answers" where rows carry ``stale_label`` (or the
    records a ``stale`` score)."""
    fields = task_fields(run_dir)
    tables = [attribute_table(task, metric, fields.get(task, {}), samples, conditions, seed=seed)
              for task, metric in paired.ordered(primary).items()]
    tables.append(stale_table(stale_samples(fields, records), conditions, reference, seed=seed))
    return [t for t in tables if t is not None]


def retrieval_by_variant(run_dir: Path, retrieval: Retrieval | None) -> Retrieval | None:
    """The stored retrieval table plus, for each RAG task variant whose rows carry two or more
    values of ``variant``, one row per value (``<task variant> · variant=<value>``) at the same
    k, recomputed from the rows under ``tasks/`` (harness.retrieval.metrics.context_metrics_by);
    a single value would repeat the overall row."""
    if not retrieval:
        return retrieval
    out: dict[str, Mapping[str, float]] = dict(retrieval)
    for name, values in retrieval.items():
        path = Path(run_dir) / TASKS_DIR / f"{name}.jsonl"
        ks = sorted(int(key[len("recall@"):]) for key in values
                    if key.startswith("recall@") and key[len("recall@"):].isdigit())
        per_variant = context_metrics_by(read_jsonl(path), ks) if ks and path.is_file() else {}
        if len(per_variant) > 1:
            out.update({f"{name} · variant={variant}": got for variant, got in per_variant.items()})
    return out


def breakdown_markdown(tables: Sequence[Table]) -> str:
    """The breakdown tables as markdown sections ("" when there are none)."""
    return "".join(f"\n\n**{title}**\n\n{table.to_markdown()}" for title, table in tables)


__all__ = ["FIELDS", "STALE", "attribute_table", "breakdown_markdown", "breakdown_tables", "retrieval_by_variant",
           "stale_samples", "stale_table", "task_fields"]
