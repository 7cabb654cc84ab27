"""Where judgments live: a cache shared by every run, and the run folder's own copy.

The cache (``$HARNESS_CACHE/judge/<identity>/judgments.sqlite``) keeps the judge's raw reply
per (question, reference, answer), one database per judge identity, so a rerun or another run
with the same answers never asks the judge again and two judges never read each other's
entries. Replies are stored raw and parsed when used: a better parser needs no re-judging.
Each batch is committed, so a killed pass resumes where it stopped.

The run folder keeps ``judge/judge.json`` (who judged, the prompt and rubric, counts) and
``judge/<condition>/<task>.jsonl`` (one line per judged answer: scores, or why the reply did not
parse, and the raw reply), so ``report`` rebuilds the judge columns without any model.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import uuid
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from harness import cache
from harness.records import JUDGE_DIR, read_records

INFO_FILE = "judge.json"


def item_key(question: str, reference: str, answer: str) -> str:
    """What one judgment is about; the judge's identity is the cache folder."""
    return cache.hash_json({"question": question, "reference": reference, "answer": answer})


class JudgeCache:
    """Raw judge replies of one judge identity, keyed by :func:`item_key`."""

    def __init__(self, identity: Mapping[str, Any]):
        self.folder = cache.cache_root() / "judge" / cache.short(str(identity["sha256"]), 24)
        self.folder.mkdir(parents=True, exist_ok=True)
        if not (self.folder / "identity.json").is_file():  # for a human reading the cache
            cache.write_json_atomic(self.folder / "identity.json", dict(identity))
        self.path = self.folder / "judgments.sqlite"
        with self._connect() as db:
            db.execute("CREATE TABLE IF NOT EXISTS replies (key TEXT PRIMARY KEY, reply TEXT NOT NULL)")

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self.path, timeout=120)

    def get(self, keys: Iterable[str]) -> dict[str, str]:
        wanted = list(dict.fromkeys(keys))
        out: dict[str, str] = {}
        with self._connect() as db:
            for first in range(0, len(wanted), 500):
                chunk = wanted[first:first + 500]
                marks = ",".join("?" * len(chunk))
                out.update(db.execute(f"SELECT key, reply FROM replies WHERE key IN ({marks})", chunk).fetchall())
        return out

    def put(self, replies: Mapping[str, str]) -> None:
        with self._connect() as db:
            db.executemany("INSERT OR REPLACE INTO replies (key, reply) VALUES (?, ?)", list(replies.items()))


def write_run_judgments(run_dir: Path, info: Mapping[str, Any],
                        rows: Mapping[tuple[str, str], list[dict[str, Any]]]) -> Path:
    """Replace ``<run_dir>/judge/`` with these judgments (built aside, then swapped in)."""
    run_dir = Path(run_dir)
    scratch = run_dir / f".{JUDGE_DIR}.{uuid.uuid4().hex[:8]}.tmp"
    scratch.mkdir()
    try:
        for (condition, task), lines in sorted(rows.items()):
            path = scratch / condition / f"{task}.jsonl"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text("".join(json.dumps(line, ensure_ascii=False, sort_keys=True) + "\n" for line in lines),
                            encoding="utf-8")
        cache.write_json_atomic(scratch / INFO_FILE, dict(info))
        final = run_dir / JUDGE_DIR
        old = run_dir / f".{JUDGE_DIR}.{uuid.uuid4().hex[:8]}.old"
        if final.exists():
            os.replace(final, old)
        os.replace(scratch, final)
        shutil.rmtree(old, ignore_errors=True)
        return final
    finally:
        if scratch.exists():
            shutil.rmtree(scratch, ignore_errors=True)


def read_run_judgments(run_dir: Path) -> tuple[dict[str, Any], dict[tuple[str, str], list[dict[str, Any]]]] | None:
    """(judge.json, (condition, task) -> lines) of a run folder, or None when it was not judged."""
    folder = Path(run_dir) / JUDGE_DIR
    if not (folder / INFO_FILE).is_file():
        return None
    info = json.loads((folder / INFO_FILE).read_text())
    rows = {(path.parent.name, path.stem): read_records(path) for path in sorted(folder.glob("*/*.jsonl"))}
    return info, rows
