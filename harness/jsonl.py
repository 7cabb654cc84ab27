"""The one JSON-lines reader and writer: suites, task variants, run records and caches use it.

Why one owner: every reader must name the file and line of a bad row the same way, and every
writer must publish atomically (a killed writer never leaves half a file behind).
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from harness.errors import HarnessError


def iter_numbered(path: Path, *, show: str | None = None) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, row) for each non-blank line; a bad line is a HarnessError naming it.

    ``show`` is how the file is named in messages (default: the path as given).
    """
    name = show if show is not None else str(path)
    if not Path(path).is_file():
        raise HarnessError(f"{name}: file not found")
    with open(path, "rb") as handle:
        for lineno, raw in enumerate(handle, start=1):
            try:  # a byte-order mark is not part of the first row
                line = raw.decode("utf-8-sig" if lineno == 1 else "utf-8")
            except UnicodeDecodeError as err:
                raise HarnessError(f"{name} line {lineno}: not UTF-8 text (byte 0x{raw[err.start]:02x} at byte "
                                   f"{err.start + 1} of the line); save the file as UTF-8") from None
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as err:
                raise HarnessError(f"{name} line {lineno}: invalid JSON ({err.msg}, column {err.colno})") from err
            if not isinstance(row, dict):
                raise HarnessError(f"{name} line {lineno}: expected a JSON object, got {type(row).__name__}")
            yield lineno, row


def read_jsonl(path: Path, *, show: str | None = None) -> list[dict[str, Any]]:
    """Every row of a JSON-lines file (blank lines skipped)."""
    return [row for _, row in iter_numbered(path, show=show)]


def dumps_row(row: Mapping[str, Any]) -> str:
    """One row as the harness writes it: UTF-8 text kept as is, anything odd as its str()."""
    return json.dumps(dict(row), ensure_ascii=False, default=str)


def write_jsonl(path: Path, rows: Iterable[Mapping[str, Any]]) -> Path:
    """Write rows as JSON lines, atomically (temporary sibling, then rename); returns ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        with open(tmp, "w", encoding="utf-8") as handle:
            for row in rows:
                handle.write(dumps_row(row) + "\n")
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path
