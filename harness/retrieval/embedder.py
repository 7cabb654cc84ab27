"""Sentence embedder loaded from a local folder only (the default run never touches a hub)."""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from harness import cache
from harness.errors import HarnessError
from harness.models import wheels

log = logging.getLogger(__name__)

# Show a progress bar only when an encode is long enough to wonder about.
PROGRESS_MIN_TEXTS = 1000


@dataclass(frozen=True)
class Embedder:
    """A loaded model plus the weights hash that names every index built with it."""

    spec: str
    path: Path
    weights_sha256: str
    dimension: int
    model: Any  # sentence_transformers.SentenceTransformer

    def encode(
        self, texts: list[str], batch_size: int = 64, progress: bool | None = None
    ) -> np.ndarray:
        """Unit-length float32 rows, so inner product equals cosine similarity."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        show = len(texts) >= PROGRESS_MIN_TEXTS if progress is None else progress
        vectors = self.model.encode(
            list(texts),
            batch_size=batch_size,
            show_progress_bar=show,
            normalize_embeddings=True,
            convert_to_numpy=True,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)


def resolve(spec: str, role: str = "embedder") -> wheels.LocalModel:
    """``wheel:<name>`` from the PyPI-shipped models, or a local sentence-transformers folder
    (``role`` names what it is for in errors: embedder, reranker)."""
    if spec in wheels.WHEEL_MODELS:
        return wheels.WHEEL_MODELS[spec]()
    if spec.startswith("wheel:"):
        raise HarnessError(
            f"{role} '{spec}' is not a wheel-shipped model; known: {sorted(wheels.WHEEL_MODELS)}"
        )
    folder = Path(spec).expanduser()
    if not folder.is_dir():
        raise HarnessError(
            f"{role} '{spec}' is neither a wheel model nor a local folder; hub names are not "
            f"fetched (runs are offline) — download the model and pass its folder"
        )
    weights = folder / "model.safetensors"
    digest = cache.hash_file(weights) if weights.is_file() else cache.hash_tree(folder)
    return wheels.LocalModel(folder.resolve(), digest)


@functools.lru_cache(maxsize=4)
def fingerprint(spec: str, role: str = "embedder") -> str:
    """Weights hash of a model without loading it (enough to look up cached indexes)."""
    return resolve(spec, role).weights_sha256


@functools.lru_cache(maxsize=2)
def load_embedder(spec: str = "wheel:all-minilm-l6-v2") -> Embedder:
    """Load once per process: several conditions in one run share the model."""
    local = resolve(spec)
    wheels.offline_env()
    from sentence_transformers import SentenceTransformer

    log.info("loading embedder %s from %s", spec, local.path)
    model = SentenceTransformer(str(local.path), device="cpu", local_files_only=True)
    dimension = int(model.get_embedding_dimension())
    return Embedder(spec, local.path, local.weights_sha256, dimension, model)
