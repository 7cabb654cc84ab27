"""The procedures the reports and the gate call: one per kind of claim, each returning an
Interval or a Delta whose p-value comes from the same procedure as its interval.

| claim                                   | 0/1 scores                      | other scores               |
|-----------------------------------------|---------------------------------|----------------------------|
| a condition's score on a task           | Wilson                          | percentile bootstrap       |
| its mean over tasks (disjoint questions)| MOVER over Jeffreys intervals   | stratified bootstrap       |
| a delta, same questions                 | Tango score / McNemar           | paired bootstrap           |
| a delta of means over tasks             | MOVER over the Tango intervals  | stratified paired bootstrap|
| a delta, different questions            | Newcombe (MOVER-Wilson)         | two-sample bootstrap       |
| several fine-tuning seeds               | two-level bootstrap (seeds × questions)                      |
| macro-F1                                | BC bootstrap of the recomputed metric (paired for deltas)    |

Why score intervals for 0/1 scores: at the accuracies a leaderboard shows (0.02 and 0.98
happen) the percentile bootstrap covers 60% and collapses to [0, 0]; the score intervals cover
93–97% (tests/test_stats_coverage.py measures every row of the table above).

Every bootstrap here draws from ``boot.data_rng`` of the scores it resamples; the ``seed``
keyword is kept for callers and no longer changes a result, so the same scores give the same
interval and p wherever they are reported (harness.scoring.stats.bootstrap).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import replace

import numpy as np

from harness.scoring.stats import bootstrap as boot
from harness.scoring.stats.core import (ALPHA, N_BOOT, ArrayLike, Delta, Interval, clean, is_binary, missing_delta,
                                        paired_arrays, z_value)
from harness.scoring.stats.matched import discordant, mcnemar_score_p, tango_interval
from harness.scoring.stats.multiplicity import family_size, holm_adjust, holm_alphas
from harness.scoring.stats.proportions import jeffreys, mover, newcombe_unpaired, p_by_inversion, wilson
from scipy import stats as sps

_EMPTY = Interval(math.nan, math.nan, math.nan, 0)


def _delta_from_draws(estimate: float, draws: np.ndarray, n: int, test: str, paired: bool, alpha: float,
                      bias_corrected: bool = False) -> Delta:
    low, high, p = boot.percentile_decision(draws, alpha, estimate=estimate if bias_corrected else None)
    return Delta(estimate, low, high, p, n, test, paired, alpha, level=1 - alpha)


def task_weights(sizes: Sequence[int], by_question: bool = False) -> list[float]:
    """The tasks' weights in a mean over tasks: equal (every task counts once), or with
    ``by_question`` proportional to their questions (every question counts once)."""
    total = sum(sizes)
    return [size / total if by_question else 1.0 / len(sizes) for size in sizes]


# ---------------------------------------------------------------- one condition's score


def bootstrap_ci(values: ArrayLike, *, n_boot: int = N_BOOT, alpha: float = ALPHA, seed: int = 0) -> Interval:
    """Percentile bootstrap CI of the mean of per-sample scores (continuous scores)."""
    arr = clean(values)
    if not arr.size:
        return _EMPTY
    draws = boot.mean_draws(arr, boot.resample_weights(arr.size, n_boot, boot.data_rng(arr)))
    low, high, _ = boot.percentile_decision(draws, alpha)
    return Interval(float(arr.mean()), low, high, int(arr.size), "bootstrap", 1 - alpha)


def mean_ci(values: ArrayLike, *, alpha: float = ALPHA, seed: int = 0) -> Interval:
    """A mean of per-question scores: Wilson for 0/1 scores, else the percentile bootstrap."""
    arr = clean(values)
    if arr.size and is_binary(arr):
        low, high = wilson(float(arr.sum()), int(arr.size), alpha)
        return Interval(float(arr.mean()), low, high, int(arr.size), "wilson", 1 - alpha)
    return bootstrap_ci(arr, alpha=alpha, seed=seed)


def groups_mean_ci(groups: Sequence[ArrayLike], *, alpha: float = ALPHA, seed: int = 0,
                   by_question: bool = False) -> Interval:
    """The mean of group (task) means, each task its own question set: unweighted (every task
    counts once, the leaderboard's ``mean``), or with ``by_question`` weighted by the task's
    number of questions (every question counts once: the mean of all per-question scores, which
    a 2-question task cannot swing). MOVER over each task's Jeffreys interval for 0/1 scores,
    else a bootstrap stratified by task; the weights are fixed by design, so both stay stratified."""
    arrays = [a for a in (clean(g) for g in groups) if a.size]
    if not arrays:
        return _EMPTY
    n = int(sum(a.size for a in arrays))
    weights = task_weights([a.size for a in arrays], by_question)
    if all(is_binary(a) for a in arrays):
        parts = [(float(a.mean()), *jeffreys(float(a.sum()), int(a.size), alpha)) for a in arrays]
        estimate, low, high = mover(parts, weights)
        return Interval(estimate, max(0.0, low), min(1.0, high), n, "mover-jeffreys", 1 - alpha)
    draws = boot.stratified_draws(arrays, N_BOOT, boot.data_rng(*arrays), weights)
    low, high, _ = boot.percentile_decision(draws, alpha)
    return Interval(float(sum(w * a.mean() for w, a in zip(weights, arrays))), low, high, n, "bootstrap", 1 - alpha)


def seeds_mean_ci(matrices: Sequence[np.ndarray], *, alpha: float = ALPHA, seed: int = 0,
                  by_question: bool = False) -> Interval:
    """The mean over tasks of seeds × questions score matrices (one per task, the same seeds);
    with ``by_question`` the tasks are weighted by their questions (as in groups_mean_ci).

    0/1 scores: the Wilson interval at the effective sample size ``p(1-p) / V`` (Kish's design
    effect; Korn & Graubard 1998 for proportions from clustered samples), V the two-level
    variance (questions, and seeds net of per-answer noise), with the t quantile at
    Satterthwaite's df in place of z; an all-wrong row still gets a one-sided interval instead
    of [0, 0]. Other scores: the
    two-level bootstrap (harness.scoring.stats.bootstrap.seed_question_draws)."""
    mats = [np.asarray(m, dtype=float) for m in matrices]
    questions = int(sum(m.shape[1] for m in mats))
    weights = task_weights([m.shape[1] for m in mats], by_question)
    estimate = float(sum(w * m.mean() for w, m in zip(weights, mats)))
    if all(is_binary(m) for m in mats):
        q_var, seed_var, df = boot.seed_variance_parts(mats, weights)
        variance = q_var + seed_var
        n_eff, critical = float(questions), z_value(alpha)
        if 0 < estimate < 1 and variance > 0:
            n_eff = min(estimate * (1 - estimate) / variance, float(sum(m.size for m in mats)))
            critical = float(sps.t.ppf(1 - alpha / 2, df))
        low, high = wilson(estimate * n_eff, n_eff, alpha, critical=critical)
        return Interval(estimate, low, high, questions, "wilson-effective-n", 1 - alpha)
    draws = boot.seed_question_draws(mats, N_BOOT, boot.data_rng(*mats), weights)
    low, high, _ = boot.percentile_decision(draws, alpha)
    return Interval(estimate, low, high, questions, "seed-question-bootstrap", 1 - alpha)


def macro_f1_ci(gold: ArrayLike, pred: ArrayLike, *, alpha: float = ALPHA, seed: int = 0) -> Interval:
    """Macro-F1 with the bias-corrected percentile bootstrap of the metric recomputed on
    resampled questions (the plain percentile interval covered 91% at n = 48)."""
    g, p = np.asarray(gold, dtype=int), np.asarray(pred, dtype=int)
    if not g.size:
        return _EMPTY
    draws = boot.macro_f1_draws(g, p, boot.resample_weights(g.size, N_BOOT, boot.data_rng(g, p)))
    estimate = boot.macro_f1(g, p)
    low, high, _ = boot.percentile_decision(draws, alpha, estimate=estimate)
    return Interval(estimate, low, high, int(g.size), "bc-bootstrap", 1 - alpha)


# ---------------------------------------------------------------- deltas


def paired_delta(a: ArrayLike, b: ArrayLike, *, alpha: float = ALPHA, seed: int = 0) -> Delta:
    """``mean(b - a)`` over aligned questions: Tango's interval with the McNemar score p for
    0/1 scores, else the paired percentile bootstrap with its inverted p."""
    x, y = paired_arrays(a, b)
    if not x.size:
        return missing_delta(paired=True, alpha=alpha)
    estimate = float(np.mean(y - x))
    if is_binary(np.concatenate([x, y])):
        up, down, n = discordant(x, y)
        low, high = tango_interval(up, down, n, alpha)
        return Delta(estimate, low, high, mcnemar_score_p(up, down), n, "tango-mcnemar", True, alpha, level=1 - alpha)
    draws = boot.mean_draws(y - x, boot.resample_weights(x.size, N_BOOT, boot.data_rng(x, y)))
    return _delta_from_draws(estimate, draws, int(x.size), "paired-bootstrap", True, alpha)


def paired_delta_groups(a_groups: Sequence[ArrayLike], b_groups: Sequence[ArrayLike], *, alpha: float = ALPHA,
                        seed: int = 0) -> Delta:
    """Paired delta of the unweighted mean over groups (tasks); with one group the plain paired
    delta. 0/1 scores: MOVER over each task's Tango interval, p by inverting it; else a paired
    bootstrap stratified by task."""
    pairs = [p for p in (paired_arrays(a, b) for a, b in zip(a_groups, b_groups)) if p[0].size]
    if len(pairs) <= 1:
        return paired_delta(*(pairs[0] if pairs else ([], [])), alpha=alpha, seed=seed)
    weights = [1.0 / len(pairs)] * len(pairs)
    n = int(sum(x.size for x, _ in pairs))
    estimate = float(sum(w * np.mean(y - x) for w, (x, y) in zip(weights, pairs)))
    if all(is_binary(np.concatenate(p)) for p in pairs):
        counts = tuple(discordant(x, y) for x, y in pairs)
        _, low, high = _mover_tango(counts, alpha)
        return Delta(estimate, low, high, _mover_tango_p(counts), n, "mover-tango", True, alpha, level=1 - alpha)
    draws = boot.stratified_draws([y - x for x, y in pairs], N_BOOT, boot.data_rng(*(v for p in pairs for v in p)))
    return _delta_from_draws(estimate, draws, n, "paired-bootstrap", True, alpha)


def _mover_tango(counts: tuple[tuple[int, int, int], ...], alpha: float) -> tuple[float, float, float]:
    """MOVER over each task's Tango interval, tasks weighted equally; counts = (up, down, n)."""
    parts = [((u - d) / m, *tango_interval(u, d, m, alpha)) for u, d, m in counts]
    return mover(parts, [1.0 / len(counts)] * len(counts))


@functools.lru_cache(maxsize=4096)
def _mover_tango_p(counts: tuple[tuple[int, int, int], ...]) -> float:
    """Its p by inversion (cached: Holm recomputes a family's intervals at several levels)."""
    return p_by_inversion(lambda al: _mover_tango(counts, al))


def seeds_paired_delta(pairs: Sequence[tuple[np.ndarray, np.ndarray]], *, alpha: float = ALPHA,
                       seed: int = 0) -> Delta:
    """Delta of the mean over tasks when a side has several fine-tuning seeds. Each task is a
    (reference, candidate) pair of seeds × questions matrices on the same questions (a single
    seed is a 1 × questions row); seed k of one side is paired with seed k of the other (the
    same adapter, or the same training seed). The two-level bootstrap runs on the per-answer
    differences, so questions are paired and the seeds' variance is that of the difference."""
    diffs = [_seed_difference(np.asarray(r, dtype=float), np.asarray(c, dtype=float)) for r, c in pairs]
    draws = boot.seed_question_draws(diffs, N_BOOT, boot.data_rng(*diffs))
    estimate = float(np.mean([d.mean() for d in diffs]))
    return _delta_from_draws(estimate, draws, int(sum(d.shape[1] for d in diffs)), "seed-question-bootstrap",
                             True, alpha)


def _seed_difference(ref: np.ndarray, cand: np.ndarray) -> np.ndarray:
    ref, cand = np.atleast_2d(ref), np.atleast_2d(cand)
    if ref.shape[1] != cand.shape[1]:
        raise ValueError(f"paired seed matrices cover different questions: {ref.shape[1]} vs {cand.shape[1]}")
    if ref.shape[0] > 1 and cand.shape[0] > 1 and ref.shape[0] != cand.shape[0]:
        raise ValueError(f"both sides have several seeds but not the same number: {ref.shape[0]} vs {cand.shape[0]}")
    return cand - ref


def macro_f1_delta(gold: ArrayLike, pred_a: ArrayLike, pred_b: ArrayLike, *, alpha: float = ALPHA,
                   seed: int = 0) -> Delta:
    """Macro-F1 of b minus a on the same questions: bias-corrected paired bootstrap (questions
    resampled jointly), p by inverting it."""
    g, pa, pb = (np.asarray(v, dtype=int) for v in (gold, pred_a, pred_b))
    w = boot.resample_weights(g.size, N_BOOT, boot.data_rng(g, pa, pb))
    draws = boot.macro_f1_draws(g, pb, w) - boot.macro_f1_draws(g, pa, w)
    estimate = boot.macro_f1(g, pb) - boot.macro_f1(g, pa)
    return _delta_from_draws(estimate, draws, int(g.size), "bc-paired-bootstrap", True, alpha, bias_corrected=True)


def unpaired_delta(a: ArrayLike, b: ArrayLike, *, alpha: float = ALPHA, seed: int = 0) -> Delta:
    """``mean(b) - mean(a)`` for different question sets: Newcombe's interval (p by inversion)
    for 0/1 scores, else the two-sample percentile bootstrap."""
    x, y = clean(a), clean(b)
    if not x.size or not y.size:
        return missing_delta(alpha=alpha)
    estimate, n = float(y.mean() - x.mean()), int(x.size + y.size)
    if is_binary(np.concatenate([x, y])):
        ka, kb = int(x.sum()), int(y.sum())
        bounds_at = lambda al: newcombe_unpaired(ka, x.size, kb, y.size, al)  # noqa: E731
        _, low, high = bounds_at(alpha)
        return Delta(estimate, low, high, p_by_inversion(bounds_at), n, "newcombe", False, alpha, level=1 - alpha)
    rng = boot.data_rng(x, y)
    draws = (boot.mean_draws(y, boot.resample_weights(y.size, N_BOOT, rng))
             - boot.mean_draws(x, boot.resample_weights(x.size, N_BOOT, rng)))
    return _delta_from_draws(estimate, draws, n, "bootstrap", False, alpha)


def normal_delta(a_mean: float, a_se: float, b_mean: float, b_se: float, *, alpha: float = ALPHA) -> Delta:
    """Delta of two aggregates known only by mean and standard error (no per-question records):
    Wald interval and the z-test it inverts."""
    estimate = b_mean - a_mean
    if math.isnan(estimate) or math.isnan(a_se) or math.isnan(b_se):
        return Delta(estimate, math.nan, math.nan, math.nan, 0, "none", False, alpha)
    se = math.hypot(a_se, b_se)
    if se == 0:  # both aggregates exact: the CI collapses onto the delta
        return Delta(estimate, estimate, estimate, 1.0 if estimate == 0 else 0.0, 0, "wald", False, alpha)
    z = z_value(alpha)
    p = float(2 * sps.norm.sf(abs(estimate) / se))
    return Delta(estimate, estimate - z * se, estimate + z * se, p, 0, "wald", False, alpha, level=1 - alpha)


# ---------------------------------------------------------------- families


DeltaAt = Callable[[float], Delta]  # the same delta computed at a given alpha


def holm_family(cells: Mapping[Hashable, DeltaAt], alpha: float = ALPHA) -> dict[Hashable, Delta]:
    """Every delta of one family (a table, a gate) with its Holm-adjusted p, its interval
    recomputed at the level of its Holm step (so it excludes 0 exactly when the adjusted p is
    below ``alpha``), and the family size."""
    first = {key: at(alpha) for key, at in cells.items()}
    keys = list(first)
    raw = [first[k].p_value for k in keys]
    adjusted, steps, m = holm_adjust(raw), holm_alphas(raw, alpha), family_size(raw)
    out: dict[Hashable, Delta] = {}
    for key, p_adj, step in zip(keys, adjusted, steps):
        delta = first[key] if math.isnan(p_adj) or step == alpha else cells[key](step)
        out[key] = replace(delta, p_value=first[key].p_value, p_adjusted=p_adj, alpha=alpha,
                           level=1 - step if not math.isnan(p_adj) else delta.level, family=m)
    return out


__all__ = ["DeltaAt", "bootstrap_ci", "groups_mean_ci", "holm_family", "macro_f1_ci", "macro_f1_delta", "mean_ci",
           "normal_delta", "paired_delta", "paired_delta_groups", "seeds_mean_ci", "seeds_paired_delta",
           "task_weights", "unpaired_delta"]
