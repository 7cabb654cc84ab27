"""Content-addressed stage caches: hashing, the cache root, atomic publication, locks.

Every stage (converted model, index, retrieval results, adapter, generations) writes into
``<cache root>/<stage>/<key>/`` where the key is a hash of everything that produced it.
Entries are built in a temporary sibling and renamed into place only when complete, so a
killed build never leaves an entry that looks finished.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")

COMPLETE_MARKER = ".complete"
log = logging.getLogger(__name__)


def cache_root() -> Path:
    """``$HARNESS_CACHE`` or ``~/.cache/harness``."""
    root = os.environ.get("HARNESS_CACHE") or os.path.join(Path.home(), ".cache", "harness")
    path = Path(root).expanduser().resolve()
    path.mkdir(parents=True, exist_ok=True)
    return path


def hash_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def hash_json(obj: Any) -> str:
    """Stable hash of a JSON-able object (sorted keys, no whitespace)."""
    text = json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str)
    return hash_bytes(text.encode("utf-8"))


def hash_file(path: str | os.PathLike[str], chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(chunk), b""):
            digest.update(block)
    return digest.hexdigest()


def hash_tree(path: str | os.PathLike[str]) -> str:
    """Hash of a folder: relative names and contents of every file, in sorted order."""
    root = Path(path)
    digest = hashlib.sha256()
    for file in sorted(p for p in root.rglob("*") if p.is_file()):
        rel = file.relative_to(root).as_posix()
        if rel == COMPLETE_MARKER:
            continue
        digest.update(rel.encode("utf-8") + b"\0" + hash_file(file).encode("ascii") + b"\n")
    return digest.hexdigest()


def short(key: str, n: int = 12) -> str:
    return key[:n]


@contextlib.contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """Exclusive advisory lock so concurrent jobs never build one cache entry twice."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def entry_dir(stage: str, key: str) -> Path:
    return cache_root() / stage / key


def is_complete(path: Path) -> bool:
    return (path / COMPLETE_MARKER).is_file()


HASHED_UP_TO = 64 << 20  # files up to this size are hashed into the marker (adapters: ~19 MB); larger: size only


def inventory(folder: Path) -> dict[str, list[Any]]:
    """``{relative path: [size, sha256 or None]}`` of an entry's files (the marker excluded)."""
    out: dict[str, list[Any]] = {}
    for file in sorted(p for p in folder.rglob("*") if p.is_file()):
        rel = file.relative_to(folder).as_posix()
        if rel != COMPLETE_MARKER:
            size = file.stat().st_size
            out[rel] = [size, hash_file(file) if size <= HASHED_UP_TO else None]
    return out


def damage(entry: Path) -> str | None:
    """Why a complete entry no longer matches what its build wrote (None: intact). Entries
    marked before the marker held an inventory are taken as intact."""
    try:
        recorded = json.loads((entry / COMPLETE_MARKER).read_text()).get("files")
    except (OSError, ValueError, AttributeError):
        return None
    for rel, (size, digest) in (recorded or {}).items():
        file = entry / rel
        if not file.is_file():
            return f"{rel} is missing"
        if file.stat().st_size != size:
            return f"{rel} has {file.stat().st_size} bytes, {size} were written"
        if digest is not None and hash_file(file) != digest:
            return f"{rel} no longer has the sha256 it was written with"
    return None


def quarantine(path: Path, why: str) -> Path:
    """Move a damaged cache file or folder aside (kept for inspection) and say so in one line."""
    aside = path.with_name(f"{path.name}.corrupt-{uuid.uuid4().hex[:8]}")
    os.replace(path, aside)
    log.warning("cache entry %s is damaged (%s): moved to %s and rebuilt", path, why, aside.name)
    return aside


@contextlib.contextmanager
def building(stage: str, key: str) -> Iterator[Path]:
    """Yield a scratch folder; on success it becomes ``entry_dir(stage, key)`` atomically, its
    marker holding the inventory that ``damage`` checks on every later read.

    A stale, incomplete entry (no marker) is removed first and rebuilt, never used.
    """
    final = entry_dir(stage, key)
    final.parent.mkdir(parents=True, exist_ok=True)
    scratch = final.parent / f".{final.name}.{uuid.uuid4().hex[:8]}.tmp"
    scratch.mkdir(parents=True)
    try:
        yield scratch
        (scratch / COMPLETE_MARKER).write_text(json.dumps({"files": inventory(scratch)}) + "\n")
        if final.exists():
            shutil.rmtree(final)
        os.replace(scratch, final)
    finally:
        if scratch.exists():
            shutil.rmtree(scratch, ignore_errors=True)


def write_json_atomic(path: Path, obj: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    tmp.write_text(json.dumps(obj, indent=2, sort_keys=True, default=str) + "\n")
    os.replace(tmp, path)


def get_or_build(stage: str, key: str, build: Callable[[Path], Any], load: Callable[[Path], T], *,
                 valid: Callable[[Path], bool] | None = None) -> T:
    """The one cache primitive: ``load(entry)`` of a complete entry, else build it first.

    Under a lock on the key (so concurrent jobs never build one entry twice), a complete entry
    (marker present, its files as the build wrote them, and ``valid(entry)`` if given) is loaded
    as it is; a damaged one is quarantined (``quarantine``) and rebuilt; otherwise
    ``build(scratch)`` writes into a scratch folder that becomes ``entry_dir(stage, key)``
    atomically only when ``build`` returns. A build that needs the final path inside the files
    it writes (absolute paths in a task YAML) takes it from ``entry_dir(stage, key)``.
    """
    entry = entry_dir(stage, key)
    with file_lock(entry.parent / f"{key}.lock"):
        if is_complete(entry):
            why = damage(entry) or (None if valid is None or valid(entry) else "its own check failed")
            if why is not None:
                quarantine(entry, why)
        if not (is_complete(entry) and (valid is None or valid(entry))):
            with building(stage, key) as scratch:
                build(scratch)
        return load(entry)
