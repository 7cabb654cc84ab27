"""The quality half of a decision: which conditions tie the best, how stable that choice is under
resampling the questions (and the fine-tuning seeds, where a condition has several), whether it
survives a split-half check, and the per-question oracle.

"Ties the best" is a non-inferiority statement: the paired interval of ``condition - best`` on
the suite mean (harness.scoring.stats.evidence.mean_delta, 95%) has its lower bound above
``-margin``. Recommending a cheaper condition needs that evidence, not merely the absence of a
significant difference. Resamples and halves use the point version of the same rule (within
``margin`` of the best resampled mean), each priced like the full decision.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

from harness.decision.inputs import RunInputs
from harness.scoring import stats
from harness.scoring.stats import bootstrap as boot

Recommend = Callable[[dict[str, float]], str]  # condition means -> the recommended condition


@dataclass(frozen=True)
class Standing:
    """One condition against the best: its suite mean and the paired delta."""

    condition: str
    mean: float
    delta: stats.Delta | None  # None for the best itself
    verdict: str  # "best", "ties the best", "worse", "inconclusive"


def _seed_resampled(matrix: np.ndarray, weights: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Resampled means of a seeds x questions matrix: each draw re-picks the seeds with replacement
    and then weighs the questions, so a verdict that rests on one lucky seed is not called stable."""
    seeds = boot.resample_weights(matrix.shape[0], weights.shape[0], rng)  # B x S
    per_question = seeds @ matrix / matrix.shape[0]  # B x Q: each draw's seed-averaged scores
    return np.sum(per_question * weights, axis=1) / matrix.shape[1]


def _statistic(ev: stats.Evidence, weights: np.ndarray, rng: np.random.Generator | None) -> np.ndarray:
    if ev.labels is not None:
        return boot.macro_f1_draws(*ev.labels, weights)
    if ev.seeds is not None and rng is not None:
        return _seed_resampled(ev.seeds, weights, rng)
    return boot.mean_draws(ev.values, weights)


def condition_means(evidence: Mapping[str, list[stats.Evidence]], weights: list[np.ndarray],
                    seed_rng: np.random.Generator | None = None) -> dict[str, np.ndarray]:
    """Each condition's mean over tasks under per-task question weights (rows = resamples); with
    ``seed_rng``, conditions evaluated under several seeds also resample their seeds per row."""
    return {c: sum(_statistic(ev, w, seed_rng) for ev, w in zip(evs, weights)) / len(evs)
            for c, evs in evidence.items()}


def standings(inputs: RunInputs, evidence: Mapping[str, list[stats.Evidence]], margin: float,
              seed: int = 0) -> list[Standing]:
    """Every condition against the best suite mean, best first, then by mean."""
    ones = [np.ones((1, ev.n)) for ev in next(iter(evidence.values()))]
    means = {c: float(v[0]) for c, v in condition_means(evidence, ones).items()}
    best = max(means, key=lambda c: (means[c], -inputs.conditions.index(c)))
    out = [Standing(best, means[best], None, "best")]
    for c in sorted((c for c in means if c != best), key=lambda c: -means[c]):
        delta = stats.evidence.mean_delta(list(zip(evidence[best], evidence[c])), seed=stats.stable_seed(c, best, seed))
        verdict = ("ties the best" if delta.low > -margin else
                   "worse" if delta.significant and delta.estimate < 0 else "inconclusive")
        out.append(Standing(c, means[c], delta, verdict))
    return out


def stability(evidence: Mapping[str, list[stats.Evidence]], recommend: Recommend, chosen: str, resamples: int,
              seed: int = 0) -> float:
    """Share of resamples whose decision is ``chosen``: questions resampled per task, jointly across
    conditions (the pairing), and each multi-seed condition's seeds resampled on top."""
    rng = boot.rng_for(seed)
    weights = [boot.resample_weights(ev.n, resamples, rng) for ev in next(iter(evidence.values()))]
    draws = condition_means(evidence, weights, rng)
    hits = sum(recommend({c: float(v[b]) for c, v in draws.items()}) == chosen for b in range(resamples))
    return hits / resamples


def split_half(inputs: RunInputs, recommend: Recommend, margin: float) -> tuple[str, bool | None]:
    """Decide on one half of every task's questions (by a hash of their ids), and check the
    choice on the other half: (choice on the first half, still within ``margin`` of the best;
    None when a half has no question of some task, so the check cannot be made)."""
    ids = inputs.shared_ids()
    halves = [{t: [i for i in v if zlib.crc32(i.encode()) % 2 == h] for t, v in ids.items()} for h in (0, 1)]
    if any(not v for half in halves for v in half.values()):
        return "", None
    means = []
    for half in halves:
        evidence = {c: inputs.evidence(c, half) for c in inputs.conditions}
        ones = [np.ones((1, ev.n)) for ev in next(iter(evidence.values()))]
        means.append({c: float(v[0]) for c, v in condition_means(evidence, ones).items()})  # type: ignore[arg-type]
    first = recommend(means[0])
    return first, means[1][first] >= max(means[1].values()) - margin


def oracle(inputs: RunInputs, evidence: Mapping[str, list[stats.Evidence]], rag: str | None,
           ft: str | None) -> dict[str, float] | None:
    """Per question (0/1 tasks pooled): the shares only the RAG arm, only the FT arm, both and
    neither got right, and the ceiling of a router picking the best condition per question."""
    if rag is None or ft is None:
        return None
    tasks = [i for i, ev in enumerate(evidence[rag]) if ev.labels is None and stats.is_binary(ev.values)]
    if not tasks:
        return None
    r = np.concatenate([evidence[rag][i].values for i in tasks])
    f = np.concatenate([evidence[ft][i].values for i in tasks])
    every = np.stack([np.concatenate([evidence[c][i].values for i in tasks]) for c in evidence])
    return {"only_rag": float(np.mean((r == 1) & (f == 0))), "only_ft": float(np.mean((f == 1) & (r == 0))),
            "both": float(np.mean((r == 1) & (f == 1))), "neither": float(np.mean((r == 0) & (f == 0))),
            "router_ceiling": float(np.mean(every.max(axis=0))), "questions": int(r.size)}


__all__ = ["Recommend", "Standing", "condition_means", "oracle", "split_half", "stability", "standings"]
