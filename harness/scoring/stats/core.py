"""The two results every statistical procedure returns, and the helpers they share.

An :class:`Interval` is a point estimate with its confidence interval; a :class:`Delta` is a
difference ``b - a`` with its interval *and* the p-value of the same procedure, so the two can
never disagree: every procedure in this package either inverts its own interval to get ``p``
(bootstrap, MOVER) or is a test whose inversion is the interval (Tango score / McNemar, Wald).
Consequently "the CI excludes 0" and "p < alpha" are one statement. When a Delta belongs to a
family of tests (a leaderboard table, a gate's rows) the family's Holm-adjusted p is stored next
to the raw p and the interval is recomputed at the level of its Holm step
(harness.scoring.stats.multiplicity), so the printed interval and the printed mark still agree.
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
NAN = math.nan

ArrayLike = Sequence[float] | np.ndarray


@dataclass(frozen=True)
class Interval:
    """A point estimate with its confidence interval, the sample size and the method's name."""

    estimate: float
    low: float
    high: float
    n: int
    method: str = ""
    level: float = 1 - ALPHA

    def covers(self, value: float) -> bool:
        return self.low - 1e-12 <= value <= self.high + 1e-12


@dataclass(frozen=True)
class Delta:
    """``b - a`` with its CI, the p-value of the same procedure, and how it was obtained.

    ``p_adjusted`` is the Holm-adjusted p within the family the delta was reported in (nan when
    it was tested alone) and ``level`` the confidence level of ``low``/``high``: 0.95 alone, the
    level of its Holm step inside a family."""

    estimate: float
    low: float
    high: float
    p_value: float
    n: int
    test: str
    paired: bool
    alpha: float = ALPHA
    p_adjusted: float = NAN
    level: float = 1 - ALPHA
    family: int = 1

    @property
    def p(self) -> float:
        """The p-value significance is read from: adjusted within a family, else raw."""
        return self.p_value if math.isnan(self.p_adjusted) else self.p_adjusted

    @property
    def significant(self) -> bool:
        if any(math.isnan(x) for x in (self.low, self.high, self.p)):
            return False
        return self.p < self.alpha


def missing_delta(estimate: float = NAN, *, paired: bool = False, alpha: float = ALPHA) -> Delta:
    """A delta whose uncertainty is unknown (no per-question scores, no stderr): never significant."""
    return Delta(estimate, NAN, NAN, NAN, 0, "none", paired, alpha)


def z_value(alpha: float) -> float:
    """The two-sided standard-normal critical value for level ``1 - alpha``."""
    return float(sps.norm.ppf(1 - alpha / 2))


def stable_seed(*parts: object, base: int = 0) -> int:
    """A seed derived from names (not from iteration order), so one cell's CI never depends on
    which other cells were computed before it."""
    return (base * 1_000_003 + zlib.crc32("\x1f".join(map(str, parts)).encode())) % (2**32)


def clean(values: ArrayLike) -> np.ndarray:
    """The non-nan values as a flat float array."""
    arr = np.asarray(values, dtype=float).ravel()
    return arr[~np.isnan(arr)]


def is_binary(values: ArrayLike) -> bool:
    """True when every score is 0 or 1 (accuracy-like metrics: the proportion methods apply)."""
    arr = np.asarray(values, dtype=float)
    return arr.size > 0 and bool(np.all((arr == 0) | (arr == 1)))


def align(a: Mapping[str, float], b: Mapping[str, float]) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Scores of the ids both sides have, in a fixed (sorted) order: the pairing for a paired test."""
    ids = sorted(set(a) & set(b))
    return ids, np.array([a[i] for i in ids], dtype=float), np.array([b[i] for i in ids], dtype=float)


def paired_arrays(a: ArrayLike, b: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """Two aligned score arrays with the pairs that miss a score on either side dropped."""
    x, y = np.asarray(a, dtype=float).ravel(), np.asarray(b, dtype=float).ravel()
    if x.shape != y.shape:
        raise ValueError(f"paired arrays differ in length: {x.size} vs {y.size}")
    ok = ~(np.isnan(x) | np.isnan(y))
    return x[ok], y[ok]


__all__ = ["ALPHA", "N_BOOT", "ArrayLike", "Delta", "Interval", "align", "clean", "is_binary",
           "missing_delta", "paired_arrays", "stable_seed", "z_value"]
