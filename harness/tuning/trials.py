"""Trial bookkeeping: each arm's trials with their dev scores, the pick, and how stable the verdict is.

Pure (plain numbers in, plain data out), so the choice and the stability share are tested
without a model. The pick is the highest dev score, ties going to the earlier trial in grid
order (so a rerun picks the same one). Verdict stability is the share of (FT trial, RAG trial)
pairs whose sign of (RAG dev score − FT dev score) equals the sign of the chosen pair's; a
difference of exactly zero is its own sign (a tie), so a tied chosen pair only counts ties.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Trial:
    """One setting of one arm and its score on the dev questions (share answered correctly)."""

    arm: str  # "ft" | "rag"
    settings: Mapping[str, Any]
    dev_score: float
    n_dev: int
    detail: Mapping[str, Any] = field(default_factory=dict)  # e.g. the trial adapter's hash

    def to_json(self) -> dict[str, Any]:
        return {"arm": self.arm, "settings": dict(self.settings), "dev_score": self.dev_score,
                "n_dev": self.n_dev, **({"detail": dict(self.detail)} if self.detail else {})}


def best(trials: Sequence[Trial]) -> Trial:
    """The trial with the highest dev score; the first in grid order among equals."""
    if not trials:
        raise ValueError("no trials to choose from")
    return max(enumerate(trials), key=lambda it: (it[1].dev_score, -it[0]))[1]


def sign(x: float) -> int:
    return (x > 0) - (x < 0)


def stability(ft: Sequence[Trial], rag: Sequence[Trial], chosen_ft: Trial, chosen_rag: Trial) -> float | None:
    """Share of (FT, RAG) trial pairs in which sign(RAG − FT) equals the chosen pair's (None
    without trials of both arms)."""
    if not ft or not rag:
        return None
    want = sign(chosen_rag.dev_score - chosen_ft.dev_score)
    pairs = [(f, r) for f in ft for r in rag]
    return sum(sign(r.dev_score - f.dev_score) == want for f, r in pairs) / len(pairs)


@dataclass(frozen=True)
class Tuning:
    """Both arms' trials, the settings each arm got and the verdict's stability over the trials."""

    ft: list[Trial]
    rag: list[Trial]
    grid: Mapping[str, Any]  # the swept values (TuneSettings.to_dict())
    dev: Mapping[str, Any]  # DevSplit.summary()

    @property
    def chosen_ft(self) -> Trial:
        return best(self.ft)

    @property
    def chosen_rag(self) -> Trial | None:
        return best(self.rag) if self.rag else None

    @property
    def stability(self) -> float | None:
        chosen = self.chosen_rag
        return None if chosen is None else stability(self.ft, self.rag, self.chosen_ft, chosen)

    def to_json(self) -> dict[str, Any]:
        """The manifest's ``arms.tuning`` block (what the leaderboard's tuning line is drawn from)."""
        chosen_rag = self.chosen_rag
        leader = None
        if chosen_rag is not None:
            gap = chosen_rag.dev_score - self.chosen_ft.dev_score
            leader = "rag" if gap > 0 else "ft" if gap < 0 else "tie"
        return {"grid": dict(self.grid), "dev": dict(self.dev),
                "ft": {"trials": [t.to_json() for t in self.ft], "chosen": dict(self.chosen_ft.settings)},
                "rag": ({"trials": [t.to_json() for t in self.rag], "chosen": dict(chosen_rag.settings)}
                        if chosen_rag is not None else None),
                "dev_leader": leader, "verdict_stability": self.stability}


__all__ = ["Trial", "Tuning", "best", "sign", "stability"]
