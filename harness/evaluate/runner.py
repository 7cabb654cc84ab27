"""Run lm-eval in process over a model's tasks, through its own response cache.

One model load per model (not per condition); each condition's tasks are one lm-eval pass,
timed, so the leaderboard can show what a condition costs per question. Responses are
committed to the cache as they are produced, so a killed run resumes where it stopped.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness import cache
from harness.evaluate import response_db
from harness.errors import HarnessError
from harness.models.backends import LmSettings, build_lm
from harness.models.fingerprint import ModelUnderTest

log = logging.getLogger(__name__)

# lm-eval warnings that the harness's own task setup causes on every run and that ask nothing
# of the user: every suite task loads its rows through ``custom_dataset``, and lm-eval then
# suggests ``--metadata`` once per task (eight lines per default run).
HARNESS_CAUSED = ("Custom kwargs can be passed to `--metadata`",)
# lm-eval's index warning when two include paths define one task name
_OVERRIDE = re.compile(r"^Task '.+?' from (?P<new>.+) overrides existing task from (?P<old>.+)$")


def _not_harness_caused(record: logging.LogRecord) -> bool:
    message = str(record.msg)  # "<task>: Custom kwargs ..."
    return not any(noise in message for noise in HARNESS_CAUSED)


def _not_a_copy_of_itself(record: logging.LogRecord) -> bool:
    """False for lm-eval's "task X from A overrides existing task from B" when A and B are the
    same file's copies: every ``tasks`` entry carries its suite's task YAMLs (harness.variants.
    portable), so a grid of several entries registers the suite's own tasks once per entry.

    The paths are read from the formatted message, not from ``record.args``: the harness's
    redaction (harness.redact) merges the arguments into the message when the record is made."""
    found = _OVERRIDE.search(record.getMessage())
    if found is None:
        return True
    try:
        return Path(found["new"]).read_bytes() != Path(found["old"]).read_bytes()
    except OSError:
        return True


def quiet_lm_eval() -> None:
    """Drop the warnings the harness's own task setup causes from lm-eval's loggers (idempotent):
    HARNESS_CAUSED from the task logger, identical copies overriding each other from the index."""
    for name, check in (("lm_eval.api.task", _not_harness_caused), ("lm_eval.tasks._index", _not_a_copy_of_itself)):
        logger = logging.getLogger(name)
        if check not in logger.filters:
            logger.addFilter(check)


@dataclass
class ComputeMeter:
    """Model time and request count actually computed, response-cache hits excluded.

    Wrapped around the LM's own request methods, under lm-eval's response cache, so a rerun
    served from the cache adds nothing.
    """

    seconds: float = 0.0
    requests: int = 0

    def attach(self, lm: Any) -> None:
        for name in ("loglikelihood", "loglikelihood_rolling", "generate_until"):
            if hasattr(lm, name):
                setattr(lm, name, self._timed(getattr(lm, name)))

    def _timed(self, method: Callable[..., list[Any]]) -> Callable[..., list[Any]]:
        def timed(requests: list[Any], *args: Any, **kwargs: Any) -> list[Any]:
            start = time.perf_counter()
            try:
                return method(requests, *args, **kwargs)
            finally:
                self.seconds += time.perf_counter() - start
                self.requests += len(requests)
        return timed


@dataclass(frozen=True)
class Latency:
    """Seconds of model time per evaluated sample for one group of tasks (one condition).

    Measured as batched throughput (the backend's batch size or concurrency applies), so it is
    the cost of evaluating a question in this grid, not a single request's round trip.
    ``source``: measured (every request computed now), cached (all responses came from the
    cache; the figure of the run that computed them), or estimated (a resumed run computed part).
    """

    seconds_per_sample: float | None
    source: str
    samples: int


def _latency_key(model: ModelUnderTest, task_names: list[str], task_manager: Any) -> str:
    index = task_manager.task_index  # task name -> entry with the (content-addressed) yaml path
    where = [(name, str(getattr(index.get(name), "yaml_path", ""))) for name in sorted(task_names)]
    return cache.hash_json({"model": str(model.generation_cache_prefix()), "tasks": where})


def _latency(key: str, meter_seconds: float, computed: int, requests: int, samples: int) -> Latency:
    """This group's latency, remembered for reruns served from the response cache.

    A full measurement replaces what was stored; a partial one (a resumed run) is scaled to all
    requests and stored only where nothing better is.
    """
    path = cache.cache_root() / "latency" / f"{key}.json"
    stored: dict[str, Any] = {}
    if path.is_file():
        try:
            stored = json.loads(path.read_text())
            float(stored["seconds_per_sample"])
        except (ValueError, KeyError, TypeError):
            log.warning("ignoring unreadable latency record %s", path)
            stored = {}
    if computed and samples and requests:
        source = "measured" if computed >= requests else "estimated"
        value = meter_seconds * requests / computed / samples
        if source == "measured" or stored.get("source") != "measured":
            path.parent.mkdir(parents=True, exist_ok=True)
            cache.write_json_atomic(path, {"seconds_per_sample": value, "source": source, "samples": samples})
        return Latency(value, source, samples)
    if stored:
        return Latency(float(stored["seconds_per_sample"]), "cached", samples)
    return Latency(None, "cached", samples)


def _merge_results(into: dict[str, Any], more: dict[str, Any]) -> None:
    """lm-eval results of disjoint task sets, combined into one results dict."""
    for key, value in more.items():
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            into[key].update(value)
        elif key not in into:
            into[key] = value


def evaluate_model(
    model: ModelUnderTest,
    task_groups: Mapping[str, list[str]],
    include_paths: list[Path],
    run: LmSettings,
) -> tuple[dict[str, Any], dict[str, Latency]]:
    """Evaluate ``model`` on each group of tasks (one group per condition), loading it once.

    Returns lm-eval's results dict over all tasks (with samples) and each group's latency per
    sample. A task that appears in several groups is evaluated once, with the first.
    """
    from lm_eval.tasks import TaskManager

    quiet_lm_eval()
    task_manager = TaskManager(
        include_path=[str(p) for p in include_paths], include_defaults=False
    )
    every = list(dict.fromkeys(t for names in task_groups.values() for t in names))
    missing = [t for t in every if t not in task_manager.all_tasks]
    if missing:
        raise HarnessError(
            f"lm-eval does not know task(s) {missing} under {[str(p) for p in include_paths]}; "
            "check the task YAMLs (run `lm_eval validate`)"
        )
    lm = build_lm(model, run)
    meter = ComputeMeter()
    meter.attach(lm)
    merged: dict[str, Any] = {}
    latency: dict[str, Latency] = {}
    done: set[str] = set()
    try:
        for group, names in task_groups.items():
            todo = [t for t in names if t not in done]
            if not todo:
                continue
            seconds, computed = meter.seconds, meter.requests
            with response_db.answering(model.generation_cache_prefix(), todo):
                results = _simple_evaluate(lm, model, todo, task_manager, run)
            samples = [s for t in todo for s in results.get("samples", {}).get(t, [])]
            requests = sum(len(s.get("arguments") or ()) for s in samples)
            latency[group] = _latency(_latency_key(model, todo, task_manager), meter.seconds - seconds,
                                      meter.requests - computed, requests, len(samples))
            _merge_results(merged, results)
            done.update(todo)
    finally:
        del lm
    return merged, latency


def _simple_evaluate(lm: Any, model: ModelUnderTest, task_names: list[str], task_manager: Any,
                     run: LmSettings) -> dict[str, Any]:
    import lm_eval

    settings, seed = run.eval, run.seed
    response_db.heal(model.generation_cache_prefix())

    try:
        results = lm_eval.simple_evaluate(
            model=lm,
            tasks=task_names,
            task_manager=task_manager,
            use_cache=str(model.generation_cache_prefix()),
            limit=settings.limit,
            # eval.max_gen_toks caps every generation task, whatever its YAML says
            gen_kwargs={"max_gen_toks": settings.max_gen_toks} if settings.max_gen_toks else None,
            bootstrap_iters=settings.bootstrap_iters,
            log_samples=True,
            apply_chat_template=bool(model.chat_template),
            random_seed=seed,
            numpy_random_seed=seed,
            torch_random_seed=seed,
            fewshot_random_seed=seed,
        )
    except NotImplementedError as exc:  # e.g. log-likelihoods through a chat-only API
        raise HarnessError(
            f"model.backend={model.backend} cannot evaluate these tasks: {exc} "
            "(multiple-choice tasks need model.client.api=completions)"
        ) from None
    if results is None:
        raise HarnessError("lm-eval returned no results")
    return results
