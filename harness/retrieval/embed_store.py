"""Passage embeddings on disk as a float32 ``.npy`` memmap, filled batch by batch.

Embedding is the slow part of building a dense index (hours for a 1M-passage corpus on a
CPU), so progress is committed after every batch: a killed build resumes from the last
completed batch. Batches are written and read through short-lived mappings, so neither
embedding nor index building needs the whole matrix in RAM. One store per (passages,
embedder) is shared by every index type built over it.

Layout: ``<cache>/embeddings/<key>.partial/{vectors.npy,progress.json}`` while filling,
moved to ``<cache>/embeddings/<key>/`` (with the complete marker) when done.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from harness import cache

log = logging.getLogger(__name__)

STAGE = "embeddings"
VECTORS_FILE = "vectors.npy"
PROGRESS_FILE = "progress.json"

Encode = Callable[[list[str]], np.ndarray]
OnBatch = Callable[[int, int], None]  # (batches done in this call, rows done in total)


@dataclass(frozen=True)
class NpyRows:
    """Read-only rows of a ``.npy`` matrix; each slice maps the file only while copying it,
    so reading a large matrix batch by batch never keeps it all resident."""

    path: Path
    shape: tuple[int, int]

    @classmethod
    def open(cls, path: Path) -> NpyRows:
        matrix = np.load(path, mmap_mode="r")
        shape = (int(matrix.shape[0]), int(matrix.shape[1]))
        del matrix
        return cls(Path(path), shape)

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, rows: slice) -> np.ndarray:
        matrix = np.load(self.path, mmap_mode="r")
        try:
            return np.array(matrix[rows], dtype=np.float32, copy=True)
        finally:
            del matrix


def _read_progress(folder: Path, expected: dict) -> int:
    """Rows already embedded in a partial store, or 0 when it cannot be trusted."""
    try:
        progress = json.loads((folder / PROGRESS_FILE).read_text())
        matrix = np.load(folder / VECTORS_FILE, mmap_mode="r")
        shape = tuple(matrix.shape)
        del matrix
    except (OSError, ValueError) as err:
        log.warning("partial embeddings in %s are unreadable (%s); starting over", folder, err)
        return 0
    if {k: progress.get(k) for k in expected} != expected or shape != (expected["count"], expected["dim"]):
        log.warning("partial embeddings in %s were made for other passages; starting over", folder)
        return 0
    return int(progress.get("rows_done", 0))


def fill(
    texts: Sequence[str],
    encode: Encode,
    folder: Path,
    dim: int,
    batch_rows: int,
    identity: str = "",
    on_batch: OnBatch | None = None,
) -> int:
    """Embed ``texts`` into ``folder/vectors.npy`` from wherever a previous call stopped.

    Returns the number of rows embedded by this call. ``identity`` names what the vectors
    mean (passages + embedder); a partial store made for another identity is discarded.
    """
    folder.mkdir(parents=True, exist_ok=True)
    expected = {"identity": identity, "count": len(texts), "dim": dim}
    done = _read_progress(folder, expected) if (folder / PROGRESS_FILE).is_file() else 0
    if done == 0:
        np.lib.format.open_memmap(folder / VECTORS_FILE, mode="w+", dtype=np.float32,
                                  shape=(len(texts), dim)).flush()
    elif done < len(texts):
        log.info("resuming embeddings at row %d of %d", done, len(texts))
    start_done, batches = done, 0
    while done < len(texts):
        stop = min(done + batch_rows, len(texts))
        vectors = np.asarray(encode(list(texts[done:stop])), dtype=np.float32)
        if vectors.shape != (stop - done, dim):
            raise ValueError(f"encoder returned shape {vectors.shape}, expected {(stop - done, dim)}")
        matrix = np.lib.format.open_memmap(folder / VECTORS_FILE, mode="r+")
        matrix[done:stop] = vectors
        matrix.flush()
        del matrix
        done = stop
        cache.write_json_atomic(folder / PROGRESS_FILE, dict(expected, rows_done=done))  # commit point
        batches += 1
        if on_batch is not None:
            on_batch(batches, done)
    return done - start_done


def embed_store(
    key: str,
    texts: Sequence[str],
    encode: Encode,
    dim: int,
    batch_rows: int = 4096,
    on_batch: OnBatch | None = None,
) -> NpyRows:
    """The complete store for ``key`` (filled, or resumed, first when needed).

    The partial store (``<key>.partial``) outlives a killed build, so it is filled there and
    its files moved into the scratch folder ``cache.get_or_build`` publishes as the entry.
    """
    partial = cache.entry_dir(STAGE, key).with_name(f"{key}.partial")

    def valid(entry: Path) -> bool:
        try:
            rows = NpyRows.open(entry / VECTORS_FILE)
        except (OSError, ValueError) as err:
            log.warning("embedding store %s is unreadable (%s); rebuilding", entry, err)
            return False
        if rows.shape != (len(texts), dim):
            log.warning("embedding store %s has shape %s, expected %s; rebuilding", entry, rows.shape,
                        (len(texts), dim))
            return False
        return True

    def build(scratch: Path) -> None:
        fill(texts, encode, partial, dim, batch_rows, key, on_batch)
        for name in (VECTORS_FILE, PROGRESS_FILE):
            os.replace(partial / name, scratch / name)
        shutil.rmtree(partial)

    return cache.get_or_build(STAGE, key, build, lambda entry: NpyRows.open(entry / VECTORS_FILE), valid=valid)
