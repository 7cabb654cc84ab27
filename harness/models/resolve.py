"""From the model section to the things a run evaluates: base weights, tokenizer, model under test.

``resolve_model`` says which base weights ``model.source`` names and how they are identified in
cache keys (a local folder is hashed; a hub id or a remote API is identified by its name, since
its weights are not on this machine). ``model_under_test`` is the fingerprinted model one
adaptation is evaluated as: its fingerprint is the key of that adaptation's generation cache.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from harness import cache
from harness.errors import HarnessError
from harness.models import wheels
from harness.models.backends import backend
from harness.models.endpoint import Endpoint
from harness.models.fingerprint import ModelUnderTest
from harness.models.wheels import LocalModel
from harness.sections import ModelSpec
from harness.spec import resolve_path

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase


@dataclass(frozen=True)
class HubModel:
    """A model named by its hub id (``hf:org/name[@revision]``), resolved by the backend itself.

    Its identity for caches is the id and revision: weights are not on this machine to hash.
    """

    path: str
    weights_sha256: str


class TrainedAdapter(Protocol):
    """What a model under test needs of an adapter (:class:`harness.finetune.adapter.Adapter`)."""

    @property
    def path(self) -> Path: ...

    @property
    def sha256(self) -> str: ...

    @property
    def whole_model(self) -> bool: ...


def resolve_model(model: ModelSpec) -> LocalModel | HubModel:
    """The base model ``model.source`` names: a wheel model, a local folder, a hub id, or an API."""
    source = model.source
    if source in wheels.WHEEL_MODELS:
        return wheels.WHEEL_MODELS[source]()
    if source.startswith("path:"):
        path = resolve_path(source[len("path:"):])
        if not (path / "config.json").is_file():
            raise HarnessError(f"model.source={source}: no transformers model folder at {path}")
        weights = sorted(path.glob("*.safetensors"))
        return LocalModel(path, cache.hash_json([cache.hash_file(w) for w in weights]))
    runs = backend(model.backend)
    if source.startswith("hf:") and runs.loads_hub_ids:
        model_id, _, revision = source[len("hf:"):].partition("@")
        return HubModel(model_id, cache.hash_json({"hub": model_id, "revision": revision or "main"}))
    if runs.remote:
        identity = {"base_url": model.raw.get("base_url"), "served_name": model.raw.get("served_name")}
        return HubModel(model.tokenizer or "", cache.hash_json(identity))
    raise HarnessError(
        f"model.source={source!r} (backend {model.backend}) cannot run: use the embedded default "
        "(model=smollm2-135m), model.source=path:<local transformers folder>, or a hub id "
        "(model.source=hf:org/name) with a served backend (model.backend=vllm)"
    )


def tokenizer_source(model: ModelSpec, base: LocalModel | HubModel) -> str:
    """Where prompts are tokenized from: ``model.tokenizer`` if set, else the base model."""
    source = str(model.tokenizer or base.path or "")
    if not source:
        raise HarnessError(
            "model.tokenizer is not set: the harness counts the RAG token budget and renders the chat "
            "template with the model's tokenizer; set it to a hub id or local folder"
        )
    return source


def load_tokenizer(source: str) -> PreTrainedTokenizerBase:
    """The tokenizer at ``source`` (a folder or a hub id already downloaded: runs are offline)."""
    from transformers import AutoTokenizer

    try:
        return AutoTokenizer.from_pretrained(source)
    except (OSError, ValueError) as exc:
        raise HarnessError(
            f"cannot load the tokenizer '{source}' ({str(exc).splitlines()[0]}); runs are offline "
            "(HF_HUB_OFFLINE=1): download it first, or point model.tokenizer at a local folder"
        ) from None


def model_under_test(model: ModelSpec, chat_template: bool, base: LocalModel | HubModel,
                     adapter: TrainedAdapter | None, label: str, endpoint: Endpoint | None) -> ModelUnderTest:
    """The fingerprinted model one adaptation is evaluated as (its generation cache key); a whole
    trained model (full fine-tuning) is evaluated in place of the base, identified by its weights."""
    if adapter is not None and adapter.whole_model:
        base_path, base_sha, adapter = adapter.path, adapter.sha256, None
    else:
        base_path, base_sha = Path(str(base.path)), base.weights_sha256
    adapter_sha = adapter.sha256 if adapter is not None else None
    if backend(model.backend).remote and endpoint is not None:  # a remote model is identified by its endpoint name
        adapter_sha = cache.hash_json({"served": endpoint.model}) if label != "base" else None
    return ModelUnderTest(
        label=label,
        base_path=base_path,
        base_sha256=base_sha,
        adapter_path=adapter.path if adapter is not None else None,
        adapter_sha256=adapter_sha,
        backend=model.backend,
        dtype=model.dtype,
        chat_template=bool(chat_template),
        endpoint=endpoint,
        tokenizer=tokenizer_source(model, base),
    )
