"""Fine-tuning stage: LoRA SFT (peft + trl) of a local base model, cached by content hash."""

from harness.finetune.adapter import Adapter, check_adapter_base, load_adapter
from harness.finetune.data import data_sha256, to_rows, user_turn
from harness.finetune.lora import adapter_key, train_adapter
from harness.finetune.params import FinetuneParams

__all__ = [
    "Adapter",
    "FinetuneParams",
    "adapter_key",
    "check_adapter_base",
    "data_sha256",
    "load_adapter",
    "to_rows",
    "train_adapter",
    "user_turn",
]
