"""lm-eval's completions client, optionally sending log-likelihood requests one at a time.

A vLLM CPU server with LoRA cannot score prompts of base and adapter requests that share an
engine step (see harness/models/vllm_cpu_lora.py). The harness never mixes them — it
evaluates one adaptation after the other — but a server shared with other traffic may:
``model.client.serial_loglikelihood=true`` then keeps one log-likelihood request in flight.
Generation keeps full concurrency.
"""

from __future__ import annotations

from typing import Any

from lm_eval.models.openai_completions import LocalCompletionsAPI


class ServedCompletionsLM(LocalCompletionsAPI):
    """``local-completions`` that can send log-likelihood requests one at a time."""

    def __init__(self, *args: Any, serial_loglikelihood: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.serial_loglikelihood = serial_loglikelihood

    def loglikelihood(self, requests: list[Any], **kwargs: Any) -> list[tuple[float, bool]]:
        if not self.serial_loglikelihood:
            return super().loglikelihood(requests, **kwargs)
        concurrent, self._concurrent = self._concurrent, 1
        try:
            return super().loglikelihood(requests, **kwargs)
        finally:
            self._concurrent = concurrent
