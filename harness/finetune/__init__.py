"""Fine-tuning stage: LoRA SFT and RAFT (peft + trl) of a local base model, cached by content hash.

Entry: :func:`train_adapters` (adaptations, finetune/RAFT/retrieval settings, suite, base model)
→ :class:`Adapters`; :func:`sft_adapter` / :func:`raft_adapter` train one arm for one seed.
"""

from harness.finetune.adapter import Adapter, check_adapter_base, load_adapter
from harness.finetune.data import data_sha256, to_rows, user_turn
from harness.finetune.lora import adapter_key, train_adapter
from harness.finetune.params import FinetuneParams
from harness.finetune.sft import raft_adapter, sft_adapter, sft_examples
from harness.finetune.stage import Adapters, train_adapters

__all__ = [
    "Adapter",
    "Adapters",
    "FinetuneParams",
    "adapter_key",
    "check_adapter_base",
    "data_sha256",
    "load_adapter",
    "raft_adapter",
    "sft_adapter",
    "sft_examples",
    "to_rows",
    "train_adapter",
    "train_adapters",
    "user_turn",
]
