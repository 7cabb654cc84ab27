"""``churn``: the shares of facts that change, the draw's seed and how the FT arm is updated."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.errors import HarnessError

KNOWN = ("fraction", "seed", "continue_epochs", "replacements", "priced_fraction")


def _share(key: str, value: Any) -> float:
    try:
        share = float(value)
    except (TypeError, ValueError):
        raise HarnessError(f"{key}={value!r}: expected a share in (0, 1], e.g. 0.2") from None
    if not 0.0 < share <= 1.0:
        raise HarnessError(f"{key}={share}: expected a share in (0, 1], e.g. 0.2")
    return share


@dataclass(frozen=True)
class ChurnSettings:
    """After the grid, each share of ``fractions`` of the suite's facts changes value (drawn with
    ``seed``, or taken from the ``replacements`` file); the FT arm is updated by retraining from
    scratch and by ``continue_epochs`` more epochs of the existing adapter on the changed facts.
    ``priced_fraction``: the share one refresh of the decision's cost model changes (default
    the middle one of ``fractions``)."""

    fractions: tuple[float, ...]
    seed: int = 0
    continue_epochs: float = 3.0
    replacements: Path | None = None
    priced_fraction: float | None = None

    @classmethod
    def from_dict(cls, given: Mapping[str, Any] | None,
                  resolve: Callable[[str], Path] = Path) -> ChurnSettings | None:
        """``resolve``: how a relative ``replacements`` path is found (the spec's rule)."""
        if not given:
            return None
        unknown = sorted(set(given) - set(KNOWN))
        if unknown:
            raise HarnessError(f"churn: unknown setting(s) {unknown}; known: {list(KNOWN)}")
        raw = given.get("fraction")
        listed = raw if isinstance(raw, (list, tuple)) else [raw]
        fractions = tuple(sorted({_share("churn.fraction", v) for v in listed}))
        epochs = given.get("continue_epochs", 3.0)
        if not isinstance(epochs, (int, float)) or isinstance(epochs, bool) or not 0 < epochs <= 100:
            raise HarnessError(f"churn.continue_epochs={epochs!r}: expected a number of epochs in (0, 100]")
        priced = given.get("priced_fraction")
        priced = _share("churn.priced_fraction", priced) if priced is not None else None
        if priced is not None and priced not in fractions:
            raise HarnessError(f"churn.priced_fraction={priced}: not one of churn.fraction {list(fractions)}")
        replacements = given.get("replacements")
        path = resolve(str(replacements)) if replacements else None
        if path is not None and not path.is_file():
            raise HarnessError(f"churn.replacements={replacements}: no such file (JSONL of "
                               "{\"fact_id\", \"value\", \"aliases\"}; see docs/suite-format.md)")
        return cls(fractions, int(given.get("seed", 0)), float(epochs), path, priced)

    @property
    def priced(self) -> float:
        return self.priced_fraction if self.priced_fraction is not None else self.fractions[len(self.fractions) // 2]

    def to_dict(self) -> dict[str, Any]:
        return {"fraction": list(self.fractions), "seed": self.seed, "continue_epochs": self.continue_epochs,
                "replacements": str(self.replacements) if self.replacements else None,
                "priced_fraction": self.priced}
