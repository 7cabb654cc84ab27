"""What scoring a run folder produces: the figures the report renders and metrics.json keeps."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from harness.scoring.cost import FROM_MANIFEST
from harness.scoring.scorers import QA_METRICS, RAG_METRICS, SCORERS

# filled from a run folder's judge/ by the judge scorer (0–1; the count of unreadable replies)
JUDGE_METRICS = ("judge_correctness", "judge_succinctness", "judge_unparsable")
ORDER = QA_METRICS + RAG_METRICS + JUDGE_METRICS
JUDGE_DEFINITIONS = {  # listed only for runs with judgments
    "judge_correctness": "LLM judge's correctness vs the reference, rubric 1–5 scaled to 0–1 (parsed replies only)",
    "judge_succinctness": "LLM judge's succinctness, rubric 1–5 scaled to 0–1 (parsed replies only)",
    "judge_unparsable": "judge replies without valid scores (counted, never scored as zero)",
}

# condition -> task -> sample key -> metric -> value
PerSample = dict[str, dict[str, dict[str, dict[str, float]]]]


@dataclass
class RunScores:
    """Everything scoring adds to a run: means with CIs, cost, and the per-sample values the
    HTML report shows next to each answer."""

    metrics: dict[str, dict[str, dict[str, float | None]]]  # condition -> task -> name (+_ci_low/_ci_high/_n)
    cost: dict[str, dict[str, Any]]
    per_sample: PerSample
    tokenizer: str
    similarity: str
    finetune_source: str = FROM_MANIFEST
    finetune_train_s: float | None = None  # the adapter's training time, when known
    judge: dict[str, Any] | None = None  # who judged, counts, paired deltas (harness.scoring.judge.summary)

    def to_json(self) -> dict[str, Any]:
        out = {"metrics": self.metrics, "cost": self.cost, "tokenizer": self.tokenizer,
               "similarity": self.similarity, "finetune_source": self.finetune_source,
               "finetune_train_s": self.finetune_train_s, "definitions": self.definitions()}
        return out | ({"judge": self.judge} if self.judge else {})

    def definitions(self) -> dict[str, str]:
        """What each score means, in the documented order (the judge's only when judged)."""
        own = {name: SCORERS.get(name).definition for name in QA_METRICS + RAG_METRICS}
        return own | (JUDGE_DEFINITIONS if self.judge else {})

    def names(self) -> list[str]:
        """Metric names present, in the documented order."""
        seen = {m for tasks in self.metrics.values() for got in tasks.values() for m in got}
        return [m for m in ORDER if m in seen]


__all__ = ["JUDGE_DEFINITIONS", "JUDGE_METRICS", "ORDER", "PerSample", "RunScores"]
