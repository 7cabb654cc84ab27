"""What one condition offers as evidence on one task, and the procedure each claim about it uses.

A task's primary metric arrives in one of three shapes: per-question scores (accuracy,
contains, token F1), per-question scores under several fine-tuning seeds (a seeds × questions
matrix), or (gold, prediction) label pairs for a metric computed over the whole set (macro-F1).
The report asks four questions of them — a condition's value, its mean over tasks, a delta on
one task, a delta of means — and this module picks the procedure of the table in
harness.scoring.stats.procedures for each, so the choice is made in one place. Bootstrap draws
are seeded by the evidence itself (``_rng``), never by the ``seed`` a caller passes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from harness.scoring.stats import bootstrap as boot
from harness.scoring.stats import procedures as proc
from harness.scoring.stats.core import ALPHA, N_BOOT, Delta, Interval, missing_delta


@dataclass(frozen=True)
class Evidence:
    """Per-question evidence in a fixed question order (align two sides before comparing)."""

    values: np.ndarray  # per-question score (the seed mean with several seeds; nan for label metrics)
    seeds: np.ndarray | None = None  # seeds × questions, only with two or more seeds
    labels: tuple[np.ndarray, np.ndarray] | None = None  # (gold, prediction) for macro-F1

    @property
    def n(self) -> int:
        return int(self.values.size)

    def matrix(self) -> np.ndarray:
        """Seeds × questions (one row when evaluated once)."""
        return self.seeds if self.seeds is not None else self.values[None, :]


def value(ev: Evidence, *, alpha: float = ALPHA, seed: int = 0) -> Interval:
    """A condition's score on a task."""
    if ev.labels is not None:
        return proc.macro_f1_ci(*ev.labels, alpha=alpha, seed=seed)
    if ev.seeds is not None:
        return proc.seeds_mean_ci([ev.seeds], alpha=alpha, seed=seed)
    return proc.mean_ci(ev.values, alpha=alpha, seed=seed)


def mean_value(evs: Sequence[Evidence], *, alpha: float = ALPHA, seed: int = 0,
               by_question: bool = False) -> Interval:
    """The mean over tasks (disjoint question sets) of a condition's scores: unweighted, or with
    ``by_question`` each task weighted by its questions (a macro-F1 task by its labelled pairs)."""
    if any(ev.labels is not None for ev in evs):
        rng = _rng(evs)
        weights = proc.task_weights([ev.n for ev in evs], by_question)
        draws = sum(w * _draws(ev, rng) for w, ev in zip(weights, evs))
        estimate = float(sum(w * value(ev).estimate for w, ev in zip(weights, evs)))
        low, high, _ = boot.percentile_decision(draws, alpha)
        return Interval(estimate, low, high, sum(ev.n for ev in evs), "bootstrap", 1 - alpha)
    if any(ev.seeds is not None for ev in evs):
        return proc.seeds_mean_ci([ev.matrix() for ev in evs], alpha=alpha, by_question=by_question)
    return proc.groups_mean_ci([ev.values for ev in evs], alpha=alpha, by_question=by_question)


def delta(ref: Evidence, cand: Evidence, *, alpha: float = ALPHA, seed: int = 0) -> Delta:
    """``cand - ref`` on one task, the two aligned on the same questions."""
    if ref.labels is not None and cand.labels is not None:
        return proc.macro_f1_delta(ref.labels[0], ref.labels[1], cand.labels[1], alpha=alpha, seed=seed)
    if ref.labels is not None or cand.labels is not None:
        return missing_delta(paired=True, alpha=alpha)
    if ref.seeds is not None or cand.seeds is not None:
        return proc.seeds_paired_delta([(ref.matrix(), cand.matrix())], alpha=alpha, seed=seed)
    return proc.paired_delta(ref.values, cand.values, alpha=alpha, seed=seed)


