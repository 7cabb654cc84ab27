"""Trainer callbacks: record the loss curve, and stop at the first non-finite loss."""

from __future__ import annotations

import math
from typing import Any

from transformers import TrainerCallback


class LossGuard(TrainerCallback):
    """Collects (step, loss) from each log and halts training when loss or grad norm is NaN/inf.

    Raising inside a callback would leave the trainer half-torn-down; instead training stops
    and the caller raises a HarnessError from ``diverged``.
    """

    def __init__(self) -> None:
        self.curve: list[dict[str, float]] = []
        self.diverged: tuple[int, str, float] | None = None

    def on_log(self, args: Any, state: Any, control: Any, logs: dict[str, float] | None = None, **kwargs: Any) -> None:
        if not logs or "loss" not in logs:
            return  # the end-of-training summary logs train_loss, not loss
        self.curve.append({"step": int(state.global_step), "loss": float(logs["loss"])})
        for name in ("loss", "grad_norm"):
            value = logs.get(name)
            if value is not None and not math.isfinite(float(value)):
                self.diverged = (int(state.global_step), name, float(value))
                control.should_training_stop = True
                return
