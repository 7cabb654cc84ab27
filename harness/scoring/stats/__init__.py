"""Uncertainty for per-question scores: the pure numeric layer under every report and the gate.

A leaderboard over a few dozen questions moves by several points from noise alone, so every
number the harness prints carries a 95% interval, every delta between two conditions that
answered the same questions is tested question by question, and a table of many deltas is one
family under Holm's adjustment. Each procedure names its method and reference in its
docstring (procedures.py has the table of which claim uses which); everything is seeded, so the
same inputs give byte-identical reports.

Conventions: a delta is ``b - a`` (candidate minus reference); the p-value of a delta comes from
the same procedure as its interval, so "CI excludes 0" and "p < alpha" never disagree.
"""

from harness.scoring.stats.core import (
    ALPHA,
    N_BOOT,
    ArrayLike,
    Delta,
    Interval,
    align,
    clean,
    is_binary,
    missing_delta,
    paired_arrays,
    stable_seed,
    z_value,
)
from harness.scoring.stats import evidence
from harness.scoring.stats.evidence import Evidence
from harness.scoring.stats.matched import mcnemar_exact, mcnemar_score_p, tango_interval
from harness.scoring.stats.multiplicity import holm_adjust, holm_alphas
from harness.scoring.stats.power import margin_questions, minimum_detectable_effect, questions_needed
from harness.scoring.stats.procedures import (
    DeltaAt,
    bootstrap_ci,
    groups_mean_ci,
    holm_family,
    macro_f1_ci,
    macro_f1_delta,
    mean_ci,
    normal_delta,
    paired_delta,
    paired_delta_groups,
    seeds_mean_ci,
    seeds_paired_delta,
    unpaired_delta,
)
from harness.scoring.stats.proportions import clopper_pearson, jeffreys, mover, newcombe_unpaired, wilson

__all__ = ["ALPHA", "N_BOOT", "ArrayLike", "Delta", "DeltaAt", "Evidence", "evidence", "Interval", "align", "bootstrap_ci", "clean",
           "clopper_pearson", "groups_mean_ci", "jeffreys", "holm_adjust", "holm_alphas", "holm_family", "is_binary",
           "macro_f1_ci", "macro_f1_delta", "margin_questions", "mcnemar_exact", "mcnemar_score_p", "mean_ci",
           "minimum_detectable_effect", "missing_delta", "mover", "newcombe_unpaired", "normal_delta",
           "paired_arrays", "paired_delta", "paired_delta_groups", "questions_needed", "seeds_mean_ci",
           "seeds_paired_delta", "stable_seed", "tango_interval", "unpaired_delta", "wilson", "z_value"]
