"""Score a run folder: every registered scorer over its stored records, then the judge, then cost.

Everything here is recomputed from the run folder alone (samples/, judge/, metrics.json,
manifest.json), so a later ``python -m harness report <run>`` scores any run folder without a
model; only answer similarity needs the embedder, and its values are cached.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.records import Records, RunFolder, sample_key
from harness.scoring import stats
from harness.scoring.cost import FROM_CARD, FROM_MANIFEST, cost, token_counter
from harness.scoring.result import ORDER, PerSample, RunScores
from harness.scoring.scorers import SCORERS, Row
from harness.scoring.similarity import Similarity, pairs_of


@dataclass(frozen=True)
class ScoreSettings:
    """What batch scorers share: the answer-similarity embedder (its status goes in the report)."""

    similarity: Similarity


def _flatten(records: Records, primary: Mapping[str, str]) -> tuple[list[Row], list[dict[str, float]], PerSample]:
    """Every record in report order (conditions, then tasks, by name) with its task's primary
    metric, one empty value dict per record, and those dicts filed by condition, task, sample."""
    rows: list[Row] = []
    slots: list[dict[str, float]] = []
    per_sample: PerSample = {}
    for condition, tasks in sorted(records.items()):
        for task, task_rows in sorted(tasks.items()):
            bucket = per_sample.setdefault(condition, {}).setdefault(task, {})
            for row in task_rows:
                got: dict[str, float] = {}
                bucket[sample_key(row)] = got
                rows.append((row, primary.get(task, "")))
                slots.append(got)
    return rows, slots, per_sample


def _aggregate(per_sample: PerSample, seed: int) -> dict[str, dict[str, dict[str, float | None]]]:
    """Each scorer's own summary of its values, per condition × task."""
    metrics: dict[str, dict[str, dict[str, float | None]]] = {}
    for condition, tasks in per_sample.items():
        for task, by_id in tasks.items():
            out: dict[str, float | None] = {}
            for name in [m for m in ORDER if any(m in s for s in by_id.values())]:
                summary = SCORERS.get(name).aggregate((s.get(name, math.nan) for s in by_id.values()),
                                                      stats.stable_seed(condition, task, name, base=seed))
                out.update({f"{name}{suffix}": v for suffix, v in summary.items()})
            if out:
                metrics.setdefault(condition, {})[task] = out
    return metrics


def compute(records: Records, primary: Mapping[str, str], manifest: Mapping[str, Any] | None = None, *,
            similarity: Similarity | None = None, tokenizer: Any = None, finetune_s: float | None = None,
            latency: Mapping[str, Any] | None = None, seed: int = 0) -> RunScores:
    """Per-sample scores of every condition × task with their summaries, and the cost of every
    condition (``finetune_s``: the adapter's training time, when known; else the manifest's
    stage time is used)."""
    settings = ScoreSettings(similarity or Similarity())
    rows, slots, per_sample = _flatten(records, primary)
    for name in SCORERS.names():
        scorer = SCORERS.get(name)
        if hasattr(scorer, "score_many"):
            for got, value in zip(slots, scorer.score_many(rows, settings)):
                if value is not None:
                    got[name] = value
    counter = token_counter(manifest, tokenizer)
    has_pairs = any(pairs_of(record) for record, _ in rows)
    return RunScores(_aggregate(per_sample, seed), cost(records, counter, manifest, finetune_s, latency), per_sample,
                     counter.name,
                     settings.similarity.status if has_pairs else "not needed (no open-QA records)",
                     FROM_CARD if finetune_s is not None else FROM_MANIFEST, finetune_s)


def keep_exact_token_counts(scores: RunScores, previous: Mapping[str, Any]) -> None:
    """A later ``report`` without the model's tokenizer keeps the counts the run made with it
    (the records are the same) rather than degrading them to the whitespace approximation."""
    before = str(previous.get("tokenizer") or "")
    if not scores.tokenizer.startswith("approximate") or not before or before.startswith("approximate"):
        return
    for condition, got in scores.cost.items():
        old = (previous.get("cost") or {}).get(condition) or {}
        for key in ("mean_prompt_tokens", "mean_generated_tokens"):
            if old.get(key) is not None:
                got[key] = old[key]
    scores.tokenizer = before


def finetune_seconds(adapter: Any, previous: Mapping[str, Any]) -> float | None:
    """The adapter's training time: from its card when ``run`` passes the adapter, else what the
    run stored (a later ``report`` has no adapter at hand)."""
    seconds = (getattr(adapter, "card", None) or {}).get("train_seconds")
    if seconds is None:
        seconds = previous.get("finetune_train_s")
    return None if seconds is None else float(seconds)


def score_run(run: RunFolder, stored: Mapping[str, Any], *, records: Records | None = None, seed: int = 0,
              similarity: bool = True, tokenizer: Any = None, adapter: Any = None) -> RunScores:
    """Score a run folder (``stored``: its metrics.json); the report renders the result.

    ``tokenizer`` and ``adapter`` are what ``run`` has at hand (token counts with the model's
    tokenizer, the adapter's training time); without them the values the run stored under
    ``"extra"`` are kept. ``records``: the folder's records when the caller read them already."""
    previous = stored.get("extra") or {}
    scores = compute(run.load_records() if records is None else records, stored["primary"], run.read_manifest(),
                     seed=seed, tokenizer=tokenizer, finetune_s=finetune_seconds(adapter, previous),
                     latency=stored.get("latency"), similarity=Similarity(enabled=similarity))
    keep_exact_token_counts(scores, previous)
    for name in SCORERS.names():  # run-level scorers (the LLM judge: judge/, if the run was judged)
        scorer = SCORERS.get(name)
        if hasattr(scorer, "apply"):
            scorer.apply(scores, Path(run.path), str(stored["reference"]), seed)
    return scores


__all__ = ["ScoreSettings", "compute", "finetune_seconds", "keep_exact_token_counts", "score_run"]
