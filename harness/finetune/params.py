"""Hyper-parameters of a LoRA SFT run, frozen so they can be hashed into the adapter cache key."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

from harness.errors import HarnessError

SCHEDULERS = ("linear", "cosine", "constant", "constant_with_warmup", "cosine_with_restarts", "polynomial")


@dataclass(frozen=True)
class FinetuneParams:
    """Everything that changes the trained adapter; all of it goes into the cache key.

    ``target_modules`` is peft's "all-linear" or a comma-separated list of module names
    (a string, not a list, so the dataclass stays hashable and Hydra-friendly).
    """

    rank: int = 16
    alpha: int = 32
    dropout: float = 0.05
    target_modules: str = "all-linear"
    lr: float = 1e-3
    epochs: float = 3
    batch_size: int = 8
    grad_accum: int = 1
    max_length: int = 256
    warmup_ratio: float = 0.0
    lr_scheduler: str = "linear"
    weight_decay: float = 0.0
    max_grad_norm: float = 1.0
    seed: int = 0
    logging_steps: int = 5

    def __post_init__(self) -> None:
        problems = []
        if self.rank < 1:
            problems.append(f"rank={self.rank} must be >= 1")
        if not 0.0 <= self.dropout < 1.0:
            problems.append(f"dropout={self.dropout} must be in [0, 1)")
        if not self.lr > 0:
            problems.append(f"lr={self.lr} must be > 0")
        if not self.epochs > 0:
            problems.append(f"epochs={self.epochs} must be > 0")
        for name in ("batch_size", "grad_accum", "max_length", "logging_steps"):
            if getattr(self, name) < 1:
                problems.append(f"{name}={getattr(self, name)} must be >= 1")
        if not 0.0 <= self.warmup_ratio < 1.0:
            problems.append(f"warmup_ratio={self.warmup_ratio} must be in [0, 1)")
        if self.lr_scheduler not in SCHEDULERS:
            problems.append(f"lr_scheduler={self.lr_scheduler!r} must be one of {', '.join(SCHEDULERS)}")
        if not self.target_modules.strip():
            problems.append("target_modules must name modules or be 'all-linear'")
        if problems:
            raise HarnessError("finetune parameters: " + "; ".join(problems))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> FinetuneParams:
        """Build from a config mapping, naming unknown keys instead of failing with a TypeError."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise HarnessError(
                f"unknown finetune parameter(s): {', '.join(unknown)}; known: {', '.join(sorted(known))}"
            )
        return cls(**values)

    def peft_target_modules(self) -> str | list[str]:
        if self.target_modules.strip() == "all-linear":
            return "all-linear"
        return [name.strip() for name in self.target_modules.split(",") if name.strip()]
