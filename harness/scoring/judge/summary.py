"""The judge's columns in a report, from the judgments stored in a run folder (no model).

Scores are reported normalised to 0–1, ``(score - low) / (high - low)`` on the rubric's scale
(1–5 by default: 1 → 0.0, 3 → 0.5, 5 → 1.0), so they sit beside the other 0–1 extra
metrics and their deltas read in points; the raw 1–5 scores stay in ``judge/``. Means,
bootstrap CIs and paired deltas against the reference condition are over the *parsed*
judgments only; ``judge_unparsable`` counts the rest next to them — an unreadable reply is
never a zero.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.scoring import stats
from harness.scoring.judge.config import CRITERIA
from harness.scoring.judge.store import read_run_judgments
from harness.scoring.scorers import mean_ci

METRICS = tuple(f"judge_{c}" for c in CRITERIA)
UNPARSABLE = "judge_unparsable"


@dataclass(frozen=True)
class Judged:
    """A run folder's judgments: who judged, and per condition × task × sample the 0–1 scores
    (nan where the reply did not parse)."""

    info: dict[str, Any]
    per_sample: dict[str, dict[str, dict[str, dict[str, float]]]]
    unparsable: dict[str, dict[str, int]]


def normalise(value: Any, scale: tuple[int, int]) -> float:
    if value is None:
        return math.nan
    low, high = scale
    return (float(value) - low) / (high - low)


def load(run_dir: Path) -> Judged | None:
    """The judgments of a run folder, or None when it was never judged."""
    stored = read_run_judgments(run_dir)
    if stored is None:
        return None
    info, rows = stored
    low, high = (info.get("rubric") or {}).get("scale") or (1, 5)
    per_sample: dict[str, dict[str, dict[str, dict[str, float]]]] = {}
    unparsable: dict[str, dict[str, int]] = {}
    for (condition, task), lines in rows.items():
        bucket = per_sample.setdefault(condition, {}).setdefault(task, {})
        for line in lines:
            bucket[str(line["id"])] = {f"judge_{c}": normalise(line.get(c), (low, high)) for c in CRITERIA}
        unparsable.setdefault(condition, {})[task] = sum(1 for line in lines if line.get("unparsable"))
    return Judged(info, per_sample, unparsable)


def _deltas(judged: Judged, reference: str, seed: int) -> dict[str, dict[str, dict[str, dict[str, float]]]]:
    """condition -> task -> metric -> paired delta vs ``reference`` (over questions both parsed)."""
    out: dict[str, dict[str, dict[str, dict[str, float]]]] = {}
    ref = judged.per_sample.get(reference, {})
    for condition, tasks in sorted(judged.per_sample.items()):
        if condition == reference:
            continue
        for task, by_id in sorted(tasks.items()):
            if task not in ref:
                continue
            for metric in METRICS:
                a = {k: v[metric] for k, v in ref[task].items() if not math.isnan(v[metric])}
                b = {k: v[metric] for k, v in by_id.items() if not math.isnan(v[metric])}
                _, x, y = stats.align(a, b)
                if not x.size:
                    continue
                delta = stats.paired_delta(x, y, seed=stats.stable_seed(condition, task, metric, base=seed))
                out.setdefault(condition, {}).setdefault(task, {})[metric] = {
                    "estimate": round(delta.estimate, 6), "ci_low": round(delta.low, 6),
                    "ci_high": round(delta.high, 6), "p": round(delta.p_value, 6), "n": delta.n}
    return out


def add_to(extras: Any, judged: Judged | None, reference: str, seed: int = 0) -> None:
    """Put the judge's per-sample scores, their means with CIs, the unparsable counts and the
    paired deltas into ``extras`` (a harness.scoring.result.RunScores)."""
    if judged is None:
        return
    for condition, tasks in sorted(judged.per_sample.items()):
        for task, by_id in sorted(tasks.items()):
            samples = extras.per_sample.setdefault(condition, {}).setdefault(task, {})
            for key, values in by_id.items():
                samples.setdefault(key, {}).update(values)
            metrics = extras.metrics.setdefault(condition, {}).setdefault(task, {})
            for name in METRICS:
                summary = mean_ci((v[name] for v in by_id.values()), stats.stable_seed(condition, task, name, base=seed))
                metrics.update({f"{name}{suffix}": v for suffix, v in summary.items()})
            metrics[UNPARSABLE] = int(judged.unparsable.get(condition, {}).get(task, 0))
    identity = judged.info.get("identity") or {}
    extras.judge = {
        "identity": identity, "scale": (judged.info.get("rubric") or {}).get("scale"),
        "counts": judged.info.get("counts"), "reference": reference,
        "deltas": _deltas(judged, reference, seed),
    }


@dataclass(frozen=True)
class JudgeScorer:
    """The LLM judge as a scorer of the whole run: the judgments stored in its judge/ folder
    (made by harness.scoring.judge.runner; nothing is judged here) become report columns."""

    name: str = "judge"
    definition: str = "LLM judge's rubric scores (correctness, succinctness), 0–1"

    def apply(self, scores: Any, run_dir: Path, reference: str, seed: int = 0) -> None:
        add_to(scores, load(run_dir), reference, seed)


JUDGE = JudgeScorer()


def label(judge: dict[str, Any]) -> str:
    """``hf wheel:smollm2-135m-instruct (weights 1a2b3c4d, prompt 5e6f7a8b)`` — who judged."""
    who = judge.get("identity") or {}
    where = f" at {who['base_url']}" if who.get("base_url") else ""
    weights = f"weights {str(who['weights_sha256'])[:8]}, " if who.get("weights_sha256") else ""
    return f"{who.get('backend')} {who.get('model')}{where} ({weights}prompt {str(who.get('prompt_sha256'))[:8]})"


__all__ = ["JUDGE", "METRICS", "UNPARSABLE", "JudgeScorer", "Judged", "add_to", "label", "load", "normalise"]
