"""Coverage of every interval the reports print, and how the old ones compared (docs/statistics.md).

    .venv/bin/python bench/bench_stats.py [--reps 400] [--json out.json]

Exact where the outcome space can be enumerated (Wilson, MOVER-Jeffreys, Tango, Newcombe, the
old percentile bootstrap's 0/1 case by simulation), seeded simulation otherwise (continuous
bootstrap, macro-F1, three seeds). Single-proportion coverage is averaged over p within ±25% of
the cell's p (the discreteness of the count makes the coverage at one exact p jump; see
tests/test_stats_coverage.py); the paired cells report the no-change case with independent
errors. Deterministic: the same numbers on every machine.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

import numpy as np
from scipy import stats as sps
from scipy.special import expit

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from harness.scoring import stats  # noqa: E402
from harness.scoring.stats.matched import tango_statistic  # noqa: E402

NS = (36, 48, 120)
PS = (0.02, 0.1, 0.5, 0.9, 0.98)


def _band(p: float) -> np.ndarray:
    if p <= 0.5:
        return np.linspace(0.75 * p, min(1.25 * p, 0.5), 11)
    return 1 - np.linspace(0.75 * (1 - p), min(1.25 * (1 - p), 0.5), 11)


def wilson(n: int, p: float) -> float:
    k = np.arange(n + 1)
    bounds = [stats.wilson(int(x), n) for x in k]
    return float(np.mean([sum(w for (lo, hi), w in zip(bounds, sps.binom.pmf(k, n, q)) if lo - 1e-12 <= q <= hi + 1e-12)
                          for q in _band(p)]))


def mover_jeffreys(n: int, p: float) -> float:
    k = np.arange(n + 1)
    parts = [(x / n, *stats.jeffreys(int(x), n)) for x in k]
    bounds = np.array([[stats.mover([parts[i], parts[j]], [0.5, 0.5])[1:] for j in k] for i in k])
    out = []
    for q in _band(p)[::2]:
        pmf = sps.binom.pmf(k, n, q)
        out.append(float(pmf @ ((bounds[..., 0] - 1e-12 <= q) & (q <= bounds[..., 1] + 1e-12)) @ pmf))
    return float(np.mean(out))


def tango(n: int, p: float) -> float:
    up_p = down_p = p * (1 - p)  # the same rate, independent errors: no change
    z, cover = stats.z_value(0.05), 0.0
    for up in range(n + 1):
        downs = np.arange(n + 1 - up)
        pmf = sps.multinomial.pmf(np.stack([np.full(downs.size, up), downs, n - up - downs], 1), n,
                                  [up_p, down_p, 1 - up_p - down_p])
        cover += float(np.sum(pmf[[abs(tango_statistic(up, int(d), n, 0.0)) <= z + 1e-9 for d in downs]]))
    return cover


def old_percentile(n: int, p: float, reps: int) -> float:
    rng = np.random.default_rng(n)
    return float(np.mean([stats.bootstrap_ci((rng.random(n) < p).astype(float), seed=r).covers(p) for r in range(reps)]))


def macro_f1(n: int, reps: int) -> float:
    rng = np.random.default_rng(n)
    hits = 0
    for r in range(reps):
        gold = rng.integers(0, 6, n)
        pred = np.where(rng.random(n) < 0.6, gold, (gold + rng.integers(1, 6, n)) % 6)
        hits += stats.macro_f1_ci(gold, pred, seed=r).covers(0.6)
    return hits / reps


def seeds(n: int, p: float, reps: int, tau: float, naive: bool = False) -> float:
    rng, logit = np.random.default_rng(n), math.log(p / (1 - p))
    big = np.random.default_rng(0)
    truth = float(expit(logit + big.standard_normal(400_000) + tau * big.standard_normal(400_000)).mean())
    hits = 0
    for r in range(reps):
        a, u = logit + rng.standard_normal(n), tau * rng.standard_normal(3)
        m = (rng.random((3, n)) < expit(a[None, :] + u[:, None])).astype(float)
        ci = stats.bootstrap_ci(m.mean(0), seed=r) if naive else stats.seeds_mean_ci([m], seed=r)
        hits += ci.covers(truth)
    return hits / reps


def measure(reps: int) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    for n in NS:
        for p in PS:
            cell = f"n={n} p={p}"
            out.setdefault("Wilson (value, 0/1)", {})[cell] = wilson(n, p)
            out.setdefault("MOVER-Jeffreys (mean of 2 tasks)", {})[cell] = mover_jeffreys(n, p)
            out.setdefault("Tango (paired Δ, no change)", {})[cell] = tango(n, p)
            out.setdefault("old: percentile bootstrap (value, 0/1)", {})[cell] = old_percentile(n, p, reps)
        out.setdefault("BC bootstrap (macro-F1, 6 classes)", {})[f"n={n}"] = macro_f1(n, reps)
        for p in (0.1, 0.5, 0.9):
            for tau, label in ((0.3, "~6 pp"), (0.6, "~12 pp")):
                out.setdefault(f"two-level (3 seeds, seed std {label})", {})[f"n={n} p={p}"] = seeds(n, p, reps, tau)
                out.setdefault(f"old: seed-mean bootstrap (3 seeds, seed std {label})", {})[f"n={n} p={p}"] = \
                    seeds(n, p, reps // 2, tau, naive=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=400)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    results = measure(args.reps)
    print(f"| interval | min | max | cells (reps={args.reps} where simulated) |\n|:--|--:|--:|:--|")
    for name, cells in results.items():
        values = list(cells.values())
        print(f"| {name} | {min(values):.3f} | {max(values):.3f} | {len(values)} |")
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
