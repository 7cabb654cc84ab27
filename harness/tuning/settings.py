"""The typed settings of the two arms' equal-effort checks: ``finetune.tune`` with ``retriever.tune``
(one shared tuning budget) and ``finetune.recall`` (the adapter's recall on its own training set).

Why a module of its own at the bottom of the import graph (errors only): :mod:`harness.spec`
builds these from the config before any stage runs, so a bad value is one message naming the
field, and the settings stay out of the sections the spec hash has always been computed over
(``tune: null`` and the default recall settings hash exactly as before they existed).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from harness.errors import HarnessError

RECALL_DEFAULTS: dict[str, Any] = {"n": 60, "warn_below": 0.9}
FT_TUNE_KEYS = ("epochs", "lr", "dev_share", "dev_by")
RAG_TUNE_KEYS = ("kinds", "top_k")
DEFAULT_RAG_GRID: dict[str, Any] = {"kinds": ["bm25", "dense"], "top_k": [1, 3]}
DEV_BY = ("paraphrase", "fact")
TUNABLE_KINDS = ("dense", "bm25", "hybrid")


@dataclass(frozen=True)
class RecallSettings:
    """How many training questions the adapter is asked back (``n``, drawn with the run seed) and
    the recall below which the leaderboard warns that the FT row measures under-training."""

    n: int = 60
    warn_below: float = 0.9

    @classmethod
    def from_dict(cls, given: Mapping[str, Any] | None) -> RecallSettings:
        values = dict(given or {})
        unknown = sorted(set(values) - set(RECALL_DEFAULTS))
        if unknown:
            raise HarnessError(f"finetune.recall: unknown setting(s) {unknown}; known: {sorted(RECALL_DEFAULTS)}")
        values = {**RECALL_DEFAULTS, **{k: v for k, v in values.items() if v is not None}}
        n = _number("finetune.recall.n", values["n"], int)
        warn = _number("finetune.recall.warn_below", values["warn_below"], float)
        if not 1 <= n <= 1000:
            raise HarnessError(f"finetune.recall.n={n}: expected 1..1000 training questions")
        if not 0.0 <= warn <= 1.0:
            raise HarnessError(f"finetune.recall.warn_below={warn}: expected a share in [0, 1]")
        return cls(n=n, warn_below=warn)

    @property
    def is_default(self) -> bool:
        return self.to_dict() == RECALL_DEFAULTS

    def to_dict(self) -> dict[str, Any]:
        return {"n": self.n, "warn_below": self.warn_below}


@dataclass(frozen=True)
class TuneSettings:
    """One tuning budget for both arms: the FT grid (``epochs`` × ``lr``) and as many retriever
    settings (``kinds`` × ``top_k``), all scored on one dev split of the training questions."""

    epochs: tuple[float, ...]
    lr: tuple[float, ...]
    dev_share: float = 0.2
    dev_by: str = "paraphrase"  # paraphrase: hold out one question of a fact; fact: all of them
    kinds: tuple[str, ...] = ()  # empty: the grid has no RAG condition (FT is tuned alone)
    top_k: tuple[int, ...] = ()

    @property
    def ft_grid(self) -> list[dict[str, float]]:
        """The FT trials in grid order (epochs outer, lr inner)."""
        return [{"epochs": e, "lr": lr} for e in self.epochs for lr in self.lr]

    @property
    def rag_grid(self) -> list[dict[str, Any]]:
        """The RAG trials in grid order (top_k outer, kind inner)."""
        return [{"kind": kind, "top_k": k} for k in self.top_k for kind in self.kinds]

    def to_dict(self) -> dict[str, Any]:
        """What the spec hashes and the manifest records."""
        out: dict[str, Any] = {"epochs": list(self.epochs), "lr": list(self.lr), "dev_share": self.dev_share,
                               "dev_by": self.dev_by}
        if self.kinds:
            out |= {"kinds": list(self.kinds), "top_k": list(self.top_k)}
        return out


def _number(name: str, value: Any, kind: type) -> Any:
    """``value`` as an int or float, else one HarnessError naming ``name``."""
    try:
        if isinstance(value, bool):
            raise ValueError
        number = kind(float(value)) if isinstance(value, str) else kind(value)
        if kind is int and float(value) != number:
            raise ValueError
        return number
    except (TypeError, ValueError):
        raise HarnessError(f"{name}={value!r}: expected {'an integer' if kind is int else 'a number'}") from None


def _values(name: str, given: Any, kind: type) -> tuple[Any, ...]:
    """A non-empty list of distinct positive numbers (a single number is a list of one)."""
    items = list(given) if isinstance(given, Sequence) and not isinstance(given, str) else [given]
    numbers = tuple(_number(name, v, kind) for v in items)
    if not numbers or any(n <= 0 for n in numbers) or len(set(numbers)) != len(numbers):
        raise HarnessError(f"{name}={given!r}: expected a non-empty list of distinct numbers > 0, e.g. [3, 8]")
    return numbers


def _mapping(name: str, given: Any, keys: Sequence[str]) -> dict[str, Any]:
    if not isinstance(given, Mapping):
        raise HarnessError(f"{name}={given!r}: expected a mapping like "
                           + ("{epochs: [3, 8], lr: [1e-3, 2e-3]}" if name.startswith("finetune")
                              else "{kinds: [bm25, dense], top_k: [1, 3]}") + " or null")
    unknown = sorted(set(given) - set(keys))
    if unknown:
        raise HarnessError(f"{name}: unknown setting(s) {unknown}; known: {sorted(keys)}")
    return dict(given)


def _rag_grid(given: Any) -> tuple[tuple[str, ...], tuple[int, ...]]:
    values = _mapping("retriever.tune", given, RAG_TUNE_KEYS)
    if set(values) != set(RAG_TUNE_KEYS):
        raise HarnessError(f"retriever.tune: expected both kinds and top_k, got {sorted(values)}")
    raw_kinds = values["kinds"]
    kinds = tuple(str(k) for k in (raw_kinds if isinstance(raw_kinds, Sequence) and not isinstance(raw_kinds, str)
                                   else [raw_kinds]))
    bad = [k for k in kinds if k not in TUNABLE_KINDS]
    if not kinds or bad or len(set(kinds)) != len(kinds):
        raise HarnessError(f"retriever.tune.kinds={raw_kinds!r}: expected distinct retrievers among {list(TUNABLE_KINDS)}")
    return kinds, _values("retriever.tune.top_k", values["top_k"], int)


def tune_settings(finetune_tune: Any, retriever_tune: Any, *, tunes_ft: bool, has_rag: bool) -> TuneSettings | None:
    """``finetune.tune`` + ``retriever.tune`` as one budget, or None when tuning is off.

    ``tunes_ft``: the grid has an ft condition (nothing to tune otherwise); ``has_rag``: it has a
    RAG condition, whose retriever then gets as many trials as FT (``retriever.tune``, default
    top_k ∈ {1, 3} × {bm25, dense}); a different number is refused, naming both counts.
    """
    if finetune_tune is None:
        if retriever_tune is not None:
            raise HarnessError("retriever.tune is set but finetune.tune is not: both arms are tuned with one budget; "
                               "set finetune.tune={epochs: [...], lr: [...]} too, or retriever.tune=null")
        return None
    if not tunes_ft:
        raise HarnessError("finetune.tune is set but the grid has no ft condition to tune; drop finetune.tune")
    values = _mapping("finetune.tune", finetune_tune, FT_TUNE_KEYS)
    if "epochs" not in values or "lr" not in values:
        raise HarnessError("finetune.tune: expected epochs and lr lists, e.g. {epochs: [3, 8], lr: [1e-3, 2e-3]}")
    share = _number("finetune.tune.dev_share", values.get("dev_share", 0.2), float)
    if not 0.0 < share < 1.0:
        raise HarnessError(f"finetune.tune.dev_share={share}: expected a share of the training facts in (0, 1)")
    dev_by = str(values.get("dev_by", "paraphrase"))
    if dev_by not in DEV_BY:
        raise HarnessError(f"finetune.tune.dev_by={dev_by!r}: expected one of {list(DEV_BY)}")
    tune = TuneSettings(epochs=_values("finetune.tune.epochs", values["epochs"], float),
                        lr=_values("finetune.tune.lr", values["lr"], float), dev_share=share, dev_by=dev_by)
    if not has_rag:
        if retriever_tune is not None:
            raise HarnessError("retriever.tune is set but the grid has no RAG condition to tune; drop retriever.tune")
        return tune
    kinds, top_k = _rag_grid(DEFAULT_RAG_GRID if retriever_tune is None else retriever_tune)
    tune = TuneSettings(tune.epochs, tune.lr, share, dev_by, kinds, top_k)
    if len(tune.rag_grid) != len(tune.ft_grid):
        raise HarnessError(f"retriever.tune: {len(tune.rag_grid)} retriever settings ({len(kinds)} kinds × "
                           f"{len(top_k)} top_k) but finetune.tune has {len(tune.ft_grid)} trials; give both arms "
                           "the same number of trials")
    return tune


__all__ = ["DEFAULT_RAG_GRID", "RecallSettings", "TuneSettings", "tune_settings"]
