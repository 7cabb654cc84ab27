"""A judge pass over a run folder: every open-QA answer of every condition, scored once.

Answers are read from ``samples/<condition>/<task>.jsonl`` (generation tasks only: a
multiple-choice pick has nothing to judge), deduplicated by (question, reference, answer) —
conditions that gave the same answer share one judgment — looked up in the judge cache, and
only the missing ones are sent to the judge model, which is loaded only then. The run
folder then gets the parsed judgments (see harness.scoring.judge.store).
"""

from __future__ import annotations

import logging
import sys
import time
import urllib.error
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.errors import HarnessError
from harness.models.endpoint import http_json
from harness.records import load_records, sample_key
from harness.scoring.answers import answer_text, is_generation, references
from harness.scoring.judge import config as judge_config
from harness.scoring.judge.parse import parse_judgment
from harness.scoring.judge.store import JudgeCache, item_key, write_run_judgments

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Item:
    """One answer to judge, and where its judgment goes."""

    condition: str
    task: str
    sample_id: str
    doc_id: Any
    question: str
    reference: str
    answer: str

    @property
    def key(self) -> str:
        return item_key(self.question, self.reference, self.answer)


@dataclass(frozen=True)
class JudgePass:
    """What a pass did: the counts say how much came from the cache and how much did not parse."""

    identity: dict[str, Any]
    judged: int  # answers with a judgment in the run folder
    unparsable: int  # of those, replies that gave no valid scores
    skipped: int  # open-QA records without a question or reference (nothing to judge against)
    from_cache: int  # distinct (question, reference, answer) found in the cache
    asked: int  # distinct ones sent to the judge model
    model_loaded: bool
    seconds: float


def make_backend(config: judge_config.JudgeConfig) -> Any:
    """The chat backend (harness.models.chat) the judge runs on; loads nothing yet."""
    from harness.models.chat import backend_from_config

    return backend_from_config(dict(config.settings), setting="judge")


def prepare(section: Any) -> tuple[judge_config.JudgeConfig, Any] | None:
    """Check a ``judge`` section before a run spends time (None: no judge): the settings, the
    key variable, and that an endpoint answers."""
    if not section:
        return None
    config = judge_config.from_dict(section)
    backend = make_backend(config)
    if config.backend == "hf":
        backend.folder()  # a wheel model or a local folder with config.json (loaded only when needed)
    if config.backend == "openai":
        try:
            http_json(f"{backend.base_url}/models", headers=backend.headers(),
                      timeout=float(config.settings.get("timeout_s") or 30))
        except urllib.error.HTTPError as err:
            hint = " (the key in judge.api_key_env was rejected)" if err.code in (401, 403) else ""
            raise HarnessError(f"judge.base_url: {backend.base_url}/models answered HTTP {err.code}{hint}") from None
        except (urllib.error.URLError, OSError) as err:
            raise HarnessError(f"judge.base_url: no OpenAI-compatible server answers at {backend.base_url} "
                               f"({getattr(err, 'reason', err)}); start the judge's server or fix judge.base_url"
                               ) from None
    return config, backend


def collect(run_dir: Path, limit: int | None = None) -> tuple[list[Item], int]:
    """The open-QA answers of a run folder (the first ``limit`` per condition × task), and how
    many records could not be judged (no question or reference stored)."""
    items, skipped = [], 0
    for condition, tasks in sorted(load_records(run_dir).items()):
        for task, rows in sorted(tasks.items()):
            rows = [r for r in rows if is_generation(r)]
            for row in rows[:limit] if limit else rows:
                question, refs = str(row.get("question") or "").strip(), references(row)
                if not question or not refs:
                    skipped += 1
                    continue
                items.append(Item(condition, task, sample_key(row), row.get("doc_id"), question, " / ".join(refs),
                                  (answer_text(row) or "").strip()))
    return items, skipped


def _plain(score: float | None) -> float | int | None:
    """4.0 is stored as 4 (the rubric's integers), 4.5 as 4.5."""
    return int(score) if score is not None and float(score).is_integer() else score


def _ask(backend: Any, config: judge_config.JudgeConfig, todo: list[Item], store: JudgeCache) -> dict[str, str]:
    """Judge replies for ``todo`` (distinct keys), a batch at a time, each batch committed."""
    from tqdm import tqdm

    out: dict[str, str] = {}
    with tqdm(total=len(todo), desc="judge", unit="answer", file=sys.stderr, disable=None) as bar:
        for first in range(0, len(todo), config.batch_size):
            batch = todo[first:first + config.batch_size]
            replies = backend.chat([config.messages(i.question, i.reference, i.answer) for i in batch],
                                   prefix=config.reply_prefix)
            got = {i.key: config.reply_prefix + str(r or "") for i, r in zip(batch, replies)}
            store.put(got)
            out |= got
            bar.update(len(batch))
            log.info("judge: %d/%d answers judged", min(first + len(batch), len(todo)), len(todo))
    return out


def judge_run(run_dir: Path, config: judge_config.JudgeConfig, backend: Any = None) -> JudgePass:
    """Judge a run folder's open-QA answers and store the judgments in it (``judge/``)."""
    started = time.perf_counter()
    run_dir = Path(run_dir)
    backend = backend if backend is not None else make_backend(config)
    items, skipped = collect(run_dir, config.limit)
    if skipped:
        log.warning("judge: %d open-QA records have no question or reference stored; they are not judged", skipped)
    identity = judge_config.identity(config, backend)
    store = JudgeCache(identity)
    distinct = list({i.key: i for i in items}.values())
    replies = store.get(i.key for i in distinct)
    todo = [i for i in distinct if i.key not in replies]
    log.info("judge %s: %d answers, %d distinct, %d from the cache, %d to judge", identity["model"], len(items),
             len(distinct), len(distinct) - len(todo), len(todo))
    replies |= _ask(backend, config, todo, store) if todo else {}
    rows: dict[tuple[str, str], list[dict[str, Any]]] = {}
    unparsable = 0
    for item in items:
        raw = replies[item.key]
        judged = parse_judgment(raw, config.scale)
        unparsable += not judged.ok
        rows.setdefault((item.condition, item.task), []).append({
            "id": item.sample_id, "doc_id": item.doc_id, "correctness": _plain(judged.correctness),
            "succinctness": _plain(judged.succinctness), "unparsable": judged.reason or None, "raw": raw})
    counts = {"judged": len(items), "unparsable": unparsable, "skipped": skipped}
    info = {"identity": identity, "counts": counts, "limit": config.limit,
            "rubric": {"system": config.system, "user": config.user, "scale": list(config.scale),
                       "reply_prefix": config.reply_prefix}}
    write_run_judgments(run_dir, info, rows)
    done = JudgePass(identity, len(items), unparsable, skipped, len(distinct) - len(todo), len(todo),
                     bool(getattr(backend, "loaded", bool(todo))), round(time.perf_counter() - started, 3))
    log.info("judge: %d answers judged (%d unparsable, %d skipped), %d from the cache, %d asked, %.1fs",
             done.judged, done.unparsable, done.skipped, done.from_cache, done.asked, done.seconds)
    return done
