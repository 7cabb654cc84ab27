"""Serving: where a run's models answer from when they are not loaded in process.

``model_endpoints`` turns the model section into one :class:`Endpoint` per adaptation
(``base``, ``ft``) for the time the ``with`` block lasts: it launches a vLLM server with the
adapter registered as a LoRA module, or attaches to a running server (loading the adapter into
it), or points at any OpenAI-compatible API. Which of these a backend does is its ``serve``
entry in :data:`harness.models.backends.BACKENDS`. ``probe_endpoints`` (its ``probe`` entry) checks,
before a run does any work, that an attach URL or a remote API answers, so a typo in the URL is
reported in seconds rather than after fine-tuning.
"""

from __future__ import annotations

import logging
import urllib.error
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

from harness.errors import HarnessError
from harness.models.backends import backend
from harness.models.endpoint import Endpoint, http_json, normalize_base_url, served_models
from harness.models.vllm_server import ServerSettings, vllm_server
from harness.sections import ModelSpec

log = logging.getLogger(__name__)


def _served_name(model: ModelSpec) -> str:
    return model.served_name or model.name or "model"


def load_adapter_into(endpoint: Endpoint, name: str, adapter: Path) -> None:
    """Register ``adapter`` under ``name`` on a running vLLM server (runtime LoRA loading)."""
    if name in served_models(endpoint):
        return
    try:
        http_json(f"{endpoint.base_url}/load_lora_adapter", {"lora_name": name, "lora_path": str(adapter)},
                  headers=endpoint.headers(), timeout=120)
    except urllib.error.HTTPError as exc:
        detail = exc.read().decode("utf-8", errors="replace")[:300]
        raise HarnessError(
            f"the server at {endpoint.base_url} refused to load adapter {adapter} as '{name}' "
            f"(HTTP {exc.code}: {detail}); start it with --enable-lora --max-lora-rank <r> and "
            "VLLM_ALLOW_RUNTIME_LORA_UPDATING=True, or let the harness launch it (model.server.base_url=null)"
        ) from None
    log.info("loaded adapter %s into %s as %s", adapter, endpoint.base_url, name)


def _serial_loglikelihood(model: ModelSpec) -> bool:
    """``model.client.serial_loglikelihood``: one log-likelihood request in flight (a shared CPU LoRA server)."""
    return bool(model.client.get("serial_loglikelihood") or False)


def _attach_base(model: ModelSpec, base_url: str) -> Endpoint:
    """The running server at ``model.server.base_url``, checked to answer and to serve the model."""
    base = Endpoint(normalize_base_url(base_url, "model.server.base_url"), _served_name(model), model.api_key_env,
                    serial_loglikelihood=_serial_loglikelihood(model))
    names = served_models(base)
    if base.model not in names:
        raise HarnessError(
            f"the server at {base.base_url} does not serve a model named '{base.model}' (it serves: "
            f"{', '.join(names) or 'nothing'}); set model.served_name to one of them"
        )
    return base


def _attached(model: ModelSpec, base_url: str, adapters: Mapping[str, Path | None]) -> dict[str, Endpoint]:
    base = _attach_base(model, base_url)
    endpoints = {"base": base}
    for label, adapter in adapters.items():
        name = f"{base.model}+{label}"
        if adapter is None:
            raise HarnessError(f"no adapter was trained for the '{label}' conditions")
        load_adapter_into(base, name, adapter)
        endpoints[label] = base.with_model(name)
    return endpoints


def _remote_base(model: ModelSpec) -> Endpoint:
    if not model.base_url:
        raise HarnessError("model.backend=openai needs model.base_url (an OpenAI-compatible /v1 URL)")
    return Endpoint(normalize_base_url(model.base_url, "model.base_url"), _served_name(model), model.api_key_env)


@contextmanager
def openai_endpoints(model: ModelSpec, base_model: str, adapters: Mapping[str, Path | None]
                     ) -> Iterator[dict[str, Endpoint]]:
    """``model.backend=openai``: the API at ``model.base_url``; adaptations are its own model names."""
    base = _remote_base(model)
    endpoints = {"base": base}
    finetuned = dict(model.adapted_names)
    for label in adapters:
        if label not in finetuned:
            raise HarnessError(
                f"model.backend=openai cannot load a local adapter into a remote API; list the endpoint's "
                f"name of the fine-tuned model as model.adapted_names.{label}=<name>, or drop the "
                f"'{label}' conditions"
            )
        endpoints[label] = base.with_model(str(finetuned[label]))
    served_models(base, setting="model.base_url")  # fail now, not after the first request, when nothing answers
    yield endpoints


@contextmanager
def vllm_endpoints(model: ModelSpec, base_model: str, adapters: Mapping[str, Path | None]
                   ) -> Iterator[dict[str, Endpoint]]:
    """``model.backend=vllm``: attach to ``model.server.base_url``, or launch a server for the run."""
    server_cfg = dict(model.server)
    if server_cfg.get("base_url"):
        yield _attached(model, str(server_cfg["base_url"]), adapters)
        return
    settings = ServerSettings.from_config(server_cfg, model.dtype)
    name = _served_name(model)
    modules = {f"{name}+{label}": Path(path) for label, path in adapters.items() if path is not None}
    serial = _serial_loglikelihood(model)
    with vllm_server(base_model, name, settings, modules) as server:
        names = {"base": name, **{label: f"{name}+{label}" for label in adapters}}
        yield {label: replace(server.endpoint(served), serial_loglikelihood=serial) for label, served in names.items()}


@contextmanager
def model_endpoints(model: ModelSpec, base_model: str, adapters: Mapping[str, Path | None]
                    ) -> Iterator[dict[str, Endpoint]]:
    """Endpoints by adaptation label for a served backend; ``{}`` for in-process backends."""
    serve = backend(model.backend).serve
    if serve is None:
        yield {}
        return
    with serve(model, base_model, adapters) as endpoints:
        yield endpoints


def probe_vllm(model: ModelSpec) -> None:
    """``model.backend=vllm`` attached to ``model.server.base_url``: it answers and serves the model
    (a server the harness launches itself is checked when it starts)."""
    if model.server.get("base_url"):
        _attach_base(model, str(model.server["base_url"]))


def probe_openai(model: ModelSpec) -> None:
    """``model.backend=openai``: ``model.base_url`` answers (with the key, if one is named)."""
    served_models(_remote_base(model), setting="model.base_url")


def probe_endpoints(model: ModelSpec) -> None:
    """Before any work (suite, model, fine-tuning): every endpoint the run's model will be evaluated
    through answers, else one message naming the URL and the config key to fix. The judge's
    endpoint is checked by :func:`harness.scoring.judge.prepare`."""
    probe = backend(model.backend).probe
    if probe is not None:
        probe(model)
