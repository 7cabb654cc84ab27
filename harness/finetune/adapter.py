"""A trained model folder on disk — a LoRA adapter, or a whole model (full fine-tuning, a merge of
one) — with its identity (weights hash), its card, and base-model checks."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness import cache
from harness.errors import HarnessError
from harness.models.wheels import LocalModel

log = logging.getLogger(__name__)

WEIGHTS_FILE = "adapter_model.safetensors"
CONFIG_FILE = "adapter_config.json"
CARD_FILE = "adapter_card.json"
MODEL_WEIGHTS_FILE = "model.safetensors"  # a whole model (kind "full"), saved by transformers


@dataclass(frozen=True)
class Adapter:
    """A peft adapter folder (``kind`` "lora") or a whole transformers model folder ("full");
    ``sha256`` hashes its weights so generation caches can key on it."""

    path: Path
    sha256: str
    card: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)
    kind: str = "lora"

    @property
    def whole_model(self) -> bool:
        """Evaluated as its own model (in place of the base), not as an adapter on the base."""
        return self.kind == "full"


def load_adapter(path: str | Path) -> Adapter:
    """Open a trained or user-provided peft adapter folder (the card is optional for the latter)."""
    folder = Path(path).expanduser().resolve()
    if not folder.is_dir():
        raise HarnessError(f"adapter folder {folder} does not exist")
    for name in (CONFIG_FILE, WEIGHTS_FILE):
        if not (folder / name).is_file():
            raise HarnessError(
                f"{folder} is not a peft LoRA adapter: {name} is missing "
                f"(save one with `peft_model.save_pretrained(folder)`)"
            )
    card_file = folder / CARD_FILE
    card: dict[str, Any] = {}
    if card_file.is_file():
        try:
            card = json.loads(card_file.read_text())
        except json.JSONDecodeError as exc:
            raise HarnessError(f"{card_file} is not valid JSON ({exc}); delete it or restore it") from exc
    return Adapter(folder, cache.hash_file(folder / WEIGHTS_FILE), card)


def load_trained(path: str | Path) -> Adapter:
    """A folder the training stage made: a LoRA adapter, or a whole model (``model.safetensors``)."""
    folder = Path(path).expanduser().resolve()
    if (folder / CONFIG_FILE).is_file() or not (folder / MODEL_WEIGHTS_FILE).is_file():
        return load_adapter(folder)
    card_file = folder / CARD_FILE
    card = json.loads(card_file.read_text()) if card_file.is_file() else {}
    return Adapter(folder, cache.hash_file(folder / MODEL_WEIGHTS_FILE), card, kind="full")


def check_adapter_base(adapter_path: str | Path, base: LocalModel) -> Adapter:
    """Refuse an adapter trained on other base weights: LoRA deltas are meaningless on another base.

    An adapter without a card (made outside the harness) cannot be checked; that is logged.
    """
    adapter = load_adapter(adapter_path)
    trained_on = adapter.card.get("base", {}).get("weights_sha256")
    if trained_on is None:
        log.warning(
            "adapter %s has no %s: cannot verify it was trained on base %s",
            adapter.path, CARD_FILE, cache.short(base.weights_sha256),
        )
    elif trained_on != base.weights_sha256:
        raise HarnessError(
            f"adapter {adapter.path} was trained on base weights {cache.short(trained_on)} "
            f"({adapter.card.get('base', {}).get('path', '?')}), but the configured base model "
            f"{base.path} has weights {cache.short(base.weights_sha256)}; configure the base it was "
            f"trained on, or retrain the adapter on this base"
        )
    return adapter
