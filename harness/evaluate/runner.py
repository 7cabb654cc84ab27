"""Run lm-eval in process over a set of tasks for one model, through its own response cache.

One call per model (not per condition): closed-book and RAG tasks of the same model share a
loaded model and one batched pass. Responses are committed to the cache as they are produced,
so a killed run resumes where it stopped.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from harness.errors import HarnessError
from harness.evaluate.fingerprint import ModelUnderTest

log = logging.getLogger(__name__)


def _hf_lm(model: ModelUnderTest, batch_size: int) -> Any:
    """lm-eval's hf backend; an adapter is merged into the base weights first.

    Merged and unmerged LoRA give the same outputs, but the merged model generates at base
    speed, while peft's unmerged wrapper adds two small matmuls to every linear layer.
    Multiple-choice options that share a prompt are scored on one pass over it
    (harness.evaluate.prefix_lm).
    """
    from harness.evaluate.prefix_lm import PrefixSharingHFLM as HFLM

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


def _served_lm(model: ModelUnderTest, eval_cfg: dict[str, Any]) -> Any:
    """lm-eval's OpenAI-compatible client for a served model.

    ``completions`` (default) sends token ids rendered with the model's own tokenizer and chat
    template — the same prompt the hf backend builds — and serves log-likelihoods (echo +
    logprobs) as well as generations. ``chat`` sends messages and leaves the template to the
    server; it has no log-likelihoods, so multiple-choice tasks need ``completions``.
    """
    from lm_eval.models.openai_completions import LocalChatCompletion

    from harness.evaluate.served_lm import ServedCompletionsLM

    endpoint = model.endpoint
    assert endpoint is not None
    client = dict(eval_cfg.get("client") or {})
    api = str(client.get("api", "completions"))
    common = dict(
        model=endpoint.model,
        num_concurrent=int(client.get("num_concurrent", 8)),
        max_retries=int(client.get("max_retries", 3)),
        max_gen_toks=int(eval_cfg.get("max_gen_toks", 32)),
        max_length=int(client.get("max_length", 2048)),
        timeout=int(client.get("timeout_s", 300)),
        header={"Content-Type": "application/json", **endpoint.headers()},
    )
    if api == "completions":
        if not model.tokenizer:
            raise HarnessError(
                "the completions API needs the model's tokenizer (model.tokenizer=<hub id or folder>) to "
                "render prompts and count tokens; or use model.client.api=chat for generation-only tasks"
            )
        return ServedCompletionsLM(base_url=endpoint.completions_url, tokenizer=model.tokenizer,
                                   tokenizer_backend="huggingface", tokenized_requests=True,
                                   serial_loglikelihood=endpoint.serial_loglikelihood, **common)
    if api == "chat":
        return LocalChatCompletion(base_url=endpoint.chat_url, tokenizer_backend=None,
                                   tokenized_requests=False, **common)
    raise HarnessError(f"model.client.api={api}: expected 'completions' or 'chat'")


def _vllm_inprocess_lm(model: ModelUnderTest, eval_cfg: dict[str, Any]) -> Any:
    """lm-eval's in-process vLLM engine (a GPU option); the adapter is applied as a LoRA request."""
    from harness.serving.vllm_entry import prepare_import

    prepare_import()
    try:
        from lm_eval.models.vllm_causallms import VLLM
    except Exception as exc:  # noqa: BLE001
        raise HarnessError(f"model.backend=vllm-inprocess needs vLLM installed ({exc})") from None
    from harness.serving.vllm_server import lora_rank_limit, vllm_env_defaults

    for key, value in vllm_env_defaults().items():
        os.environ.setdefault(key, value)
    extra: dict[str, Any] = {}
    if model.adapter_path is not None:
        extra = {"lora_local_path": str(model.adapter_path), "max_lora_rank": lora_rank_limit([model.adapter_path])}
    return VLLM(
        pretrained=str(model.base_path),
        dtype=model.dtype,
        batch_size="auto",
        max_gen_toks=int(eval_cfg.get("max_gen_toks", 32)),
        max_length=int(dict(eval_cfg.get("client") or {}).get("max_length", 2048)),
        seed=int(eval_cfg.get("seed", 1234)),
        **extra,
    )


def build_lm(model: ModelUnderTest, eval_cfg: dict[str, Any]) -> Any:
    if model.backend == "hf":
        return _hf_lm(model, int(eval_cfg.get("batch_size", 16)))
    if model.endpoint is not None:
        return _served_lm(model, eval_cfg)
    if model.backend == "vllm-inprocess":
        return _vllm_inprocess_lm(model, eval_cfg)
    raise HarnessError(
        f"model.backend={model.backend}: unknown backend (expected hf, vllm, openai or vllm-inprocess)"
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
    lm = build_lm(model, eval_cfg)
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
    except NotImplementedError as exc:  # e.g. log-likelihoods through a chat-only API
        raise HarnessError(
            f"model.backend={model.backend} cannot evaluate these tasks: {exc} "
            "(multiple-choice tasks need model.client.api=completions)"
        ) from None
    finally:
        del lm
    if results is None:
        raise HarnessError("lm-eval returned no results")
    return results
