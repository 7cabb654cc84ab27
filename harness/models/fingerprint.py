"""Model fingerprints: the identity every generation cache is keyed by.

lm-eval's own response cache keys requests by prompt and decoding arguments only; a base
model and its LoRA adapter sharing one cache file would get each other's answers. Giving
every (weights, adapter, backend, dtype, prompt format) its own cache file rules that out.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from harness import cache
from harness.models.endpoint import Endpoint


@dataclass(frozen=True)
class ModelUnderTest:
    """A servable model: base weights plus an optional adapter, with how it is run."""

    label: str
    base_path: Path
    base_sha256: str
    adapter_path: Path | None
    adapter_sha256: str | None
    backend: str
    dtype: str
    chat_template: bool
    # Served backends: where requests go (the key is read from the environment, never stored).
    endpoint: Endpoint | None = None
    # Tokenizer (local folder or hub id) lm-eval counts and renders prompts with.
    tokenizer: str | None = None

    @property
    def fingerprint(self) -> str:
        return cache.hash_json(
            {
                "base": self.base_sha256,
                "adapter": self.adapter_sha256,
                "backend": self.backend,
                "dtype": self.dtype,
                "chat_template": self.chat_template,
            }
        )

    def generation_cache_prefix(self) -> Path:
        """lm-eval appends ``_rank<N>.db`` to this prefix."""
        folder = cache.cache_root() / "generations" / cache.short(self.fingerprint, 24)
        folder.mkdir(parents=True, exist_ok=True)
        return folder / "responses"
