"""Export a fine-tuned model as one plain transformers folder (base weights with the LoRA merged in).

For serving stacks without LoRA support or for sharing the model: the folder loads with
``AutoModelForCausalLM.from_pretrained`` and needs no peft. Written under a temporary name and
renamed, so a folder at ``out`` is always complete; an existing non-empty folder is refused.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from harness.errors import HarnessError


def export_merged(base: Any, adapter: Any, out: Path) -> Path:
    """Merge ``adapter`` into ``base`` and save model + tokenizer to ``out``."""
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    out = Path(out).expanduser().resolve()
    if out.exists() and any(out.iterdir()):
        raise HarnessError(f"finetune.export_merged={out}: the folder exists and is not empty; choose a new one")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.parent / f".{out.name}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        model = AutoModelForCausalLM.from_pretrained(str(base.path), dtype=torch.float32)
        merged = PeftModel.from_pretrained(model, str(adapter.path)).merge_and_unload()
        merged.save_pretrained(tmp)
        AutoTokenizer.from_pretrained(str(base.path)).save_pretrained(tmp)
        (tmp / "harness_export.json").write_text(json.dumps(
            {"base_weights_sha256": base.weights_sha256, "adapter_sha256": adapter.sha256,
             "adapter": str(adapter.path)}, indent=2))
        if out.exists():
            out.rmdir()
        tmp.rename(out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out
