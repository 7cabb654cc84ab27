"""Paired 0/1 outcomes (two conditions, the same questions): Tango's score interval and the
McNemar score test it inverts.

Only the discordant questions carry information about the difference: ``up`` = the candidate
right where the reference was wrong, ``down`` = the reverse, out of ``n`` questions.

- **Tango's asymptotic score interval** (Tango 1998, "Equivalence test and confidence interval
  for the difference in proportions for the paired-sample design"; recommended by Fagerland,
  Lydersen & Laake 2014, "Recommended tests and confidence intervals for paired binomial
  proportions"): the set of differences delta the score test does not reject.
- **McNemar's asymptotic test without continuity correction** is that score test at delta = 0:
  ``z = (up - down) / sqrt(up + down)`` (Fagerland, Lydersen & Laake 2013 show it keeps its
  level and is more powerful than the exact conditional test). Because the interval is the
  inverted test, "interval excludes 0" and "p < alpha" are the same event — the exact McNemar
  p the harness printed before could call a delta "ns" whose bootstrap CI excluded 0.
- ``mcnemar_exact``: the exact conditional test, kept for users who want it.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import optimize
from scipy import stats as sps

from harness.scoring.stats.core import ALPHA, ArrayLike, z_value

_EDGE = 1e-12


def discordant(a: ArrayLike, b: ArrayLike) -> tuple[int, int, int]:
    """(up, down, n) for aligned 0/1 arrays: b right & a wrong, a right & b wrong, pairs."""
    x, y = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if x.shape != y.shape:
        raise ValueError(f"paired arrays differ in length: {x.size} vs {y.size}")
    return int(np.sum((y == 1) & (x == 0))), int(np.sum((x == 1) & (y == 0))), int(x.size)


def tango_statistic(up: int, down: int, n: int, delta: float) -> float:
    """Tango's score statistic for H0: P(up) - P(down) = delta (decreasing in delta)."""
    a = 2.0 * n
    b = -up - down + (2.0 * n - up + down) * delta
    c = -down * delta * (1 - delta)
    p21 = (math.sqrt(max(b * b - 4 * a * c, 0.0)) - b) / (2 * a)  # restricted MLE of P(down)
    var = n * (2 * p21 + delta * (1 - delta))
    num = up - down - n * delta
    if var <= 0:
        return 0.0 if num == 0 else math.copysign(math.inf, num)
    return num / math.sqrt(var)


def _bound(up: int, down: int, n: int, target: float, lo: float, hi: float, fallback: float) -> float:
    f = lambda d: tango_statistic(up, down, n, d) - target  # noqa: E731
    f_lo, f_hi = f(lo), f(hi)
    if f_lo * f_hi > 0:
        return fallback
    return float(optimize.brentq(f, lo, hi, xtol=1e-12))


def tango_interval(up: int, down: int, n: int, alpha: float = ALPHA) -> tuple[float, float]:
    """Tango's score interval for the paired difference ``(up - down) / n``."""
    if n <= 0:
        return math.nan, math.nan
    z, est = z_value(alpha), (up - down) / n
    low = _bound(up, down, n, z, -1 + _EDGE, est, -1.0) if est > -1 else -1.0
    high = _bound(up, down, n, -z, est, 1 - _EDGE, 1.0) if est < 1 else 1.0
    return low, high


def mcnemar_score_p(up: int, down: int) -> float:
    """Two-sided p of McNemar's asymptotic test (Tango's score test at delta = 0)."""
    if up + down == 0:
        return 1.0
    z = abs(up - down) / math.sqrt(up + down)
    return float(min(1.0, 2 * sps.norm.sf(z)))


def mcnemar_exact(a: ArrayLike, b: ArrayLike) -> tuple[int, int, float]:
    """Exact conditional McNemar test: (a right & b wrong, a wrong & b right, two-sided p)."""
    up, down, _ = discordant(a, b)
    if up + down == 0:
        return down, up, 1.0
    p = sps.binomtest(min(up, down), up + down, 0.5, alternative="two-sided").pvalue
    return down, up, float(min(1.0, p))


__all__ = ["discordant", "mcnemar_exact", "mcnemar_score_p", "tango_interval", "tango_statistic"]
