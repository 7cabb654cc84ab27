"""The `run` verb: the stages of one experiment, in the order the data flows.

load suite(s) → resolve model → materialise task variants (closed, RAG, ICL) → train adapters →
evaluate the grid → (judge) → write results → report → publish. Each stage is one entry
function of its own package that takes its own typed section of the spec
(:mod:`harness.sections`) and returns a typed artifact; this module only names them and hands
each its inputs. Every stage is cached by content hash (:func:`harness.cache.get_or_build`), so
an unchanged rerun only re-reads caches, and a killed run resumes from its last committed answer.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness import cache, suites
from harness.errors import HarnessError
from harness.evaluate.grid import RunResults, evaluate_grid, plan_passes
from harness.finetune.stage import Adapters, train_adapters
from harness.models.endpoints import probe_endpoints
from harness.models.resolve import load_tokenizer, resolve_model, tokenizer_source
from harness.models.wheels import offline_env
from harness.records import RunFolder
from harness.spec import PROJECT_ROOT, RunSpec
from harness.suites import Suite
from harness.variants import VariantSet, materialize_variants, retrieval_metrics

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


def run(spec: RunSpec, resolved_config: dict[str, Any]) -> Path:
    """Run the whole grid; returns the completed run folder."""
    from harness.report import history, run_report
    from harness.scoring import judge

    offline_env()
    judging = judge.prepare(resolved_config.get("judge"))  # a bad judge config fails before any work
    probe_endpoints(spec.model)  # so does an endpoint that does not answer (not after fine-tuning)
    timer = Timer()
    folder = RunFolder.create(spec.results_dir / spec.exp_name, spec.hash)
    try:
        with timer.stage("suite"):
            suite = suites.load(spec.suite)
            extra = forgetting_suites(spec, suite)
        with timer.stage("model"):
            base = resolve_model(spec.model)
            tokenizer = load_tokenizer(tokenizer_source(spec.model, base))
        with timer.stage("retrieval"):
            variants = materialize_variants(suite, spec.conditions, spec.retriever, spec.icl, tokenizer,
                                            base.weights_sha256, n_docs=spec.suite.n_docs, extra_suites=extra)
        trained = spec.trained_adaptations
        adapters = train_adapters([] if spec.model.remote else trained,  # a remote API brings its own
                                  spec.finetune, suite, base, raft=spec.raft, retrieval=spec.retriever,
                                  stage=timer.stage)
        passes = plan_passes(spec.conditions, trained, spec.finetune_seeds, adapters)
        results = evaluate_grid(passes, variants, spec.model, spec.eval, base, folder, seed=spec.seed,
                                stage=timer.stage)
        judged = None
        if judging is not None:  # the optional LLM judge over every open-QA answer
            with timer.stage("judge"):
                judged = judge.judge_run(folder.path, *judging)
        with timer.stage("report"):
            write_results(folder, spec, suite, extra, variants, results, resolved_config)
        folder.write_manifest(manifest_document(spec, suite, extra, base, variants, adapters, timer,
                                                judged.identity if judged else None))
        table = run_report.report_run(folder.path, tokenizer=tokenizer, adapter=adapters.first("ft"))
        final = folder.publish()
    except BaseException:
        folder.discard()
        raise
    history.record_run(final, resolved_config.get("history_db"))
    print_summary(final, table, timer, suite)
    return final


def forgetting_suites(spec: RunSpec, suite: Suite) -> list[Suite]:
    """The second suite every closed-book condition is also evaluated on (``forgetting_suite``)."""
    if not spec.forgetting_suite:
        return []
    other = suites.load_suite(spec.forgetting_suite, tasks_root=PROJECT_ROOT / "tasks")  # a name or a folder
    clash = sorted({t.name for t in other.tasks} & {t.name for t in suite.tasks})
    if clash:
        raise HarnessError(f"forgetting_suite={spec.forgetting_suite}: its tasks {clash} have the names of the "
                           f"experiment's own tasks; choose another suite than '{suite.name}'")
    return [other]


def metrics_document(spec: RunSpec, suite: Suite, extra: list[Suite], variants: VariantSet,
                     results: RunResults) -> dict[str, Any]:
    """metrics.json: the suite's metrics per condition, retrieval, latency, ICL, forgetting, seeds."""
    aside = variants.extra_tasks()
    metrics = results.metrics
    rag = variants.rag()
    stored: dict[str, Any] = {
        "conditions": {c: {t: m for t, m in tasks.items() if t not in aside} for c, tasks in metrics.items()},
        "primary": {t.name: t.primary_metric for t in suite.tasks},
        "reference": spec.reference,
        "retrieval": {str(v.name): v.stats for v in rag},
        "retrieval_metrics": retrieval_metrics(rag, spec.retriever.top_k),
        "latency": results.latency_summary(),
    }
    if spec.uses_icl:
        stored["icl"] = variants.icl_stats()
    for other in extra:
        stored["forgetting"] = {
            "suite": other.name, "primary": {t.name: t.primary_metric for t in other.tasks},
            "conditions": {c: {t: m for t, m in tasks.items() if t in aside}
                           for c, tasks in metrics.items() if any(t in aside for t in tasks)}}
    if results.per_seed:
        stored["seeds"] = spec.finetune_seeds
        stored["per_seed"] = results.per_seed
    return stored


