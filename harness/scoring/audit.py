"""The scorer audit: real answers checked by hand, and the open-QA scorer's error rates on them.

A degenerate-answer test shows the scorer cannot be gamed; it does not show the scorer agrees
with a careful reader on what models actually say. ``draw_sample`` takes answers from a run
folder — every open-QA task, spread over the conditions, half of them credited by the scorer
and half not where the run allows (so both error rates get data) — into
``tasks/<suite>/scorer_audit.jsonl``, one row per answer with an empty ``verdict`` for the
reader ("right" or "wrong", plus an optional ``note``). ``audit_rates`` then counts

- false positives: answers the scorer credits that the reader judged wrong, over all answers
  judged wrong (how often a wrong answer is scored right);
- false negatives: answers the scorer refuses that the reader judged right, over all answers
  judged right,

each with a Wilson interval. Each audit row keeps what the scorer read (question, references,
candidates, output) and the verdict it gave, so a test can re-score it: a scorer change that
moves any audited verdict fails until the audit is redone.
"""

from __future__ import annotations

import argparse
import random
import runpy
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness import records
from harness.errors import HarnessError
from harness.jsonl import read_jsonl, write_jsonl
from harness.scoring import stats

AUDIT_FILE = "scorer_audit.jsonl"
VERDICTS = ("right", "wrong")
PRIMARY = "correct"


def _task_rows(run_dir: Path) -> dict[str, dict[str, dict[str, Any]]]:
    """task -> row id -> the evaluated row (closed-book files first: their fields are the suite's)."""
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for path in sorted((run_dir / records.TASKS_DIR).glob("*.jsonl")):
        task = path.stem.split("__")[0]
        for row in read_jsonl(path):
            out.setdefault(task, {}).setdefault(str(row["id"]), row)
    return out


def _audit_row(record: Mapping[str, Any], row: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "task": record["task"], "condition": record["condition"], "id": str(row["id"]),
        "question": row["question"], "answer": row["answer"], "aliases": list(row.get("aliases") or []),
        "candidates": list(row.get("candidates") or []), "output": record.get("output") or "",
        "scorer": float((record.get("scores") or {}).get(PRIMARY, 0.0)), "verdict": None, "note": "",
    }


def draw_sample(run_dir: Path, per_task: int = 100, seed: int = 0) -> list[dict[str, Any]]:
    """Up to ``per_task`` answers per open-QA task of ``run_dir``: half credited by the scorer,
    half not (topped up from the other half when one runs short), drawn round-robin over the
    conditions so each condition's answer style is represented."""
    rows = _task_rows(run_dir)
    rng = random.Random(seed)
    sample: list[dict[str, Any]] = []
    for task, by_id in sorted(rows.items()):
        if not any("answer" in r for r in by_id.values()):
            continue  # multiple choice / classification: no free text to audit
        pool: list[dict[str, Any]] = []
        for path in records.record_files(run_dir):
            if path.stem == task:
                pool += [_audit_row(rec, by_id[str(rec["id"])]) for rec in records.read_records(path)
                         if str(rec.get("id")) in by_id]
        sample += _balanced(pool, per_task, rng)
    return sorted(sample, key=lambda r: (r["task"], r["condition"], r["id"]))


