"""Uncertainty for per-sample scores: bootstrap CIs and paired tests between conditions.

A leaderboard over a few hundred questions moves by several points from noise alone, so every
number the harness reports carries a 95% interval, and every delta between two conditions
evaluated on the same questions is tested *paired* (per question), which is far more
sensitive than comparing two independent means. Everything is seeded: the same inputs and seed
give the same intervals and p-values, so a rebuilt leaderboard is byte-identical.

Conventions: intervals are percentile bootstrap intervals; a delta is ``b - a`` (candidate
minus reference); a delta counts as significant only when its CI excludes zero *and* its
p-value is below ``alpha`` (the two agree almost always; requiring both keeps borderline
cases conservative).
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats as sps

ALPHA = 0.05
N_BOOT = 2000
N_PERM = 10000
EXACT_SIGN_FLIP_MAX = 16  # enumerate all 2^k sign flips up to this many non-zero differences
_CHUNK = 2000
_TIE_EPS = 1e-12

ArrayLike = Sequence[float] | np.ndarray


@dataclass(frozen=True)
class Interval:
    """A point estimate with its confidence interval and the sample size behind it."""

    estimate: float
    low: float
    high: float
    n: int

    def covers(self, value: float) -> bool:
        return self.low - _TIE_EPS <= value <= self.high + _TIE_EPS


@dataclass(frozen=True)
class Delta:
    """``b - a`` with its CI, a p-value for "no difference", and how it was obtained."""

    estimate: float
    low: float
    high: float
    p_value: float
    n: int
    test: str
    paired: bool
    alpha: float = ALPHA

    @property
    def significant(self) -> bool:
        if any(math.isnan(x) for x in (self.low, self.high, self.p_value)):
            return False
        return (self.low > 0 or self.high < 0) and self.p_value < self.alpha


def stable_seed(*parts: object, base: int = 0) -> int:
    """A seed derived from names (not from iteration order), so one cell's CI never depends on
    which other cells were computed before it."""
    return (base * 1_000_003 + zlib.crc32("\x1f".join(map(str, parts)).encode())) % (2**32)


def _clean(values: ArrayLike) -> np.ndarray:
    arr = np.asarray(values, dtype=float).ravel()
    return arr[~np.isnan(arr)]


def is_binary(values: ArrayLike) -> bool:
    """True when every score is 0 or 1 (accuracy-like metrics: McNemar applies)."""
    arr = np.asarray(values, dtype=float)
    return arr.size > 0 and bool(np.all((arr == 0) | (arr == 1)))


def _percentile(samples: np.ndarray, alpha: float) -> tuple[float, float]:
    low, high = np.quantile(samples, [alpha / 2, 1 - alpha / 2])
    return float(low), float(high)


def _boot_means(groups: Sequence[np.ndarray], weights: Sequence[float], n_boot: int,
                rng: np.random.Generator) -> np.ndarray:
    """Stratified bootstrap: resample each group on its own, combine the group means by weight."""
    total = np.zeros(n_boot)
    for group, weight in zip(groups, weights):
        idx = rng.integers(0, group.size, size=(n_boot, group.size))
        total += weight * group[idx].mean(axis=1)
    return total


def bootstrap_ci(values: ArrayLike, *, n_boot: int = N_BOOT, alpha: float = ALPHA, seed: int = 0) -> Interval:
    """95% (by default) percentile bootstrap CI of the mean of per-sample scores."""
    arr = _clean(values)
    if arr.size == 0:
        return Interval(math.nan, math.nan, math.nan, 0)
    rng = np.random.default_rng(seed)
    low, high = _percentile(_boot_means([arr], [1.0], n_boot, rng), alpha)
    return Interval(float(arr.mean()), low, high, int(arr.size))


def stratified_bootstrap_ci(groups: Sequence[ArrayLike], *, n_boot: int = N_BOOT, alpha: float = ALPHA,
                            seed: int = 0) -> Interval:
    """CI of the unweighted mean of group means (e.g. the leaderboard's mean over tasks): each
    task is resampled within itself so a large task does not dominate."""
    arrays = [_clean(g) for g in groups]
    arrays = [a for a in arrays if a.size]
    if not arrays:
        return Interval(math.nan, math.nan, math.nan, 0)
    weights = [1.0 / len(arrays)] * len(arrays)
    rng = np.random.default_rng(seed)
    low, high = _percentile(_boot_means(arrays, weights, n_boot, rng), alpha)
    estimate = float(sum(w * a.mean() for w, a in zip(weights, arrays)))
    return Interval(estimate, low, high, int(sum(a.size for a in arrays)))


def mcnemar_exact(a: ArrayLike, b: ArrayLike) -> tuple[int, int, float]:
    """Exact McNemar test for paired 0/1 outcomes: (a right & b wrong, a wrong & b right,
    two-sided p). Only the discordant pairs carry information; under H0 each is a fair coin."""
    x, y = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if x.shape != y.shape:
        raise ValueError(f"paired arrays differ in length: {x.size} vs {y.size}")
    only_a = int(np.sum((x == 1) & (y == 0)))
    only_b = int(np.sum((x == 0) & (y == 1)))
    n = only_a + only_b
    if n == 0:
        return only_a, only_b, 1.0
    p = sps.binomtest(min(only_a, only_b), n, 0.5, alternative="two-sided").pvalue
    return only_a, only_b, float(min(1.0, p))


def sign_flip_test(diffs: ArrayLike, weights: ArrayLike | None = None, *, n_perm: int = N_PERM,
                   seed: int = 0) -> float:
    """Two-sided paired permutation test of ``sum(w * d) == 0`` by flipping the sign of each
    difference. Exact (all 2^k flips) when few differences are non-zero; else Monte Carlo with
    the +1 correction, so p is never 0."""
    d = np.asarray(diffs, dtype=float).ravel()
    w = np.full(d.size, 1.0 / max(d.size, 1)) if weights is None else np.asarray(weights, dtype=float).ravel()
    keep = (d != 0) & ~np.isnan(d)
    d = d[keep] * w[keep]
    k = d.size
    if k == 0:
        return 1.0
    observed = abs(d.sum()) - _TIE_EPS
    if k <= EXACT_SIGN_FLIP_MAX:
        signs = 1 - 2 * ((np.arange(2**k)[:, None] >> np.arange(k)) & 1)
        return float(np.mean(np.abs(signs @ d) >= observed))
    rng = np.random.default_rng(seed)
    hits, done = 0, 0
    while done < n_perm:
        m = min(_CHUNK, n_perm - done)
        signs = rng.choice(np.array([-1.0, 1.0]), size=(m, k))
        hits += int(np.sum(np.abs(signs @ d) >= observed))
        done += m
    return (hits + 1) / (n_perm + 1)


def paired_delta(a: ArrayLike, b: ArrayLike, *, n_boot: int = N_BOOT, n_perm: int = N_PERM,
                 alpha: float = ALPHA, seed: int = 0) -> Delta:
    """``mean(b - a)`` over aligned samples: paired bootstrap CI, and McNemar exact p for 0/1
    scores or a sign-flip permutation p for continuous ones."""
    return paired_delta_groups([a], [b], n_boot=n_boot, n_perm=n_perm, alpha=alpha, seed=seed)


def paired_delta_groups(a_groups: Sequence[ArrayLike], b_groups: Sequence[ArrayLike], *, n_boot: int = N_BOOT,
                        n_perm: int = N_PERM, alpha: float = ALPHA, seed: int = 0) -> Delta:
    """Paired delta of the mean over groups (tasks), each group weighted equally; with one
    group this is the plain paired delta. Pairs with a missing score on either side are dropped."""
    diffs, pairs = [], []
    for a, b in zip(a_groups, b_groups):
        x, y = np.asarray(a, dtype=float).ravel(), np.asarray(b, dtype=float).ravel()
        if x.shape != y.shape:
            raise ValueError(f"paired arrays differ in length: {x.size} vs {y.size}")
        ok = ~(np.isnan(x) | np.isnan(y))
        if ok.any():
            diffs.append(y[ok] - x[ok])
            pairs.append((x[ok], y[ok]))
    if not diffs:
        return Delta(math.nan, math.nan, math.nan, math.nan, 0, "none", True, alpha)
    weights = [1.0 / len(diffs)] * len(diffs)
    rng = np.random.default_rng(seed)
    low, high = _percentile(_boot_means(diffs, weights, n_boot, rng), alpha)
    estimate = float(sum(w * d.mean() for w, d in zip(weights, diffs)))
    n = int(sum(d.size for d in diffs))
    if len(pairs) == 1 and is_binary(np.concatenate(pairs[0])):
        _, _, p = mcnemar_exact(*pairs[0])
        test = "mcnemar-exact"
    else:
        per_sample = np.concatenate([np.full(d.size, w / d.size) for d, w in zip(diffs, weights)])
        p = sign_flip_test(np.concatenate(diffs), per_sample, n_perm=n_perm, seed=seed + 1)
        test = "sign-flip"
    return Delta(estimate, low, high, p, n, test, True, alpha)


def unpaired_delta(a: ArrayLike, b: ArrayLike, *, n_boot: int = N_BOOT, n_perm: int = N_PERM,
                   alpha: float = ALPHA, seed: int = 0) -> Delta:
    """``mean(b) - mean(a)`` for samples that cannot be aligned: independent bootstrap CI and a
    two-sample label-permutation p-value."""
    x, y = _clean(a), _clean(b)
    if x.size == 0 or y.size == 0:
        return Delta(math.nan, math.nan, math.nan, math.nan, 0, "none", False, alpha)
    rng = np.random.default_rng(seed)
    boot = _boot_means([y], [1.0], n_boot, rng) - _boot_means([x], [1.0], n_boot, rng)
    low, high = _percentile(boot, alpha)
    estimate = float(y.mean() - x.mean())
    pooled = np.concatenate([x, y])
    hits, done = 0, 0
    while done < n_perm:
        m = min(_CHUNK, n_perm - done)
        perm = rng.permuted(np.broadcast_to(pooled, (m, pooled.size)), axis=1)
        stat = perm[:, x.size:].mean(axis=1) - perm[:, :x.size].mean(axis=1)
        hits += int(np.sum(np.abs(stat) >= abs(estimate) - _TIE_EPS))
        done += m
    p = (hits + 1) / (n_perm + 1)
    return Delta(estimate, low, high, p, int(x.size + y.size), "permutation", False, alpha)


def normal_delta(a_mean: float, a_se: float, b_mean: float, b_se: float, *, alpha: float = ALPHA) -> Delta:
    """Delta of two aggregates known only by mean and standard error (a baseline stored without
    samples): normal-approximation CI and two-sided z-test."""
    estimate = b_mean - a_mean
    if math.isnan(estimate):
        return Delta(math.nan, math.nan, math.nan, math.nan, 0, "normal", False, alpha)
    if math.isnan(a_se) or math.isnan(b_se):  # e.g. macro-F1: lm-eval reports no stderr; no test, never "significant"
        return Delta(estimate, math.nan, math.nan, math.nan, 0, "normal", False, alpha)
    se = math.hypot(a_se, b_se)
    if se == 0:  # both aggregates exact: the CI collapses onto the delta
        return Delta(estimate, estimate, estimate, 1.0 if estimate == 0 else 0.0, 0, "normal", False, alpha)
    z = sps.norm.ppf(1 - alpha / 2)
    p = float(2 * sps.norm.sf(abs(estimate) / se))
    return Delta(estimate, estimate - z * se, estimate + z * se, p, 0, "normal", False, alpha)


def align(a: Mapping[str, float], b: Mapping[str, float]) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Scores of the ids both sides have, in a fixed (sorted) order: the pairing for a paired test."""
    ids = sorted(set(a) & set(b))
    return ids, np.array([a[i] for i in ids], dtype=float), np.array([b[i] for i in ids], dtype=float)
