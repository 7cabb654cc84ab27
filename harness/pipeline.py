"""The `run` verb: the stages of one experiment, in the order the data flows.

load suite(s) → resolve model → (tune both arms, ``finetune.tune``) → materialise task variants
(closed, RAG, ICL) → train adapters (and ask each ft adapter its own training questions) →
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
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness import cache, suites
from harness.churn.stage import ChurnInputs, run_churn
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
from harness.variants.portable import portable_tasks

if TYPE_CHECKING:
    from harness.tuning import Tuning

log = logging.getLogger(__name__)


@dataclass
class Timer:
    """Wall time per stage, recorded in the manifest and printed in the summary."""

    stages: dict[str, float] = field(default_factory=dict)
    started: str = field(default_factory=lambda: datetime.now().replace(microsecond=0).isoformat())

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
        tuning, grid = tune_arms(spec, suite, base, tokenizer, timer)  # grid: the spec as the arms were tuned
        with timer.stage("retrieval"):
            variants = materialize_variants(suite, grid.conditions, grid.retriever, grid.icl, tokenizer,
                                            base.weights_sha256, n_docs=grid.suite.n_docs, extra_suites=extra)
        adapters, arms = train_arms(grid, suite, base, tuning, timer)
        passes = plan_passes(grid.conditions, grid.trained_adaptations, grid.finetune_seeds, adapters)
        results = evaluate_grid(passes, variants, grid.model, grid.eval, base, folder, seed=grid.seed,
                                stage=timer.stage)
        if grid.churn is not None:
            with timer.stage("churn"):
                run_churn(ChurnInputs(grid, suite, base, tokenizer, adapters,
                                      dict(tuning.chosen_ft.settings) if tuning else {}), grid.churn, folder)
        judged = None
        if judging is not None:  # the optional LLM judge over every open-QA answer
            with timer.stage("judge"):
                judged = judge.judge_run(folder.path, *judging)
        with timer.stage("report"):
            write_results(folder, grid, suite, extra, variants, results, resolved_config)
        folder.write_manifest(manifest_document(grid, suite, extra, base, variants, adapters, timer,
                                                judged.identity if judged else None, arms=arms, spec_hash=spec.hash))
        table = run_report.report_run(folder.path, tokenizer=tokenizer, adapter=adapters.first("ft"))
        final = folder.publish()
    except BaseException:
        folder.discard()
        raise
    history.record_run(final, resolved_config.get("history_db"))
    print_summary(final, table, timer, suite)
    return final


def tune_arms(spec: RunSpec, suite: Suite, base: Any, tokenizer: Any, timer: Timer) -> tuple[Tuning | None, RunSpec]:
    """``finetune.tune``: both arms' trials on the dev split, and the spec the grid then runs —
    the RAG conditions on the retriever and top_k their trials chose (renamed when the kind
    changed); the FT settings chosen are applied when the adapters are trained."""
    if spec.tune is None:
        return None, spec
    from harness.tuning import tune_arms as tune_both, tuned_retrieval

    with timer.stage("tune"):
        tuning = tune_both(spec.tune, suite, spec.finetune, spec.retriever, spec.model, spec.eval, base, tokenizer,
                           seed=spec.seed)
    retrieval = tuned_retrieval(spec.retriever, tuning)
    conditions = tuple(replace(c, retriever=retrieval.kind) if c.rag else c for c in spec.conditions)
    names = {old.name: new.name for old, new in zip(spec.conditions, conditions)}
    return tuning, replace(spec, retriever=retrieval, conditions=conditions,
                           reference=names.get(spec.reference, spec.reference))


def train_arms(grid: RunSpec, suite: Suite, base: Any, tuning: Tuning | None,
               timer: Timer) -> tuple[Adapters, dict[str, Any]]:
    """The trained arms (ft with the tuned epochs and lr, if tuned) and the manifest's ``arms``
    block: each trained arm's recall on the suite's own training questions (per seed), and the
    tuning trials."""
    trained = [] if grid.model.remote else grid.trained_adaptations  # a remote API brings its own
    adapters = train_adapters(trained, grid.finetune, suite, base, raft=grid.raft, retrieval=grid.retriever,
                              stage=timer.stage, ft_overrides=dict(tuning.chosen_ft.settings) if tuning else None,
                              arm_settings=grid.arms)
    arms: dict[str, Any] = {"tuning": tuning.to_json()} if tuning is not None else {}
    if trained:
        with timer.stage("recall"):
            arms["training_recall"] = {arm: _recall(grid, suite, base, adapters.by_adaptation[arm])
                                       for arm in trained}
        arms["train_seconds"] = dict(adapters.train_seconds)
        stopping = {arm: {str(seed): a.card["stopping"] for seed, a in by_seed.items() if "stopping" in a.card}
                    for arm, by_seed in adapters.by_adaptation.items()}
        if any(stopping.values()):  # finetune.stop_at_recall: where each arm's training ended, and why
            arms["stopping"] = {arm: per_seed for arm, per_seed in stopping.items() if per_seed}
    return adapters, arms


def _recall(grid: RunSpec, suite: Suite, base: Any, by_seed: Any) -> dict[str, Any]:
    """One arm's training-set recall per seed (finetune.recall: n questions, the warning level)."""
    from harness.finetune.recall import training_recall
    from harness.tuning.settings import RecallSettings

    recall = grid.recall or RecallSettings()
    return {str(seed): training_recall(adapter, suite, grid.model, grid.eval, base, n=recall.n,
                                       warn_below=recall.warn_below, seed=grid.seed).to_json()
            | {"adapter_sha256": adapter.sha256} for seed, adapter in by_seed.items()}


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
    folder.write_task_files(portable_tasks(variants.all()))  # lm-eval --include_path <run>/tasks reruns them