def _balanced(pool: list[dict[str, Any]], n: int, rng: random.Random) -> list[dict[str, Any]]:
    halves = [[r for r in pool if r["scorer"] == v] for v in (1.0, 0.0)]
    for half in halves:
        rng.shuffle(half)
        half.sort(key=lambda r: r["condition"])  # stable: shuffled within a condition
    want = [min(len(halves[0]), n // 2), 0]
    want[1] = min(len(halves[1]), n - want[0])
    want[0] = min(len(halves[0]), n - want[1])
    return [r for half, k in zip(halves, want, strict=True) for r in _round_robin(half, k)]


def _round_robin(rows: list[dict[str, Any]], k: int) -> list[dict[str, Any]]:
    by_condition: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        by_condition.setdefault(row["condition"], []).append(row)
    queues, picked = list(by_condition.values()), []
    while len(picked) < k and any(queues):
        for queue in queues:
            if queue and len(picked) < k:
                picked.append(queue.pop(0))
    return picked


# ----------------------------------------------------------------------------- reading an audit


def read_audit(path: Path) -> list[dict[str, Any]]:
    """The audit rows; a missing or unknown verdict is an error naming the line."""
    rows = read_jsonl(path)
    for line, row in enumerate(rows, start=1):
        if row.get("verdict") not in VERDICTS:
            raise HarnessError(f"{path} line {line}: field 'verdict' is {row.get('verdict')!r}; "
                               f"write one of {', '.join(VERDICTS)} after reading the answer")
    return rows


def rescore(rows: Sequence[Mapping[str, Any]], utils_path: Path) -> list[float]:
    """The current scorer's verdict on each audited answer (the suite's own ``process_qa``)."""
    process_qa = runpy.run_path(str(utils_path))["process_qa"]
    return [float(process_qa(dict(row), [row["output"]])[PRIMARY]) for row in rows]


@dataclass(frozen=True)
class Rate:
    """``k`` of ``n`` with its Wilson 95% interval (0 of 0: an undefined rate, shown as "—")."""

    k: int
    n: int

    @property
    def interval(self) -> tuple[float, float]:
        return stats.wilson(self.k, self.n) if self.n else (float("nan"), float("nan"))

    def __str__(self) -> str:
        if not self.n:
            return "— (0 answers)"
        low, high = self.interval
        return f"{self.k / self.n:.1%} ({self.k}/{self.n}; 95% CI {low:.1%}–{high:.1%})"


@dataclass(frozen=True)
class AuditRates:
    """One task's audit: answers read, and the scorer's two error rates with Wilson 95% CIs."""

    task: str
    n: int
    judged_right: int
    false_positive: Rate  # credited though wrong, over the answers judged wrong
    false_negative: Rate  # refused though right, over the answers judged right


def audit_rates(rows: Sequence[Mapping[str, Any]]) -> list[AuditRates]:
    out = []
    for task in sorted({r["task"] for r in rows}):
        mine = [r for r in rows if r["task"] == task]
        wrong = [r for r in mine if r["verdict"] == "wrong"]
        right = [r for r in mine if r["verdict"] == "right"]
        fp = sum(1 for r in wrong if r["scorer"] == 1.0)
        fn = sum(1 for r in right if r["scorer"] == 0.0)
        out.append(AuditRates(task, len(mine), len(right), Rate(fp, len(wrong)), Rate(fn, len(right))))
    return out


def rates_markdown(rates: Sequence[AuditRates]) -> str:
    """The table the suite cards carry (a test checks each card against its audit file)."""
    lines = ["| task | answers read | judged right | false positives | false negatives |",
             "|:--|--:|--:|:--|:--|"]
    lines += [f"| {r.task} | {r.n} | {r.judged_right} | {r.false_positive} | {r.false_negative} |"
              for r in rates]
    return "\n".join(lines)


def write_sample(run_dir: Path, out: Path, per_task: int = 100, seed: int = 0) -> int:
    """Write a fresh audit sample to ``out`` (refusing to overwrite one that has verdicts)."""
    if out.is_file() and any(r.get("verdict") for r in read_jsonl(out)):
        raise HarnessError(f"{out} already holds verdicts; move it away before drawing a new sample")
    rows = draw_sample(run_dir, per_task, seed)
    if not rows:
        raise HarnessError(f"{run_dir}: no open-QA answers to audit (samples/<condition>/<task>.jsonl)")
    write_jsonl(out, rows)
    return len(rows)


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="python -m harness audit-scorer",
                                 description="Draw open-QA answers of a run folder for a hand check of the scorer, "
                                             "or print the scorer's error rates from a checked audit file.")
    ap.add_argument("source", type=Path, help="a run folder (draw a sample) or, with --rates, an audit JSONL")
    ap.add_argument("--out", type=Path, help=f"where to write the sample (default: <run folder>/{AUDIT_FILE})")
    ap.add_argument("--per-task", type=int, default=100, help="answers per open-QA task")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--rates", action="store_true", help="source is a checked audit file: print its rates table")
    return ap


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        if args.rates:
            print(rates_markdown(audit_rates(read_audit(args.source))))
            return 0
        out = args.out or args.source / AUDIT_FILE
        n = write_sample(args.source, out, args.per_task, args.seed)
    except HarnessError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(f"{out}: {n} answers to check; write verdict \"right\" or \"wrong\" on each line, "
          f"then: python -m harness audit-scorer --rates {out}")
    return 0


__all__ = ["AUDIT_FILE", "AuditRates", "Rate", "audit_rates", "draw_sample", "rates_markdown", "read_audit", "rescore",
           "main", "parser", "write_sample"]
