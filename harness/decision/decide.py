"""``decide``: from a finished run folder to "ship this condition", with the numbers it rests on."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from harness.decision import analysis
from harness.decision.costs import Priced, break_even, cheapest, price
from harness.decision.inputs import RunInputs
from harness.decision.settings import CostSettings
from harness.scoring import stats

STABLE = 0.8  # below this share of resamples agreeing, the decision is "no clear winner"


@dataclass(frozen=True)
class Decision:
    """The recommendation, whether it is clear, and everything it was derived from."""

    recommended: str
    clear: bool
    reason: str
    standings: list[analysis.Standing]
    frontier: list[str]
    priced: dict[str, Priced]
    hourly: float
    hourly_source: str
    settings: CostSettings
    break_evens: list[tuple[str, str, float]]
    stability: float
    split_half: tuple[str, bool | None]  # (choice on one half, holds on the other; None: too few questions)
    oracle: dict[str, float] | None
    versus_reference: stats.Delta | None
    reference: str
    evidence: dict[str, Any] = field(default_factory=dict)
    resampled: str = "question"  # what the stability resamples: "question", or "question and seed"
    memory: dict[str, float] = field(default_factory=dict)  # retriever bytes while serving (nan: not recorded)
    arms: tuple[str | None, str | None] = (None, None)  # the best RAG-only and closed-book FT conditions (the oracle's)
    refresh: dict[str, float] = field(default_factory=dict)  # seconds of one update, measured by churn ({}: one-off)


def _recommender(priced: dict[str, Priced], settings: CostSettings) -> analysis.Recommend:
    def recommend(means: dict[str, float]) -> str:
        top = max(means.values())
        tied = [c for c in priced if means[c] >= top - settings.margin]
        return cheapest(tied, priced, settings.queries_per_month)
    return recommend


def _arms(inputs: RunInputs, means: dict[str, float]) -> tuple[str | None, str | None]:
    """The best retrieval-only condition and the best fine-tuned closed-book one."""
    rag = [c for c, k in inputs.costs.items() if "+" in c and k.finetune_s == 0]
    ft = [c for c, k in inputs.costs.items() if k.finetune_s > 0 and "+" not in c]
    pick = lambda names: max(names, key=lambda c: means[c]) if names else None  # noqa: E731
    return pick(rag), pick(ft)


def _break_evens(frontier: list[str], priced: dict[str, Priced]) -> list[tuple[str, str, float]]:
    out = []
    for i, a in enumerate(frontier):
        for b in frontier[i + 1:]:
            volume = break_even(priced[a], priced[b])
            if volume is not None:
                out.append((a, b, volume))
    return out


def _clarity(stability: float, split: tuple[str, bool | None], resampled: str) -> tuple[bool, str]:
    if stability < STABLE:
        return False, (f"the choice holds in only {100 * stability:.0f}% of {resampled} resamples "
                       f"(below {100 * STABLE:.0f}%): the conditions are too close to call at this n")
    if split[1] is False:
        return False, f"decided on half the questions ({split[0]}), the choice falls out of the margin on the other half"
    return True, ""


def decide(inputs: RunInputs, settings: CostSettings, *, seed: int = 0) -> Decision:
    """The Decision of a run under ``settings`` (prices only change the cost half)."""
    ids = inputs.shared_ids()
    evidence = {c: inputs.evidence(c, ids) for c in inputs.conditions}
    if any(v is None for v in evidence.values()) or not inputs.primary:
        raise ValueError("a decision needs per-question records of every condition on every task")
    hourly, source = settings.hourly(inputs.manifest)
    priced = {c: price(k, settings, hourly) for c, k in inputs.costs.items()}
    ranks = analysis.standings(inputs, evidence, settings.margin, seed)  # type: ignore[arg-type]
    frontier = [s.condition for s in ranks if s.verdict in ("best", "ties the best")]
    recommended = cheapest(frontier, priced, settings.queries_per_month)
    recommend = _recommender(priced, settings)
    share = analysis.stability(evidence, recommend, recommended, settings.stability_resamples, seed)  # type: ignore[arg-type]
    split = analysis.split_half(inputs, recommend, settings.margin)
    resampled = "question and seed" if any(ev.seeds is not None for evs in evidence.values()
                                           for ev in evs or []) else "question"
    clear, reason = _clarity(share, split, resampled)
    means = {s.condition: s.mean for s in ranks}
    arms = _arms(inputs, means)
    ref = inputs.reference
    versus = (stats.evidence.mean_delta(list(zip(evidence[ref], evidence[recommended])),  # type: ignore[arg-type]
                                        seed=stats.stable_seed(recommended, ref, seed))
              if ref in evidence and ref != recommended else None)
    return Decision(recommended, clear, reason, ranks, frontier, priced, hourly, source, settings,
                    _break_evens(frontier, priced), share, split,
                    analysis.oracle(inputs, evidence, *arms), versus, ref,  # type: ignore[arg-type]
                    _other_evidence(inputs, recommended), resampled,
                    {c: k.index_memory_bytes for c, k in inputs.costs.items()}, arms,
                    {c: k.refresh_s for c, k in inputs.costs.items() if k.refresh_s is not None})


def _other_evidence(inputs: RunInputs, condition: str) -> dict[str, Any]:
    """Context-word overlap / self-knowledge of the recommended condition (RAG) and the forgetting check."""
    out: dict[str, Any] = {}
    for task, metrics in (inputs.extra_metrics.get(condition) or {}).items():
        for name in ("context_word_overlap", "self_knowledge"):
            value = metrics.get(name)
            if isinstance(value, (int, float)) and not math.isnan(value):
                out.setdefault(name, {})[task] = float(value)
    block = inputs.forgetting or {}
    scores, primary = block.get("conditions") or {}, block.get("primary") or {}
    closed = condition.split("+")[0]
    if closed in scores and "base" in scores and closed != "base" and primary:
        mean = lambda c: sum(float(scores[c].get(t, {}).get(m, math.nan)) for t, m in primary.items()) / len(primary)  # noqa: E731
        out["forgetting"] = {"suite": block.get("suite"), "condition": closed, "delta_vs_base": mean(closed) - mean("base")}
    manifest = inputs.manifest or {}
    arms = dict(manifest.get("arms") or {})  # training-set recall and tuning, as the run recorded them
    spec = manifest.get("spec") or {}
    if spec.get("finetune") or spec.get("retriever"):  # the settings each arm ran with (tuned or not)
        ft, rag = spec.get("finetune") or {}, spec.get("retriever") or {}
        arms["settings"] = {"ft": {k: ft[k] for k in ("epochs", "lr", "stop_at_recall") if k in ft},
                            "rag": {k: rag[k] for k in ("kind", "top_k") if k in rag}}
    if arms:
        out["arms"] = arms
    return out


__all__ = ["STABLE", "Decision", "decide"]
