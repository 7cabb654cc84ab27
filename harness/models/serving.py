"""The run's endpoints while it evaluates, and the one recovery a launched server gets.

A vLLM server the harness launched can die mid-run (out of memory, a crashed worker). Answers
it already gave are committed to the response cache, so the cheap and honest recovery is to stop
what is left of it, launch it again (``model.server.restarts`` times, default once) and re-run
the pass: the cache serves what was answered and only the rest is asked. A server the harness
attached to, or a remote API, is not the harness's to restart: its failure is one message. When
the restarts are spent the message quotes the end of the server's log.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from harness import redact
from harness.models.endpoint import Endpoint, EndpointFailure
from harness.models.endpoints import model_endpoints
from harness.models.vllm_server import log_tail
from harness.sections import ModelSpec

log = logging.getLogger(__name__)


def _launches(model: ModelSpec) -> bool:
    return model.backend == "vllm" and not model.server.get("base_url")


def _restarts(model: ModelSpec) -> int:
    try:
        return max(int(model.server.get("restarts", 1)), 0)
    except (TypeError, ValueError):  # ServerSettings.from_config has already refused it
        return 0


class Serving:
    """``with Serving(model, base, adapters) as serving``: ``serving.endpoints`` by adaptation
    label ({} for in-process backends); ``recover(failure)`` restarts a launched server."""

    def __init__(self, model: ModelSpec, base_model: str, adapters: Mapping[str, Path | None]) -> None:
        self.model, self.base_model, self.adapters = model, base_model, dict(adapters)
        self.restarts_left = _restarts(model) if _launches(model) else 0
        self.restarted = 0
        self.endpoints: dict[str, Endpoint] = {}
        self._stack = ExitStack()

    def __enter__(self) -> "Serving":
        self._open()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stack.close()

    def _open(self) -> None:
        self._stack = ExitStack()
        self.endpoints = self._stack.enter_context(model_endpoints(self.model, self.base_model, self.adapters))

    def recover(self, failure: EndpointFailure) -> bool:
        """Restart the launched server after a lost connection (True), or say it cannot (False):
        an HTTP error status is the server answering, not the server gone."""
        if failure.status is not None or self.restarts_left <= 0:
            return False
        log.warning("%s; restarting the vLLM server (%d restart(s) left) and continuing from the response cache",
                    failure, self.restarts_left - 1)
        self._stack.close()  # stops what is left of the dead server's process group
        self.restarts_left -= 1
        self.restarted += 1
        self._open()
        return True

    def final(self, failure: EndpointFailure, label: str) -> EndpointFailure:
        """The one message of a failure that stays: with the end of the server's log, when the
        harness launched the server."""
        endpoint = self.endpoints.get(label)
        if failure.status is not None or endpoint is None or endpoint.server_log is None:
            return failure
        spent = f" after {self.restarted} restart(s)" if self.restarted else " (model.server.restarts=0)"
        message = (f"{failure}{spent}; last lines of the server log {endpoint.server_log}:\n"
                   f"{log_tail(endpoint.server_log)}")
        return EndpointFailure(redact.redact(message), failure.url, failure.status)


__all__ = ["Serving"]
