"""Run lm-eval in process over a set of tasks for one model, through its own response cache.

One call per model (not per condition): closed-book and RAG tasks of the same model share a
loaded model and one batched pass. Responses are committed to the cache as they are produced,
so a killed run resumes where it stopped.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from harness.errors import HarnessError
from harness.evaluate.fingerprint import ModelUnderTest

log = logging.getLogger(__name__)


def _hf_lm(model: ModelUnderTest, batch_size: int) -> Any:
    """lm-eval's hf backend; an adapter is merged into the base weights first.

    Merged and unmerged LoRA give the same outputs, but the merged model generates at base
    speed, while peft's unmerged wrapper adds two small matmuls to every linear layer.
    """
    from lm_eval.models.huggingface import HFLM

    if model.adapter_path is None:
        return HFLM(pretrained=str(model.base_path), dtype=model.dtype, batch_size=batch_size, device="cpu")
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    dtype = getattr(torch, model.dtype) if model.dtype != "auto" else "auto"
    base = AutoModelForCausalLM.from_pretrained(str(model.base_path), dtype=dtype)
    merged = PeftModel.from_pretrained(base, str(model.adapter_path)).merge_and_unload()
    merged.eval()
    tokenizer = AutoTokenizer.from_pretrained(str(model.base_path))
    return HFLM(pretrained=merged, tokenizer=tokenizer, batch_size=batch_size)


def build_lm(model: ModelUnderTest, batch_size: int) -> Any:
    if model.backend == "hf":
        return _hf_lm(model, batch_size)
    raise HarnessError(
        f"model.backend={model.backend}: this backend is not available in this version; "
        "use model.backend=hf to run the model in process"
    )


def evaluate_model(
    model: ModelUnderTest,
    task_names: list[str],
    include_paths: list[Path],
    eval_cfg: dict[str, Any],
    seed: int,
) -> dict[str, Any]:
    """Evaluate ``model`` on ``task_names``; returns lm-eval's results dict (with samples)."""
    import lm_eval
    from lm_eval.tasks import TaskManager

    task_manager = TaskManager(
        include_path=[str(p) for p in include_paths], include_defaults=False
    )
    missing = [t for t in task_names if t not in task_manager.all_tasks]
    if missing:
        raise HarnessError(
            f"lm-eval does not know task(s) {missing} under {[str(p) for p in include_paths]}; "
            "check the task YAMLs (run `lm_eval validate`)"
        )
    lm = build_lm(model, int(eval_cfg.get("batch_size", 16)))
    try:
        results = lm_eval.simple_evaluate(
            model=lm,
            tasks=task_names,
            task_manager=task_manager,
            use_cache=str(model.generation_cache_prefix()),
            limit=eval_cfg.get("limit"),
            bootstrap_iters=int(eval_cfg.get("bootstrap_iters", 1000)),
            log_samples=True,
            apply_chat_template=bool(model.chat_template),
            random_seed=seed,
            numpy_random_seed=seed,
            torch_random_seed=seed,
            fewshot_random_seed=seed,
        )
    finally:
        del lm
    if results is None:
        raise HarnessError("lm-eval returned no results")
    return results