def manifest_document(spec: RunSpec, suite: Suite, extra: list[Suite], base: Any, variants: VariantSet,
                      adapters: Adapters, timer: Timer, judge: dict[str, Any] | None, *,
                      arms: dict[str, Any] | None = None, spec_hash: str | None = None) -> dict[str, Any]:
    """manifest.json: the spec and its hash, what every input hashed to, versions, stage times,
    and the arms' checks. ``spec`` is the grid as run (a tuned retriever in it); ``spec_hash``
    the hash of the spec as asked (the run folder's name), when tuning changed it."""
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
    return manifest.build(spec.to_dict(), spec_hash or spec.hash, hashes, timer.stages, manifest.command_line(),
                          judge=judge, arms=arms, started_at=timer.started)


def print_summary(run_dir: Path, table: str, timer: Timer, suite: Suite) -> None:
    """One screen on stdout (under 25 lines for the default grid): the decision, the main
    leaderboard table, where time went, where the run folder and its report are. The other
    tables stay in leaderboard.md."""
    from harness.decision.arms import recall_lines
    from harness.report.manifest import peak_rss_mb

    decision_file = run_dir / "decision.json"
    made = json.loads(decision_file.read_text()) if decision_file.is_file() else {}
    if made.get("verdict"):
        print(f"\n== decision ==\n{made['verdict']}")
    for line in recall_lines((made.get("other_evidence") or {}).get("arms")):  # whether FT learned at all
        print(line.replace("**", ""))
    main = table.split("## Leaderboard\n\n", 1)[-1].split("\n\n", 1)[0]
    print(f"\n== {suite.name} leaderboard (all tables: leaderboard.md) ==\n\n{main}\n")
    if "**Paper vs ours**" in table:  # a reproduction experiment: the comparison it exists for
        print(table[table.index("**Paper vs ours**"):].strip() + "\n")
    print("stages: " + ", ".join(f"{k} {v:.1f}s" for k, v in timer.stages.items()))
    print(f"stages total {sum(timer.stages.values()):.1f}s; peak memory {peak_rss_mb()['process']:.0f} MB")
    print(f"run folder: {run_dir}")
    print(f"open the report: xdg-open {run_dir / 'report.html'}")
