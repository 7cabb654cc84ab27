"""Hyper-parameters of a LoRA SFT run, frozen so they can be hashed into the adapter cache key."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields
from typing import Any

from harness.errors import HarnessError
from harness.typed import coerce_fields

def _cuda_bf16() -> bool:
    try:
        import torch

        return bool(torch.cuda.is_available() and torch.cuda.is_bf16_supported())
    except Exception:  # noqa: BLE001
        return False


SCHEDULERS = ("linear", "cosine", "constant", "constant_with_warmup", "cosine_with_restarts", "polynomial")


@dataclass(frozen=True)
class FinetuneParams:
    """Everything that changes the trained adapter; all of it goes into the cache key.

    ``target_modules`` is peft's "all-linear" or a comma-separated list of module names
    (a string, not a list, so the dataclass stays hashable and Hydra-friendly).
    """

    rank: int = 16
    alpha: int = 32
    dropout: float = 0.0
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
    # GPU settings: "auto" = bf16 mixed precision and gradient checkpointing where CUDA is there,
    # fp32 without checkpointing on the CPU (the only setting CPU runs have ever used).
    precision: str = "auto"
    gradient_checkpointing: str = "auto"
    # The recall stopping rule (harness/finetune/stopping.py): end training at the first epoch
    # whose recall on stop_check_n of its own training questions reaches stop_at_recall;
    # ``epochs`` is then the most it may take. None: train ``epochs`` epochs.
    stop_at_recall: float | None = None
    stop_check_n: int = 24
    # The first epoch that asks them: earlier epochs train without the check's generation cost
    # (for a recipe known not to reach the target sooner). 1: every epoch. Past the last epoch
    # it means the last (see first_check_epoch).
    stop_check_from: int = 1

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
        if self.precision not in ("auto", "fp32", "bf16"):
            problems.append(f"precision={self.precision!r} must be auto, fp32 or bf16")
        if self.gradient_checkpointing not in ("auto", "on", "off"):
            problems.append(f"gradient_checkpointing={self.gradient_checkpointing!r} must be auto, on or off")
        if self.stop_at_recall is not None and not 0.0 < self.stop_at_recall <= 1.0:
            problems.append(f"stop_at_recall={self.stop_at_recall} must be a share in (0, 1] or null")
        if self.stop_check_n < 1:
            problems.append(f"stop_check_n={self.stop_check_n} must be >= 1")
        if self.stop_check_from < 1:
            problems.append(f"stop_check_from={self.stop_check_from} must be an epoch >= 1")
        if not self.target_modules.strip():
            problems.append("target_modules must name modules or be 'all-linear'")
        if problems:
            raise HarnessError("finetune parameters: " + "; ".join(problems))

    def first_check_epoch(self) -> int:
        """The epoch the stopping rule first asks at: ``stop_check_from``, but never after the last
        epoch, so a shorter run (``finetune.epochs=1`` on a grid that checks from 6) still ends
        with one check and a card that says whether the target was reached."""
        return min(self.stop_check_from, max(1, math.ceil(self.epochs)))

    def resolved_precision(self) -> str:
        if self.precision != "auto":
            return self.precision
        return "bf16" if _cuda_bf16() else "fp32"

    def resolved_checkpointing(self) -> bool:
        if self.gradient_checkpointing != "auto":
            return self.gradient_checkpointing == "on"
        return _cuda_bf16()

    def to_dict(self) -> dict[str, Any]:
        """The cache key's view: GPU settings as resolved here, left out when they are the CPU
        defaults (fp32, no checkpointing), and the stopping rule left out when it is off, so
        adapters trained before these existed keep their key."""
        data = asdict(self)
        data.pop("precision")
        data.pop("gradient_checkpointing")
        if self.stop_at_recall is None:
            data.pop("stop_at_recall")
            data.pop("stop_check_n")
        data.pop("stop_check_from")
        if self.stop_at_recall is not None and self.first_check_epoch() > 1:
            data["stop_check_from"] = self.first_check_epoch()
        if self.resolved_precision() != "fp32":
            data["precision"] = self.resolved_precision()
        if self.resolved_checkpointing():
            data["gradient_checkpointing"] = True
        return data

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> FinetuneParams:
        """Build from a config mapping, naming unknown keys instead of failing with a TypeError."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise HarnessError(
                f"unknown finetune parameter(s): {', '.join(unknown)}; known: {', '.join(sorted(known))}"
            )
        return cls(**coerce_fields(cls, values, "finetune"))

    def peft_target_modules(self) -> str | list[str]:
        if self.target_modules.strip() == "all-linear":
            return "all-linear"
        return [name.strip() for name in self.target_modules.split(",") if name.strip()]
