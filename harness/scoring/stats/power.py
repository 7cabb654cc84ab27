"""How many questions a paired comparison needs, and the smallest effect a given n can see.

For a paired difference of per-question scores ``d = b - a`` tested at two-sided level alpha
(Connor 1987, "Sample size for testing differences in proportions for the paired-sample
design"; the same normal approximation covers continuous scores): detecting a true mean
difference ``delta`` with power ``1 - beta`` needs

    n = (z_{1-alpha/2} * s0 + z_{1-beta} * s1)^2 / delta^2,

with ``s0^2 = E[d^2]`` (the variance under "no difference"; for 0/1 scores the discordance rate
psi) and ``s1^2 = s0^2 - delta^2``. A pilot run estimates ``s0`` (e.g. ``eval.limit=20``); since
a difference delta needs at least a share |delta| of discordant questions, ``s0^2`` is never
taken below |delta| for 0/1 scores. A non-inferiority margin uses the one-sided form with the
true difference assumed 0: ``n = ((z_{1-alpha} + z_{1-beta}) * s0 / margin)^2``.
"""

from __future__ import annotations

import math

from scipy import optimize
from scipy import stats as sps

from harness.scoring.stats.core import ALPHA

POWER = 0.8


def _spread(null_var: float, delta: float, binary: bool) -> tuple[float, float]:
    s0sq = max(null_var, abs(delta)) if binary else null_var
    return math.sqrt(s0sq), math.sqrt(max(s0sq - delta * delta, 0.0))


def questions_needed(delta: float, null_var: float, *, binary: bool = True, alpha: float = ALPHA,
                     power: float = POWER) -> int:
    """Questions needed to detect ``delta`` at ``alpha`` with ``power`` given the pilot's
    ``null_var`` = mean squared per-question difference (discordance rate for 0/1 scores)."""
    if delta == 0 or math.isnan(delta) or math.isnan(null_var):
        return 0
    s0, s1 = _spread(null_var, delta, binary)
    if s0 == 0:
        s0 = s1 = abs(delta)  # a continuous pilot without any difference: assume |d| ~ delta
    za, zb = sps.norm.ppf(1 - alpha / 2), sps.norm.ppf(power)
    return int(math.ceil(((za * s0 + zb * s1) / delta) ** 2))


def minimum_detectable_effect(n: int, null_var: float, *, binary: bool = True, alpha: float = ALPHA,
                              power: float = POWER) -> float:
    """The smallest |delta| detected with ``power`` at ``n`` questions (nan if n is too small
    to detect even a difference on every question)."""
    if n <= 0 or math.isnan(null_var) or (not binary and null_var <= 0):
        return math.nan  # continuous scores that never differ give no spread to plan with
    za, zb = sps.norm.ppf(1 - alpha / 2), sps.norm.ppf(power)

    def shortfall(delta: float) -> float:
        s0, s1 = _spread(null_var, delta, binary)
        return math.sqrt(n) * delta - za * s0 - zb * s1

    top = 1.0 if binary else max(1.0, 10 * math.sqrt(null_var))
    if shortfall(top) < 0:
        return math.nan
    return float(optimize.brentq(shortfall, 1e-9, top, xtol=1e-6))


def margin_questions(margin: float, null_var: float, *, binary: bool = True, alpha: float = ALPHA,
                     power: float = POWER) -> int:
    """Questions needed to show non-inferiority at ``margin`` when the truth is no difference.
    For 0/1 scores never fewer than the n at which a run without one discordant question has a
    score-interval lower bound above ``-margin`` (``z^2 (1 - margin) / margin``); the normal
    formula alone would say 1 there."""
    if margin <= 0 or math.isnan(null_var):
        return 0
    s0 = math.sqrt(max(null_var, 1e-12))
    za, zb = sps.norm.ppf(1 - alpha / 2), sps.norm.ppf(power)  # two-sided CI bound, as the gate reads it
    need = int(math.ceil(((za + zb) * s0 / margin) ** 2))
    return max(need, int(math.ceil(za * za * (1 - margin) / margin))) if binary else need


__all__ = ["POWER", "margin_questions", "minimum_detectable_effect", "questions_needed"]
