"""Dense indexes cached on disk, keyed by (passages, chunking, embedder weights, index params).

Embeddings live in a resumable store (``embed_store``) shared by every index type over the
same passages, so switching flat → hnsw → ivfpq never re-embeds.

An entry holds ``index.faiss``, ``ids.json`` (passage id per row) and ``meta.json``. Loading
checks every recorded fact against the expectation (dimension, count, ids, embedder, params,
file hash); any mismatch or unreadable file is logged and the entry rebuilt, never used.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness import cache
from harness.retrieval import dense, embed_store
from harness.retrieval.config import RetrieverConfig
from harness.retrieval.embedder import Embedder, fingerprint
from harness.retrieval.passages import Passage, passages_hash

log = logging.getLogger(__name__)

STAGE = "dense_index"
SCHEMA = 2
EMBED_COMMIT_ROWS = 4096  # passages embedded between two resumable commits
INDEX_FILE = "index.faiss"
IDS_FILE = "ids.json"
META_FILE = "meta.json"


@dataclass(frozen=True)
class DenseIndex:
    index: Any  # faiss.Index
    ids: list[str]  # passage id of each index row
    key: str
    path: Path
    built: bool  # True when this call built it (False: loaded from the cache)


class InvalidEntry(Exception):
    """A cache entry that must not be used."""


def dense_index_key(items: list[Passage], cfg: RetrieverConfig) -> str:
    """Computable without loading the embedder, so cached results need no model at all."""
    return cache.hash_json(
        {
            "schema": SCHEMA,
            "passages": passages_hash(items),
            "chunking": cfg.chunk_params().to_dict(),
            "embedder": fingerprint(cfg.embedder),
            "params": cfg.index_params(),
        }
    )


def embeddings_key(items: list[Passage], embedder: Embedder) -> str:
    """Names the embedding store: index params are not in it, so index types share it."""
    return cache.hash_json({"schema": 1, "passages": passages_hash(items), "embedder": embedder.weights_sha256})


def load_or_build_dense(
    items: list[Passage],
    cfg: RetrieverConfig,
    embedder: Embedder,
    on_batch: embed_store.OnBatch | None = None,
    commit_rows: int = EMBED_COMMIT_ROWS,
) -> DenseIndex:
    """The cached index over ``items``, built (embedding resumably) when missing or unusable.

    ``on_batch`` is called after each committed embedding batch (progress, or tests that kill
    a build part-way)."""
    key = dense_index_key(items, cfg)
    expected = {
        "schema": SCHEMA,
        "dimension": embedder.dimension,
        "count": len(items),
        "embedder_sha256": embedder.weights_sha256,
        "params": cfg.index_params(),
    }
    ids = [p.pid for p in items]
    got: dict[str, Any] = {}  # the index loaded (valid entry) or built, and whether it was built

    def valid(entry: Path) -> bool:
        try:
            got.update(index=_load_entry(entry, expected, ids), built=False)
            return True
        except InvalidEntry as err:
            log.warning("dense index cache entry %s is unusable (%s); rebuilding", entry, err)
            return False

    def build(scratch: Path) -> None:
        log.info("embedding %d passages with %s", len(items), embedder.spec)
        vectors = embed_store.embed_store(
            embeddings_key(items, embedder),
            [p.index_text for p in items],
            lambda texts: embedder.encode(texts, batch_size=cfg.batch_size),
            embedder.dimension,
            commit_rows,
            on_batch,
        )
        index = dense.build_index(vectors, cfg.index_params())
        dense.save_index(index, scratch / INDEX_FILE)
        (scratch / IDS_FILE).write_text(json.dumps(ids))
        meta = dict(expected, index_sha256=cache.hash_file(scratch / INDEX_FILE), embedder=embedder.spec,
                    built_as=dense.index_type(index), embeddings=str(vectors.path))
        (scratch / META_FILE).write_text(json.dumps(meta, indent=2, sort_keys=True))
        got.update(index=index, built=True)

    return cache.get_or_build(STAGE, key, build, lambda entry: DenseIndex(got["index"], ids, key, entry, got["built"]),
                              valid=valid)


def _load_entry(entry: Path, expected: dict[str, Any], ids: list[str]) -> Any:
    try:
        meta = json.loads((entry / META_FILE).read_text())
        stored_ids = json.loads((entry / IDS_FILE).read_text())
    except (OSError, ValueError) as err:
        raise InvalidEntry(f"unreadable meta/ids: {err}") from err
    for name, value in expected.items():
        if meta.get(name) != value:
            raise InvalidEntry(f"{name} is {meta.get(name)!r}, expected {value!r}")
    if stored_ids != ids:
        raise InvalidEntry("passage ids differ from the corpus")
    index_file = entry / INDEX_FILE
    try:
        if cache.hash_file(index_file) != meta.get("index_sha256"):
            raise InvalidEntry("index file hash differs from meta.json (truncated or modified)")
        index = dense.load_index(index_file)
    except (OSError, RuntimeError) as err:
        raise InvalidEntry(f"unreadable index file: {err}") from err
    if index.d != expected["dimension"] or index.ntotal != expected["count"]:
        raise InvalidEntry(f"index has d={index.d}, n={index.ntotal}; expected "
                           f"d={expected['dimension']}, n={expected['count']}")
    return index