def write_results(folder: RunFolder, spec: RunSpec, suite: Suite, extra: list[Suite], variants: VariantSet,
                  results: RunResults, resolved_config: dict[str, Any]) -> None:
    """metrics.json, config.yaml and the task rows every condition was given (the leaderboard
    files are written by the report, from these and the records)."""
    folder.write_metrics(metrics_document(spec, suite, extra, variants, results))
    folder.write_config(resolved_config)
    folder.copy_task_data([v.data_path for v in variants.all()])


def manifest_document(spec: RunSpec, suite: Suite, extra: list[Suite], base: Any, variants: VariantSet,
                      adapters: Adapters, timer: Timer, judge: dict[str, Any] | None) -> dict[str, Any]:
    """manifest.json: the spec and its hash, what every input hashed to, versions, stage times."""
    from harness.report import manifest

    first = adapters.first("ft")
    hashes: dict[str, Any] = {
        "suite": suite.content_hash,
        "base_model_sha256": base.weights_sha256,
        "adapter_sha256": first.sha256 if first else None,
        "task_data_sha256": {v.name: cache.hash_file(v.data_path) for v in variants.all()},
    }
    if set(adapters.adaptations()) - {"ft"} or spec.multi_seed:
        hashes["adapters_sha256"] = {label: a.sha256 for label, a in adapters.labelled(spec.multi_seed).items()}
    for other in extra:
        hashes["forgetting_suite"] = other.content_hash
    return manifest.build(spec.to_dict(), spec.hash, hashes, timer.stages, manifest.command_line(), judge=judge)


def print_summary(run_dir: Path, table: str, timer: Timer, suite: Suite) -> None:
    """One screen on stdout (under 25 lines for the default grid): the decision, the main
    leaderboard table, where time went, where the run folder and its report are. The other
    tables stay in leaderboard.md."""
    from harness.report.manifest import peak_rss_mb

    decision_file = run_dir / "decision.json"
    verdict = json.loads(decision_file.read_text()).get("verdict") if decision_file.is_file() else None
    if verdict:
        print(f"\n== decision ==\n{verdict}")
    main = table.split("## Leaderboard\n\n", 1)[-1].split("\n\n", 1)[0]
    print(f"\n== {suite.name} leaderboard (all tables: leaderboard.md) ==\n\n{main}\n")
    if "**Paper vs ours**" in table:  # a reproduction experiment: the comparison it exists for
        print(table[table.index("**Paper vs ours**"):].strip() + "\n")
    print("stages: " + ", ".join(f"{k} {v:.1f}s" for k, v in timer.stages.items()))
    print(f"stages total {sum(timer.stages.values()):.1f}s; peak memory {peak_rss_mb()['process']:.0f} MB")
    print(f"run folder: {run_dir}")
    print(f"open the report: xdg-open {run_dir / 'report.html'}")
