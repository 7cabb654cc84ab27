"""The run-folder contract: where a run's files live, and the per-sample record format.

One owner, because the pipeline writes a run folder and the report, the judge, ``compare``,
``merge``, ``history`` and the all-suites leaderboard read it back, often months later: the
layout below must mean the same to all of them. A run folder holds

- ``samples/<condition>/<task>.jsonl``: one record per question (``sample_record``); a run with
  several fine-tuning seeds also keeps ``samples/<condition>/seed<k>/<task>.jsonl`` per seed,
  and the condition's own file is the seed mean (``mean_over_seeds``);
- ``samples/<condition>[/seed<k>]/forgetting/<task>.jsonl``: the forgetting suite's records;
- ``metrics.json`` (lm-eval's aggregates per condition and task, ``task_metrics``),
  ``manifest.json``, ``config.yaml``, ``tasks/`` (the exact task rows evaluated) and ``judge/``;
- ``complete.json``: the completion marker ``RunFolder.publish`` writes last.

A run is written as ``.<name>.tmp`` (its process holds an flock on the ``.running`` file
inside while it lives) and renamed when complete; :mod:`harness.completion` tells finished
folders from temporary ones and sweeps those of killed runs (``python -m harness clean``).

This module sits at the bottom of the import graph (stdlib, harness.cache, harness.jsonl and
harness.errors only) so that every stage may import it.
"""

from __future__ import annotations

import errno
import fcntl
import json
import math
import os
import shutil
from collections.abc import Iterable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from harness import cache
from harness.errors import HarnessError
from harness.jsonl import read_jsonl, write_jsonl

SampleRecord = dict[str, Any]  # one question as a run folder stores it (see sample_record)
# condition -> task -> sample id -> metric -> score
Samples = dict[str, dict[str, dict[str, dict[str, float]]]]
# condition -> task -> list of full per-sample records
Records = dict[str, dict[str, list[SampleRecord]]]

SAMPLES_DIR = "samples"
FORGETTING_DIR = "forgetting"
JUDGE_DIR = "judge"
TASKS_DIR = "tasks"
METRICS_FILE = "metrics.json"
MANIFEST_FILE = "manifest.json"
CONFIG_FILE = "config.yaml"
COMPLETE_FILE = "complete.json"  # the completion marker, written by RunFolder.publish
LOCK_FILE = ".running"  # flock-ed by the process writing a temporary run folder

# ---------------------------------------------------------------- records from lm-eval


def _output(sample: dict[str, Any]) -> Any:
    filtered = sample.get("filtered_resps") or []
    if sample.get("arguments") and len(sample["arguments"]) > 1:
        # multiple choice: one loglikelihood request per choice; report the argmax choice index
        scores = [r[0] if isinstance(r, (list, tuple)) else r for r in filtered]
        return max(range(len(scores)), key=lambda i: float(scores[i])) if scores else None
    return filtered[0] if filtered else None


def sample_record(condition: str, task: str, sample: dict[str, Any]) -> SampleRecord:
    """One lm-eval logged sample as the harness stores it: what a reader needs to audit one
    answer (the exact prompt, the retrieved and included passages, the output, every score)."""
    doc = sample.get("doc", {})
    args = sample.get("arguments") or [[""]]
    record: SampleRecord = {
        "condition": condition,
        "task": task,
        "doc_id": sample.get("doc_id"),
        "id": doc.get("id"),
        "question": doc.get("question"),
        "target": sample.get("target"),
        "context": doc.get("context", ""),
        "retrieved_ids": doc.get("retrieved_ids", []),
        "context_ids": doc.get("context_ids", []),
        "gold_ids": doc.get("gold_ids", []),
        "prompt": args[0][0] if args and args[0] else "",
        "output": _output(sample),
        "scores": {m: sample.get(m) for m in sample.get("metrics", [])},
    }
    if "choices" in doc:
        record["choices"] = doc["choices"]
    return record


