"""The churn table's numbers: per strategy, accuracy on the changed facts, the stale-answer rate
on them, and accuracy retained on the unchanged facts — each with its Wilson 95% interval —
and each strategy's paired difference from re-indexed RAG on the changed facts (Tango interval,
McNemar score p, Holm-adjusted over the strategies of one fraction).

A stale answer is one the suite's own scorer credits when the *old* value is taken as the gold
answer (the new value among the candidates, so an answer asserting both is not stale). It is
counted only on changed facts: they alone have an old value.
"""

from __future__ import annotations

import runpy
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from harness import records
from harness.churn.derive import CHANGED, ChurnedSuite
from harness.churn.update import CONTINUE, RETRAIN, STALE
from harness.scoring import stats

PRIMARY = "correct"
Scorer = Callable[[dict[str, Any], list[str]], Mapping[str, float]]


@dataclass(frozen=True)
class Share:
    """``k`` of ``n`` with its Wilson 95% interval."""

    k: int
    n: int

    @property
    def value(self) -> float:
        return self.k / self.n if self.n else float("nan")

    def to_json(self) -> dict[str, Any]:
        low, high = stats.wilson(self.k, self.n) if self.n else (float("nan"), float("nan"))
        return {"k": self.k, "n": self.n, "value": round(self.value, 6), "low": round(low, 6), "high": round(high, 6)}


@dataclass(frozen=True)
class Scored:
    """One condition's 0/1 verdicts per eval row id: correct, and stale (changed rows only)."""

    correct: dict[str, float]
    stale: dict[str, float]


def stale_verdict(row: Mapping[str, Any], output: str, score: Scorer) -> float:
    """1.0 when the scorer credits ``output`` for the row's old value (see the module doc)."""
    candidates = sorted(({str(c) for c in row.get("candidates") or []} - {str(row["stale_answer"])}) | {str(row["answer"])})
    doc = {"question": row.get("question", ""), "answer": row["stale_answer"], "aliases": row.get("stale_aliases") or [],
           "candidates": candidates}
    return float(score(doc, [output])[PRIMARY])


def suite_scorer(task_yaml: Path) -> Scorer:
    """The open-QA task's own ``process_qa`` (its ``utils.py``)."""
    return runpy.run_path(str(task_yaml.parent / "utils.py"))["process_qa"]


def score_condition(run_dir: Path, condition: str, churned: ChurnedSuite) -> Scored:
    """Read one condition's records of every open-QA task of the churned suite."""
    correct: dict[str, float] = {}
    stale: dict[str, float] = {}
    for task in churned.suite.tasks:
        path = Path(run_dir) / records.SAMPLES_DIR / condition / f"{task.name}.jsonl"
        rows = {str(r["id"]): r for r in task.rows}
        score = suite_scorer(task.yaml_path)
        for rec in records.read_records(path) if path.is_file() else []:
            row = rows.get(str(rec.get("id")))
            if row is None:
                continue
            key = f"{task.name}/{rec['id']}"
            correct[key] = float(rec["scores"][PRIMARY])
            if row.get("churn") == CHANGED:
                stale[key] = stale_verdict(row, str(rec.get("output") or ""), score)
    return Scored(correct, stale)


def changed_keys(churned: ChurnedSuite) -> set[str]:
    return {f"{t.name}/{r['id']}" for t in churned.suite.tasks for r in t.rows if r.get("churn") == CHANGED}


def shares(scored: Scored, changed: set[str]) -> dict[str, Share]:
    """changed / stale / unchanged for one condition."""
    on_changed = [v for k, v in scored.correct.items() if k in changed]
    on_unchanged = [v for k, v in scored.correct.items() if k not in changed]
    return {"changed": Share(int(sum(on_changed)), len(on_changed)),
            "stale": Share(int(sum(scored.stale.values())), len(scored.stale)),
            "unchanged": Share(int(sum(on_unchanged)), len(on_unchanged))}


def _family(pairs: Mapping[str, tuple[Scored, Scored]], questions: set[str]) -> dict[str, dict[str, Any]]:
    """name -> (reference, candidate): candidate minus reference on ``questions``, paired per
    question, one Holm family whose intervals are at their Holm step's level (an interval
    excludes 0 exactly when the adjusted p is below 0.05)."""
    cells = {}
    for name, (ref, new) in pairs.items():
        keys = sorted(k for k in questions if k in ref.correct and k in new.correct)
        a, b = np.array([ref.correct[k] for k in keys]), np.array([new.correct[k] for k in keys])
        cells[name] = lambda alpha, a=a, b=b: stats.paired_delta(a, b, alpha=alpha)
    return {str(name): _delta_json(d) for name, d in stats.holm_family(cells).items()}


def _delta_json(d: Any) -> dict[str, Any]:
    return {"delta": round(d.estimate, 6), "low": round(d.low, 6), "high": round(d.high, 6),
            "p": round(d.p_value, 6), "p_holm": round(d.p_adjusted, 6), "level": round(d.level, 6), "n": d.n}


def versus(reference: Scored, others: Mapping[str, Scored], questions: set[str]) -> dict[str, dict[str, Any]]:
    """Each condition minus ``reference`` on ``questions`` (one Holm family)."""
    return _family({name: (reference, other) for name, other in others.items()}, questions)


def measure(run_dir: Path, conditions: Sequence[str], churned: ChurnedSuite, rag: str | None) -> dict[str, Any]:
    """The churn block of one fraction: shares per condition and the paired deltas vs ``rag``."""
    changed = changed_keys(churned)
    scored = {c: score_condition(run_dir, c, churned) for c in conditions}
    out: dict[str, Any] = {"order": list(conditions),  # churn.json is written with sorted keys
                           "conditions": {c: {k: s.to_json() for k, s in shares(scored[c], changed).items()}
                                          for c in conditions}}
    if rag is not None and rag in scored:
        others = {c: s for c, s in scored.items() if c != rag}
        out["vs_rag"] = {"reference": rag, "deltas": versus(scored[rag], others, changed)}
    kept = retained(scored, changed)
    if kept:
        out["retained"] = kept
    return out


def retained(scored: Mapping[str, Scored], changed: set[str]) -> dict[str, Any] | None:
    """What each FT update cost the facts that did not change: the updated adapter minus the
    not-updated one on the unchanged questions (closed book, and with RAG), one Holm family."""
    tails = ["", *sorted({c[len(STALE):] for c in scored if c.startswith(STALE + "+")})]
    pairs = [(f"{STALE}{t}", f"{u}{t}") for t in tails for u in (RETRAIN, CONTINUE)]
    pairs = [(ref, new) for ref, new in pairs if ref in scored and new in scored]
    if not pairs:
        return None
    unchanged = {k for s in scored.values() for k in s.correct} - changed
    made = _family({new: (scored[ref], scored[new]) for ref, new in pairs}, unchanged)
    return {new: {"reference": ref, **made[new]} for ref, new in pairs}
