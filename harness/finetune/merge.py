"""Merging: the weight-space interpolation ``(1 - alpha) * base + alpha * tuned``.

Why: merging a fine-tuned model back with its base is the cheap way studies recover zero-shot
ability the fine-tune cost; a sweep over ``alpha`` draws knowledge gained against forgetting.

For a LoRA arm the interpolation is exact and small: the tuned weight is ``W + s·B·A``, so
``(1 - alpha)·W + alpha·(W + s·B·A) = W + s·(alpha·B)·A`` — the same adapter with its ``B``
matrices scaled by ``alpha``. It stays an adapter (servable by vLLM like any other); at
alpha 0 it adds nothing to the base and at 1 it is the fine-tune. A whole fine-tuned model
(``merge.of=full``) is interpolated tensor by tensor into a new model folder.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from harness import cache
from harness.errors import HarnessError
from harness.finetune.adapter import CARD_FILE, MODEL_WEIGHTS_FILE, WEIGHTS_FILE, Adapter, load_trained
from harness.finetune.lora import STAGE
from harness.models.wheels import LocalModel


def merge_key(base: LocalModel, tuned: Adapter, alpha: float) -> str:
    """Everything that changes the merged weights: the base, the tuned weights, alpha."""
    return cache.hash_json({"merge": {"base": base.weights_sha256, "tuned": tuned.sha256, "alpha": alpha}})


def merged(base: LocalModel, tuned: Adapter, alpha: float) -> Adapter:
    """The interpolation of ``base`` and ``tuned`` at ``alpha``, built once and cached."""
    if not 0.0 <= alpha <= 1.0:
        raise HarnessError(f"merge.alpha={alpha}: expected a number in [0, 1]")

    def build(scratch: Path) -> None:
        if tuned.whole_model:
            _interpolate_model(base, tuned, alpha, scratch)
        else:
            _scale_adapter(tuned, alpha, scratch)
        card = dict(tuned.card, merge={"alpha": alpha, "tuned_sha256": tuned.sha256, "base_sha256": base.weights_sha256},
                    train_seconds=0.0)
        cache.write_json_atomic(scratch / CARD_FILE, card)

    return cache.get_or_build(STAGE, merge_key(base, tuned, alpha), build, load_trained)


def _scale_adapter(tuned: Adapter, alpha: float, out: Path) -> None:
    """A copy of the LoRA adapter with every ``lora_B`` matrix times ``alpha``."""
    from safetensors.torch import load_file, save_file

    tensors = load_file(str(tuned.path / WEIGHTS_FILE))
    other = sorted(k for k in tensors if "lora_A" not in k and "lora_B" not in k)
    if other:
        raise HarnessError(f"adapter {tuned.path} trains more than LoRA matrices ({other[0]}, ...): scaling B "
                           "would not interpolate those; merge.of=full interpolates whole models")
    scaled = {k: (v * alpha).contiguous() if "lora_B" in k else v for k, v in tensors.items()}
    out.mkdir(parents=True, exist_ok=True)
    for item in tuned.path.iterdir():
        if item.is_file() and item.name not in (WEIGHTS_FILE, CARD_FILE):
            shutil.copy2(item, out / item.name)
    save_file(scaled, str(out / WEIGHTS_FILE), metadata={"format": "pt"})


def _interpolate_model(base: LocalModel, tuned: Adapter, alpha: float, out: Path) -> None:
    """Tensor by tensor ``(1 - alpha)·base + alpha·tuned`` of two models of one architecture."""
    from safetensors.torch import load_file, save_file

    tuned_tensors = load_file(str(tuned.path / MODEL_WEIGHTS_FILE))
    base_tensors: dict = {}
    for shard in sorted(Path(base.path).glob("*.safetensors")):
        base_tensors.update(load_file(str(shard)))
    missing = sorted(set(tuned_tensors) - set(base_tensors))
    if missing:
        raise HarnessError(f"{tuned.path} has weights the base {base.path} lacks ({missing[0]}, ...): "
                           "not a fine-tune of this base")
    mixed = {k: ((1 - alpha) * base_tensors[k].to(v.dtype) + alpha * v).contiguous() for k, v in tuned_tensors.items()}
    out.mkdir(parents=True, exist_ok=True)
    for item in tuned.path.iterdir():
        if item.is_file() and item.name not in (MODEL_WEIGHTS_FILE, CARD_FILE):
            shutil.copy2(item, out / item.name)
    save_file(mixed, str(out / MODEL_WEIGHTS_FILE), metadata={"format": "pt"})
