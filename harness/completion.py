"""Finished or not: which run folders are complete, and ``python -m harness clean``.

``RunFolder`` writes a run as ``.<name>.tmp`` and publishes it by writing the completion marker
(``complete.json``) and renaming it, so a folder is a finished run when it carries the marker
— or, for run folders written before the marker existed (the committed baselines), when it has
a plain name and a metrics.json. A ``.<name>.tmp`` folder never is: ``report``, ``compare``
and the other readers refuse it with one message.

A killed run leaves its ``.<name>.tmp`` behind. ``clean`` removes those older than a threshold
(by the folder's modification time) whose writer is gone: the writing process holds an flock on
the folder's ``.running`` file for as long as it lives, and the kernel drops it when the process
dies (``kill -9`` included), so a long fine-tuning that writes nothing for hours is never swept.
"""

from __future__ import annotations

import argparse
import fcntl
import re
import shutil
import sys
import time
from pathlib import Path

from harness.records import COMPLETE_FILE, LOCK_FILE, METRICS_FILE

DEFAULT_HOURS = 1.0
# RunFolder.create's temporary names: .<YYYYmmdd-HHMMSS>-<spec hash>[-<n>].tmp (nothing else is swept)
_TEMPORARY_RUN = re.compile(r"\.\d{8}-\d{6}-[0-9a-f]+(-\d+)?\.tmp")


def is_temporary(path: Path) -> bool:
    """``.<name>.tmp``: a run folder still being written, or left by a killed run."""
    name = Path(path).resolve().name
    return name.startswith(".") and name.endswith(".tmp")


def incomplete_reason(path: Path) -> str | None:
    """Why the folder ``path`` is not a finished run folder, or None when it is one."""
    path = Path(path)
    if is_temporary(path):
        return ("a temporary run folder (.<name>.tmp): its run is still being written, or was killed before "
                "it finished (`python -m harness clean` removes those of killed runs); give a finished run folder")
    if (path / COMPLETE_FILE).is_file() or (path / METRICS_FILE).is_file():
        return None
    return f"no {COMPLETE_FILE} (the completion marker) and no {METRICS_FILE}: not a finished run folder"


def holds_live_run(path: Path) -> bool:
    """Whether a process still writes the temporary run folder ``path`` (it holds the flock)."""
    try:
        handle = open(Path(path) / LOCK_FILE, "rb")  # noqa: SIM115 - closed by the with below
    except OSError:
        return False  # no lock file: a folder from before the lock (or one being published)
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return True
        fcntl.flock(handle, fcntl.LOCK_UN)
    return False


def temporary_folders(root: Path) -> list[Path]:
    """The temporary run folders (``.<time>-<hash>.tmp``) of ``root`` (an experiment folder) and
    of its experiment folders (``<results_dir>/<exp>/``; hidden ones such as ``.hydra`` are not
    looked into). Other temporaries (a judge's scratch, a merge's staging) are not run folders."""
    root = Path(root)
    found = []
    for parent in [root, *sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))]:
        found += [p for p in parent.glob(".*.tmp")
                  if _TEMPORARY_RUN.fullmatch(p.name) and p.is_dir() and not p.is_symlink()]
    return sorted(found)


def stale_folders(root: Path, older_than_hours: float = DEFAULT_HOURS, *, now: float | None = None) -> list[Path]:
    """The temporary run folders under ``root`` left by killed runs: older than the threshold
    and not held by a live process."""
    cutoff = (time.time() if now is None else now) - older_than_hours * 3600
    return [p for p in temporary_folders(root) if p.stat().st_mtime <= cutoff and not holds_live_run(p)]


def clean(root: Path, older_than_hours: float = DEFAULT_HOURS, *, dry_run: bool = False) -> list[Path]:
    """Remove (``dry_run``: only list) the stale temporary run folders under ``root``."""
    stale = stale_folders(root, older_than_hours)
    if not dry_run:
        for path in stale:
            shutil.rmtree(path)
    return stale


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m harness clean",
        description="Remove the temporary run folders (<results_dir>/<exp>/.<name>.tmp) that killed runs left. "
                    "A folder a running job still writes is never touched (it holds a lock on it).")
    p.add_argument("results_dir", nargs="?", type=Path, default=Path("results"),
                   help="results folder (or one experiment's folder) to sweep (default: results)")
    p.add_argument("--older-than", type=float, default=DEFAULT_HOURS, metavar="HOURS",
                   help="only folders untouched for this many hours")
    p.add_argument("--dry-run", action="store_true", help="list what would be removed, remove nothing")
    return p


def main(argv: list[str]) -> int:
    """``clean``: prints each folder removed (or, with --dry-run, that would be); exit status 0."""
    args = parser().parse_args(argv)
    if args.older_than < 0:
        print(f"error: --older-than {args.older_than:g}: expected a number of hours >= 0", file=sys.stderr)
        return 2
    from harness.spec import resolve_path  # as a run resolves results_dir

    root = resolve_path(args.results_dir)
    if not root.is_dir():
        print(f"error: {args.results_dir}: not a folder; give the results folder (default: results)", file=sys.stderr)
        return 2
    total = len(temporary_folders(root))
    removed = clean(root, args.older_than, dry_run=args.dry_run)
    verb = "would remove" if args.dry_run else "removed"
    for path in removed:
        print(f"{verb} {path}")
    print(f"{verb} {len(removed)} temporary run folder(s) of killed runs under {root}; kept "
          f"{total - len(removed)} (still running, or newer than {args.older_than:g} h)")
    return 0
