"""The cost model: what a condition costs per month at a query volume, and where two lines cross.

    one-off     = (fine-tuning s + index build s) × price per hour / 3600
    per query   = model s per question × price per hour / 3600
                  + prompt tokens / 1000 × prompt price + generated tokens / 1000 × generated price
    standing    = index memory GB × memory price per GB-month (the retriever's index and passages)
    per month   = refresh_per_month × refresh + standing + queries per month × per query
    refresh     = one-off, or the churn experiment's measured update (see below)

A refresh (a document update) repeats the one-off work — re-trains the adapter (FT), re-builds
the index (RAG) — unless the run has a churn experiment (``churn``): then one refresh costs what
the churn experiment measured at its priced fraction (FT retrained from scratch on the updated
facts, RAG re-indexed incrementally). Two conditions' monthly
lines cross at the break-even volume ``(fixed_a - fixed_b) / (per_query_b - per_query_a)``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from harness.decision.inputs import ConditionCost
from harness.decision.settings import CostSettings


@dataclass(frozen=True)
class Priced:
    """A condition's cost in USD: one-off, fixed per month (refreshes), and per query."""

    one_off: float
    fixed_per_month: float
    per_query: float

    def per_month(self, queries: float) -> float:
        return self.fixed_per_month + queries * self.per_query


def price(cost: ConditionCost, settings: CostSettings, hourly: float) -> Priced:
    """USD of one condition under ``settings`` at ``hourly`` USD per machine-hour."""
    one_off = (cost.finetune_s + cost.index_s) * hourly / 3600
    tokens = sum(0.0 if math.isnan(n) else n / 1000 * p for n, p in (
        (cost.prompt_tokens, settings.prompt_price_per_1k), (cost.generated_tokens, settings.generated_price_per_1k)))
    seconds = 0.0 if math.isnan(cost.seconds_per_query) else cost.seconds_per_query
    memory = 0.0 if math.isnan(cost.index_memory_bytes) else cost.index_memory_bytes / 1e9
    refresh = one_off if cost.refresh_s is None else cost.refresh_s * hourly / 3600
    fixed = settings.refresh_per_month * refresh + memory * settings.memory_price_per_gb_month
    return Priced(one_off, fixed, seconds * hourly / 3600 + tokens)


def break_even(a: Priced, b: Priced) -> float | None:
    """Queries per month above which the one with the higher fixed and lower per-query cost is
    cheaper (None when one is cheaper at every volume)."""
    if a.per_query == b.per_query:
        return None
    volume = (a.fixed_per_month - b.fixed_per_month) / (b.per_query - a.per_query)
    return volume if volume > 0 else None


def cheapest(names: list[str], priced: Mapping[str, Priced], queries: float) -> str:
    """The condition of ``names`` with the lowest monthly cost at ``queries`` (ties: first)."""
    return min(names, key=lambda n: (priced[n].per_month(queries), names.index(n)))


__all__ = ["Priced", "break_even", "cheapest", "price"]