def task_metrics(results: dict[str, Any], task: str) -> dict[str, float]:
    """``{"contains": 0.4, "contains_stderr": 0.04, ...}`` from lm-eval's ``results`` block."""
    block = results.get("results", {}).get(task, {})
    metrics: dict[str, float] = {}
    for key, value in block.items():
        if "," not in key or not isinstance(value, (int, float)):
            continue
        name, _filter = key.split(",", 1)
        metrics[name] = float(value)
    metrics["n"] = float(results.get("n-samples", {}).get(task, {}).get("effective", 0))
    return metrics


# ---------------------------------------------------------------- reading records


def sample_key(record: Mapping[str, Any]) -> str:
    """The id a sample is paired on: the suite's row id, else lm-eval's doc index."""
    if record.get("id") is not None:
        return str(record["id"])
    return f"doc:{record.get('doc_id')}"


def _score(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def read_records(path: Path) -> list[SampleRecord]:
    """The records of one ``samples/<condition>/<task>.jsonl`` file.

    A damaged line is a ValueError naming the file and line: ``report`` turns it into "the run
    folder is damaged" rather than a traceback."""
    try:
        return read_jsonl(Path(path))
    except HarnessError as err:
        raise ValueError(str(err)) from err


def record_files(run_dir: Path, sub: str = "") -> list[Path]:
    """``samples/<condition>/<task>.jsonl`` of a run folder, in name order ([] if none);
    ``sub="forgetting"``: the forgetting suite's ``samples/<condition>/forgetting/<task>.jsonl``."""
    root = Path(run_dir) / SAMPLES_DIR
    return sorted(root.glob(f"*/{sub}/*.jsonl" if sub else "*/*.jsonl")) if root.is_dir() else []


def _condition_of(path: Path, sub: str) -> str:
    return path.parent.parent.name if sub else path.parent.name


def flat_scores(record: Mapping[str, Any]) -> dict[str, float]:
    """One record's scores as floats, plus what the statistics need beyond them:
    ``<metric>@gold`` / ``<metric>@pred`` for a label metric stored as ``[gold, pred]`` (macro-F1),
    ``<metric>@seed<k>`` for each fine-tuning seed's score, and ``@n_choices`` (chance level)."""
    out: dict[str, float] = {}
    for metric, value in (record.get("scores") or {}).items():
        out[metric] = _score(value)
        if isinstance(value, list) and len(value) == 2:
            out[f"{metric}{GOLD}"], out[f"{metric}{PRED}"] = _score(value[0]), _score(value[1])
    for seed, scores in sorted((record.get("seed_scores") or {}).items()):
        for metric, value in (scores or {}).items():
            out[f"{metric}{SEED}{seed}"] = _score(value)
    if isinstance(record.get("choices"), list) and record["choices"]:
        out[N_CHOICES] = float(len(record["choices"]))
    return out


GOLD, PRED, SEED, N_CHOICES = "@gold", "@pred", "@seed", "@n_choices"


def load_samples(run_dir: Path, sub: str = "") -> Samples:
    """Per-sample scores of a run folder, keyed by condition, task and sample id ({} if none);
    each sample's entry as ``flat_scores`` gives it."""
    out: Samples = {}
    for path in record_files(run_dir, sub):
        out.setdefault(_condition_of(path, sub), {})[path.stem] = {
            sample_key(r): flat_scores(r) for r in read_records(path)}
    return out


def load_records(run_dir: Path, sub: str = "") -> Records:
    """Full per-sample records of a run folder: condition -> task -> rows ({} if none)."""
    out: Records = {}
    for path in record_files(run_dir, sub):
        out.setdefault(_condition_of(path, sub), {})[path.stem] = read_records(path)
    return out


# ---------------------------------------------------------------- several fine-tuning seeds


def mean_metrics(per_seed: list[dict[str, dict[str, float]]]) -> dict[str, dict[str, float]]:
    """Task metrics averaged over seeds (every numeric entry, stderr included)."""
    out: dict[str, dict[str, float]] = {}
    for task in per_seed[0]:
        keys = set.intersection(*(set(m.get(task, {})) for m in per_seed))
        out[task] = {k: sum(m[task][k] for m in per_seed) / len(per_seed) for k in sorted(keys)}
    return out


def mean_over_seeds(per_seed: dict[int, list[SampleRecord]]) -> list[SampleRecord]:
    """The first seed's records with every score averaged over the seeds, question by question
    (so CIs and paired deltas are over questions of the seed-averaged model); each seed's score
    and output kept under ``seed_scores`` / ``seed_outputs``."""
    by_seed = {seed: {sample_key(r): r for r in rows} for seed, rows in per_seed.items()}
    first = next(iter(per_seed.values()))
    merged = []
    for record in first:
        key = sample_key(record)
        got = {seed: rows[key] for seed, rows in by_seed.items() if key in rows}
        scores = {}
        for metric in record.get("scores") or {}:
            values = [float(r["scores"][metric]) for r in got.values()
                      if isinstance((r.get("scores") or {}).get(metric), (int, float))]
            scores[metric] = sum(values) / len(values) if values else record["scores"][metric]
        merged.append(dict(record, scores=scores,
                           seed_scores={str(s): r.get("scores") for s, r in got.items()},
                           seed_outputs={str(s): r.get("output") for s, r in got.items()}))
    return merged


# ---------------------------------------------------------------- the folder


class RunFolder:
    """A run folder: written under a temporary name (``.path``), renamed to ``.final`` when
    complete, so a killed run never leaves a folder that looks finished. An existing folder
    opened with ``RunFolder(path)`` has ``.path == .final``."""

    def __init__(self, path: Path, final: Path | None = None) -> None:
        self.path = Path(path)
        self.final = Path(final) if final is not None else self.path
        self._lock: Any = None  # the open, flock-ed LOCK_FILE of a folder this process writes

    @classmethod
    def create(cls, parent: Path, digest: str) -> RunFolder:
        """``<parent>/<YYYYmmdd-HHMMSS>-<digest[:10]>[-<n>]`` (never an existing name), created as
        ``.<name>.tmp`` to be renamed by ``publish``. The temporary folder's ``mkdir`` is what
        claims a name, so runs of one spec started in the same second (other processes
        included) each get their own."""
        parent = Path(parent)
        parent.mkdir(parents=True, exist_ok=True)
        base = f"{datetime.now().strftime('%Y%m%d-%H%M%S')}-{cache.short(digest, 10)}"
        for n in range(100_000):
            final = parent / (base if n == 0 else f"{base}-{n}")
            tmp = parent / f".{final.name}.tmp"
            if final.exists():
                continue
            try:
                tmp.mkdir()
            except FileExistsError:  # another run of the same second holds this name
                continue
            if final.exists():  # that run published between our check and our mkdir
                tmp.rmdir()
                continue
            folder = cls(tmp, final)
            folder._lock = open(tmp / LOCK_FILE, "wb")  # noqa: SIM115 - held until publish/discard
            fcntl.flock(folder._lock, fcntl.LOCK_EX)
            return folder
        raise HarnessError(f"{parent}: no free run-folder name for {base}")

    def _release(self) -> None:
        if self._lock is not None:
            self._lock.close()
            self._lock = None

    def publish(self) -> Path:
        """Write the completion marker, rename the complete folder to its final name; returns it."""
        if self.path != self.final:
            cache.write_json_atomic(self.path / COMPLETE_FILE, {
                "run": self.final.name, "published": datetime.now().isoformat(timespec="seconds")})
            (self.path / LOCK_FILE).unlink(missing_ok=True)
            try:
                os.rename(self.path, self.final)
            except OSError as err:
                if err.errno not in (errno.EEXIST, errno.ENOTEMPTY):
                    raise
                raise HarnessError(f"{self.final} already exists: another run was published under this name "
                                   "(it is not overwritten)") from err
            self.path = self.final
            self._release()
        return self.final

    def discard(self) -> None:
        """Remove an unfinished folder (a failed or interrupted run)."""
        if self.path != self.final:
            shutil.rmtree(self.path, ignore_errors=True)
            self._release()

    def __repr__(self) -> str:
        return f"RunFolder({str(self.path)!r}, final={str(self.final)!r})"

    # paths
    @property
    def samples_dir(self) -> Path:
        return self.path / SAMPLES_DIR

    @property
    def judge_dir(self) -> Path:
        return self.path / JUDGE_DIR

    @property
    def tasks_dir(self) -> Path:
        return self.path / TASKS_DIR

    @property
    def metrics_file(self) -> Path:
        return self.path / METRICS_FILE

    @property
    def manifest_file(self) -> Path:
        return self.path / MANIFEST_FILE

    @property
    def config_file(self) -> Path:
        return self.path / CONFIG_FILE

    def samples_file(self, condition: str, task: str, *, seed: int | None = None,
                     forgetting: bool = False) -> Path:
        """``samples/<condition>[/seed<k>][/forgetting]/<task>.jsonl``."""
        folder = self.samples_dir / condition
        if seed is not None:
            folder = folder / f"seed{seed}"
        if forgetting:
            folder = folder / FORGETTING_DIR
        return folder / f"{task}.jsonl"

    # writing and reading
    def write_samples(self, condition: str, task: str, records: Iterable[Mapping[str, Any]], *,
                      seed: int | None = None, forgetting: bool = False) -> Path:
        return write_jsonl(self.samples_file(condition, task, seed=seed, forgetting=forgetting), records)

    def write_metrics(self, obj: Mapping[str, Any]) -> None:
        cache.write_json_atomic(self.metrics_file, obj)

    def read_metrics(self) -> dict[str, Any]:
        return json.loads(self.metrics_file.read_text())

    def write_manifest(self, obj: Mapping[str, Any]) -> None:
        cache.write_json_atomic(self.manifest_file, obj)

    def read_manifest(self) -> dict[str, Any] | None:
        """manifest.json, or None when the folder has none."""
        return json.loads(self.manifest_file.read_text()) if self.manifest_file.is_file() else None

    def write_config(self, resolved: Mapping[str, Any]) -> None:
        """config.yaml: the resolved configuration, keys in the order given."""
        import yaml

        self.config_file.write_text(yaml.safe_dump(resolved, sort_keys=False))

    def read_config(self) -> dict[str, Any]:
        """config.yaml as a mapping ({} when the folder has none)."""
        import yaml

        return (yaml.safe_load(self.config_file.read_text()) or {}) if self.config_file.is_file() else {}

    def write_task_files(self, files: Mapping[str, str]) -> None:
        """``tasks/``: the rows each condition was evaluated on and the portable task definitions
        (harness.variants.portable), each ``files`` key a path under tasks/."""
        for relative, text in files.items():
            target = (self.tasks_dir / relative).resolve()
            if not target.is_relative_to(self.tasks_dir.resolve()):
                raise HarnessError(f"{relative}: outside {self.tasks_dir}")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")

    def load_samples(self, sub: str = "") -> Samples:
        return load_samples(self.path, sub)

    def load_records(self, sub: str = "") -> Records:
        return load_records(self.path, sub)


__all__ = [
    "COMPLETE_FILE",
    "CONFIG_FILE",
    "LOCK_FILE",
    "FORGETTING_DIR",
    "JUDGE_DIR",
    "MANIFEST_FILE",
    "METRICS_FILE",
    "SAMPLES_DIR",
    "TASKS_DIR",
    "Records",
    "RunFolder",
    "SampleRecord",
    "Samples",
    "load_records",
    "load_samples",
    "flat_scores",
    "GOLD",
    "N_CHOICES",
    "PRED",
    "SEED",
    "mean_metrics",
    "mean_over_seeds",
    "read_records",
    "record_files",
    "sample_key",
    "sample_record",
    "task_metrics",
]
