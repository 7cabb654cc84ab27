"""The model backends (``model.backend``) and the lm-eval model each one evaluates through.

Every backend is one :class:`Backend` in :data:`BACKENDS`: how lm-eval talks to the model
(``lm``), where it answers from when it is not loaded in process (``serve``, a context manager
yielding one :class:`~harness.models.endpoint.Endpoint` per adaptation; ``probe``, which checks
before any work that it answers), whether it can load ``hf:org/name`` sources itself, and whether
it is a remote API that brings its own fine-tuned models. A served model's failed request is one
message naming the endpoint and the model (:func:`_guarded`). An unknown ``model.backend`` is the registry's error, listing the known ones.

Nothing heavy is imported here: lm-eval, torch and vLLM load inside the factories, and the
serving functions are imported when a backend is served.
"""

from __future__ import annotations

import functools
import logging
import os
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.errors import HarnessError
from harness.models.endpoint import Endpoint, request_failure
from harness.models.fingerprint import ModelUnderTest
from harness.registry import Registry, lazy
from harness.sections import EvalSettings, ModelSpec

if TYPE_CHECKING:
    from lm_eval.api.model import LM

Serve = Callable[[ModelSpec, str, Mapping[str, Path | None]], AbstractContextManager[dict[str, Endpoint]]]


@dataclass(frozen=True)
class LmSettings:
    """What building an lm-eval model needs of the run: the eval section, the served-client
    settings (``ModelSpec.client_settings()``) and the run seed."""

    eval: EvalSettings
    client: Mapping[str, Any]
    seed: int

    @property
    def max_gen_toks(self) -> int:
        return self.eval.max_gen_toks or 32


@dataclass(frozen=True)
class Backend:
    """What one ``model.backend`` needs; ``serve`` is None for backends that run in process."""

    name: str
    lm: Callable[[ModelUnderTest, "LmSettings"], LM]
    serve: Serve | None = None
    probe: Callable[[ModelSpec], None] | None = None  # checks the endpoints answer, before any work
    loads_hub_ids: bool = False  # model.source=hf:org/name: the backend resolves the id itself
    remote: bool = False  # an API with its own models: adapters are its names, nothing is trained here


def _hf_lm(model: ModelUnderTest, run: LmSettings) -> LM:
    """lm-eval's hf backend; an adapter is merged into the base weights first.

    Merged and unmerged LoRA give the same outputs, but the merged model generates at base
    speed, while peft's unmerged wrapper adds two small matmuls to every linear layer.
    Multiple-choice options that share a prompt are scored on one pass over it
    (harness.models.prefix_lm).
    """
    from harness.models.prefix_lm import PrefixSharingHFLM as HFLM

    batch_size = run.eval.batch_size
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


def _served_lm(model: ModelUnderTest, run: LmSettings) -> LM:
    """lm-eval's OpenAI-compatible client for a served model.

    ``completions`` (default) sends token ids rendered with the model's own tokenizer and chat
    template — the same prompt the hf backend builds — and serves log-likelihoods (echo +
    logprobs) as well as generations. ``chat`` sends messages and leaves the template to the
    server; it has no log-likelihoods, so multiple-choice tasks need ``completions``.
    """
    from lm_eval.models.openai_completions import LocalChatCompletion

    from harness.models.served_lm import ServedCompletionsLM

    endpoint = model.endpoint
    if endpoint is None:  # model_endpoints gives every served adaptation one
        raise HarnessError(f"model.backend={model.backend} is served, but no endpoint was opened for '{model.label}'")
    client = dict(run.client)
    api = str(client.get("api", "completions"))
    common = dict(
        model=endpoint.model,
        num_concurrent=int(client.get("num_concurrent", 8)),
        max_retries=int(client.get("max_retries", 3)),
        max_gen_toks=run.max_gen_toks,
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
        return _guarded(ServedCompletionsLM(base_url=endpoint.completions_url, tokenizer=model.tokenizer,
                                            tokenizer_backend="huggingface", tokenized_requests=True,
                                            serial_loglikelihood=endpoint.serial_loglikelihood, **common), endpoint)
    if api == "chat":
        return _guarded(LocalChatCompletion(base_url=endpoint.chat_url, tokenizer_backend=None,
                                            tokenized_requests=False, **common), endpoint)
    raise HarnessError(f"model.client.api={api}: expected 'completions' or 'chat'")


def _orphaned_task_errors(record: logging.LogRecord) -> bool:
    return not str(record.msg).startswith("Task exception was never retrieved")


def _guarded(lm: LM, endpoint: Endpoint) -> LM:
    """``lm`` whose request methods turn a failed request (an HTTP error status, a lost connection,
    once lm-eval's retries are spent) into one message naming the endpoint and the model
    (:class:`~harness.models.endpoint.EndpointFailure`) instead of a client library's traceback."""

    def guard(method: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(method)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            try:
                return method(*args, **kwargs)
            except Exception as exc:
                failure = request_failure(exc, endpoint)
                if failure is None:
                    raise
                # the other concurrent requests failed alike; as their tasks are collected asyncio
                # would log each with a traceback after the one message
                logging.getLogger("asyncio").addFilter(_orphaned_task_errors)
                raise failure from exc

        return guarded

    for name in ("loglikelihood", "loglikelihood_rolling", "generate_until"):
        setattr(lm, name, guard(getattr(lm, name)))
    return lm


def _vllm_inprocess_lm(model: ModelUnderTest, run: LmSettings) -> LM:
    """lm-eval's in-process vLLM engine (a GPU option); the adapter is applied as a LoRA request."""
    from harness.models.vllm_entry import prepare_import

    prepare_import()
    try:
        from lm_eval.models.vllm_causallms import VLLM
    except Exception as exc:  # noqa: BLE001
        raise HarnessError(f"model.backend=vllm-inprocess needs vLLM installed ({exc})") from None
    from harness.models.vllm_server import lora_rank_limit, vllm_env_defaults

    for key, value in vllm_env_defaults().items():
        os.environ.setdefault(key, value)
    extra: dict[str, Any] = {}
    if model.adapter_path is not None:
        extra = {"lora_local_path": str(model.adapter_path), "max_lora_rank": lora_rank_limit([model.adapter_path])}
    return VLLM(
        pretrained=str(model.base_path),
        dtype=model.dtype,
        batch_size="auto",
        max_gen_toks=run.max_gen_toks,
        max_length=int(run.client.get("max_length", 2048)),
        seed=run.seed,
        **extra,
    )


BACKENDS: Registry[Backend] = Registry("backend", hint=" (model.backend=...)")
BACKENDS.register("hf", Backend("hf", _hf_lm))
BACKENDS.register("vllm", Backend("vllm", _served_lm, serve=lazy("harness.models.endpoints:vllm_endpoints"),
                                  probe=lazy("harness.models.endpoints:probe_vllm"), loads_hub_ids=True))
BACKENDS.register("vllm-inprocess", Backend("vllm-inprocess", _vllm_inprocess_lm, loads_hub_ids=True))
BACKENDS.register("openai", Backend("openai", _served_lm, serve=lazy("harness.models.endpoints:openai_endpoints"),
                                    probe=lazy("harness.models.endpoints:probe_openai"), loads_hub_ids=True,
                                    remote=True))


def backend(name: str) -> Backend:
    """The registered backend ``name``; an unknown one is the registry's error."""
    return BACKENDS.get(name)


def build_lm(model: ModelUnderTest, run: LmSettings) -> LM:
    """The lm-eval model ``model`` is evaluated through (loaded, or connected to its endpoint)."""
    return backend(model.backend).lm(model, run)
