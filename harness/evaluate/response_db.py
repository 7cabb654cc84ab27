"""The response cache lm-eval keeps per model fingerprint (``<prefix>_rank<N>.db``, SQLite), checked
before every pass: a truncated or damaged file otherwise fails every later run with
``sqlite3.DatabaseError: database disk image is malformed`` and is never repaired."""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator, Sequence
from pathlib import Path

from harness import cache


def damage(path: Path) -> str | None:
    """Why a response database cannot be read (None: it passes SQLite's quick_check)."""
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
            verdict = db.execute("PRAGMA quick_check").fetchone()
    except sqlite3.DatabaseError as err:
        return str(err)
    return None if verdict and verdict[0] == "ok" else f"quick_check: {verdict[0] if verdict else 'no answer'}"


def heal(prefix: Path) -> list[Path]:
    """Quarantine every damaged ``<prefix>_rank*.db`` (lm-eval then starts it afresh and the
    answers are generated again); returns where the damaged files went."""
    moved = []
    for path in sorted(prefix.parent.glob(f"{prefix.name}_rank*.db")):
        why = damage(path)
        if why is not None:
            moved.append(cache.quarantine(path, why))
    return moved


@contextlib.contextmanager
def answering(prefix: Path, tasks: Sequence[str]) -> Iterator[None]:
    """Hold the lock of one (model fingerprint, task variants) pass: a second identical run
    waits for the first and then reads its committed answers from the response cache instead
    of generating every answer again in parallel (902 s each for two at once vs 204 s alone)."""
    key = cache.hash_json(sorted(tasks))
    with cache.file_lock(prefix.parent / f"pass-{cache.short(key, 16)}.lock"):
        yield


__all__ = ["answering", "damage", "heal"]
