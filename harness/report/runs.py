"""Finding run folders: named directly, made by a Hydra multirun's jobs, or below a folder.

``merge`` and ``report``-style verbs take any of these; a hidden folder (``.name.tmp``) is a run
still being written and is never picked up.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from harness.errors import HarnessError
from harness.records import METRICS_FILE

log = logging.getLogger(__name__)


def is_run_folder(path: Path) -> bool:
    return (path / METRICS_FILE).is_file() and not path.name.startswith(".")


def _resolved_config(path: Path) -> Any:
    from omegaconf import OmegaConf

    try:
        return OmegaConf.to_container(OmegaConf.load(path), resolve=True)
    except Exception as err:  # noqa: BLE001 - an unreadable job config just matches nothing
        log.warning("%s: unreadable (%s)", path, err)
        return None


def sweep_runs(sweep: Path) -> list[Path]:
    """The run folders a Hydra multirun folder (``<results_dir>/.hydra/multirun-<time>/``) made:
    for each job, the earliest run folder from the sweep's start on whose config.yaml equals
    the job's resolved config. A job without one (it failed) is logged and left out."""
    import yaml

    started = sweep.name.removeprefix("multirun-")
    found = []
    for job in sorted((p for p in sweep.iterdir() if (p / ".hydra" / "config.yaml").is_file()),
                      key=lambda p: int(p.name) if p.name.isdigit() else 0):
        cfg = _resolved_config(job / ".hydra" / "config.yaml")
        if not isinstance(cfg, dict):
            continue
        results = Path(str(cfg.get("results_dir", "results")))
        root = (results if results.is_absolute() else sweep.parent.parent) / str(cfg.get("exp_name", ""))
        match = next((run for run in sorted(root.glob("*/config.yaml"))
                      if run.parent.name >= started and not run.parent.name.startswith(".")
                      and yaml.safe_load(run.read_text()) == cfg), None)
        if match is None:
            log.warning("sweep job %s has no completed run folder in %s (did it fail?); left out", job, root)
        else:
            found.append(match.parent)
    return found


def find_runs(paths: list[Path], max_depth: int = 3) -> list[Path]:
    """Run folders named directly, made by a Hydra multirun folder's jobs, or found below a
    folder of runs (hidden folders skipped: ``.name.tmp`` is a run still being written)."""
    found: list[Path] = []
    for given in paths:
        if not given.is_dir():
            raise HarnessError(f"{given}: not a folder; give run folders or a folder holding run folders")
        if is_run_folder(given):
            found.append(given)
            continue
        if (given / "multirun.yaml").is_file():
            found.extend(sweep_runs(given))
            continue
        below: list[Path] = []
        for depth in range(1, max_depth + 1):  # the shallowest level holding runs
            below = [p.parent for p in sorted(given.glob("*/" * depth + METRICS_FILE))
                     if not any(part.startswith(".") for part in p.relative_to(given).parts)]
            if below:
                break
        if not below:
            raise HarnessError(f"{given}: no run folder (with metrics.json) in it or below it")
        found.extend(below)
    unique = list(dict.fromkeys(p.resolve() for p in found))
    if len(unique) < 2:
        raise HarnessError(f"merge needs at least two run folders, found {len(unique)}: "
                           + ", ".join(str(p) for p in unique))
    return unique


__all__ = ["find_runs", "is_run_folder", "sweep_runs"]