def mean_delta(pairs: Sequence[tuple[Evidence, Evidence]], *, alpha: float = ALPHA, seed: int = 0) -> Delta:
    """``cand - ref`` of the mean over tasks, each task's pair aligned on its questions."""
    if len(pairs) == 1:
        return delta(*pairs[0], alpha=alpha, seed=seed)
    n = sum(r.n for r, _ in pairs)
    if any(r.labels is not None or c.labels is not None for r, c in pairs):
        if not all(r.labels is not None and c.labels is not None for r, c in pairs
                   if r.labels is not None or c.labels is not None):
            return missing_delta(paired=True, alpha=alpha)
        rng = _rng([ev for pair in pairs for ev in pair])
        draws = sum(_paired_draws(r, c, rng) for r, c in pairs) / len(pairs)
        estimate = float(np.mean([value(c).estimate - value(r).estimate for r, c in pairs]))
        low, high, p = boot.percentile_decision(draws, alpha)
        return Delta(estimate, low, high, p, n, "paired-bootstrap", True, alpha, level=1 - alpha)
    if any(r.seeds is not None or c.seeds is not None for r, c in pairs):
        return proc.seeds_paired_delta([(r.matrix(), c.matrix()) for r, c in pairs], alpha=alpha, seed=seed)
    return proc.paired_delta_groups([r.values for r, _ in pairs], [c.values for _, c in pairs], alpha=alpha,
                                    seed=seed)


def _rng(evs: Sequence[Evidence]) -> np.random.Generator:
    """The generator of a bootstrap over these tasks, seeded by all their scores and labels."""
    parts: list[np.ndarray] = []
    for ev in evs:
        parts += [ev.values, *([] if ev.seeds is None else [ev.seeds]), *(ev.labels or ())]
    return boot.data_rng(*parts)


def _draws(ev: Evidence, rng: np.random.Generator) -> np.ndarray:
    """Bootstrap draws of one task's statistic (for a mean over tasks of mixed kinds)."""
    if ev.labels is not None:
        return boot.macro_f1_draws(*ev.labels, boot.resample_weights(ev.n, N_BOOT, rng))
    if ev.seeds is not None:
        return boot.seed_question_draws([ev.seeds], N_BOOT, rng)
    return boot.mean_draws(ev.values, boot.resample_weights(ev.n, N_BOOT, rng))


def _paired_draws(ref: Evidence, cand: Evidence, rng: np.random.Generator) -> np.ndarray:
    """Bootstrap draws of one task's ``cand - ref``, questions resampled jointly."""
    if ref.labels is not None and cand.labels is not None:
        w = boot.resample_weights(ref.n, N_BOOT, rng)
        return boot.macro_f1_draws(cand.labels[0], cand.labels[1], w) - boot.macro_f1_draws(*ref.labels, w)
    if ref.seeds is not None or cand.seeds is not None:
        return boot.seed_question_draws([cand.matrix() - ref.matrix()], N_BOOT, rng)
    return boot.mean_draws(cand.values - ref.values, boot.resample_weights(ref.n, N_BOOT, rng))


def contrast(tasks: Sequence[Sequence[Evidence]], coefficients: Sequence[float], *, alpha: float = ALPHA,
             seed: int = 0) -> Delta:
    """The mean over tasks of ``sum(c * score)`` over conditions answering the same questions
    (the RAG × FT interaction: ft+r - ft - base+r + base), by the paired bootstrap stratified
    by task; macro-F1 is recomputed on each resample."""
    rng = _rng([ev for evs in tasks for ev in evs])
    draws, estimates = np.zeros(N_BOOT), []
    for evs in tasks:
        w = boot.resample_weights(evs[0].n, N_BOOT, rng)
        if all(ev.labels is not None for ev in evs):
            draws += sum(c * boot.macro_f1_draws(*ev.labels, w) for c, ev in zip(coefficients, evs))
            estimates.append(sum(c * boot.macro_f1(*ev.labels) for c, ev in zip(coefficients, evs)))
        else:
            combined = sum(c * ev.values for c, ev in zip(coefficients, evs))
            draws += boot.mean_draws(combined, w)
            estimates.append(float(np.mean(combined)))
    draws /= len(tasks)
    low, high, p = boot.percentile_decision(draws, alpha)
    return Delta(float(np.mean(estimates)), low, high, p, sum(evs[0].n for evs in tasks), "paired-bootstrap",
                 True, alpha, level=1 - alpha)


__all__ = ["Evidence", "contrast", "delta", "mean_delta", "mean_value", "value"]
