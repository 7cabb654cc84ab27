"""The cost assumptions of a decision: a typed view of the ``cost`` config group.

Prices are the part of a decision a user must be able to change without re-running anything,
so they are read at report time (from the run's config.yaml, else the shipped defaults) and
``decide`` accepts ``cost.<key>=<value>`` overrides on top.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import yaml

from harness import paths
from harness.errors import HarnessError

DEFAULTS_FILE = paths.CONF_DIR / "cost" / "default.yaml"


@dataclass(frozen=True)
class CostSettings:
    """Prices and volumes a decision is priced at (conf/cost/default.yaml documents each)."""

    hardware: str = "auto"
    price_per_hour: float | None = None
    presets: Mapping[str, float] = field(default_factory=lambda: {"cpu": 0.10, "gpu": 2.50})
    prompt_price_per_1k: float = 0.0
    generated_price_per_1k: float = 0.0
    queries_per_month: float = 100_000.0
    refresh_per_month: float = 1.0
    memory_price_per_gb_month: float = 0.0
    margin: float = 0.03
    stability_resamples: int = 400

    def hourly(self, manifest: Mapping[str, Any] | None) -> tuple[float, str]:
        """(USD per hour, where it came from): the explicit price, else the preset of the
        configured hardware, else of the run's own hardware (its manifest says cuda or not)."""
        if self.price_per_hour is not None:
            return float(self.price_per_hour), "cost.price_per_hour"
        kind = self.hardware
        if kind == "auto":
            cuda = bool(((manifest or {}).get("hardware") or {}).get("cuda"))
            kind = "gpu" if cuda else "cpu"
        if kind not in self.presets:
            raise HarnessError(f"cost.hardware={kind!r} has no price: use one of {sorted(self.presets)} or set "
                               "cost.price_per_hour")
        return float(self.presets[kind]), f"cost.presets.{kind} (the run's hardware: {kind})"


def _flat(section: Mapping[str, Any]) -> dict[str, Any]:
    tokens = section.get("token_price_per_1k") or {}
    out = {k: v for k, v in section.items() if k != "token_price_per_1k"}
    out["prompt_price_per_1k"] = tokens.get("prompt", 0.0)
    out["generated_price_per_1k"] = tokens.get("generated", 0.0)
    return out


def _typed(key: str, value: Any, default: Any) -> Any:
    if key == "presets":
        if not isinstance(value, Mapping):
            raise HarnessError(f"cost.presets must be a mapping of hardware name to USD per hour, got {value!r}")
        return {str(k): float(v) for k, v in value.items()}
    if value is None:
        return None
    try:
        return type(default)(value) if default is not None and not isinstance(default, str) else value
    except (TypeError, ValueError) as err:
        raise HarnessError(f"cost.{key}={value!r} is not a number; give e.g. cost.{key}={default}") from err


def cost_settings(section: Mapping[str, Any] | None = None, overrides: Sequence[str] = ()) -> CostSettings:
    """CostSettings from a ``cost`` config section (None: the shipped defaults) and
    ``cost.key=value`` / ``key=value`` overrides; unknown keys are an error naming the known ones."""
    base = yaml.safe_load(DEFAULTS_FILE.read_text()) if section is None else dict(section)
    merged = _flat(base or {})
    for item in overrides:
        key, sep, raw = item.partition("=")
        key = key.removeprefix("cost.")
        if not sep:
            raise HarnessError(f"override {item!r}: expected cost.<key>=<value>")
        if key.startswith("token_price_per_1k."):
            key = key.split(".", 1)[1] + "_price_per_1k"
        merged[key] = yaml.safe_load(raw)
    defaults = CostSettings()
    known = set(defaults.__dataclass_fields__)
    unknown = sorted(set(merged) - known)
    if unknown:
        raise HarnessError(f"unknown cost setting(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
    typed = {k: _typed(k, v, getattr(defaults, k)) for k, v in merged.items()}
    return replace(defaults, **typed)


__all__ = ["CostSettings", "cost_settings"]
