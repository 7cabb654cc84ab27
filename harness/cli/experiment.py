"""Verbs that compose an experiment's Hydra config: run, finetune, index, retrieve."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from harness.cli.registry import first_argument, hydra_job, overrides_help, verb
from harness.errors import HarnessError


@verb("run", "run an experiment's grid end to end and write a run folder with the Decision and the leaderboard "
           "(+exp=all: every suite)", "run +exp=agri retriever.top_k=5 finetune.epochs=5")
def run_verb(args: list[str]) -> None:
    hydra_job("run", _run, args)


def _run(cfg: dict[str, Any]) -> None:
    from harness import pipeline, spec

    if cfg.get("suites") is not None:  # +exp=all: every listed suite's experiment, then one leaderboard
        from hydra.core.hydra_config import HydraConfig

        from harness import multi_suite

        multi_suite.run(cfg, list(HydraConfig.get().overrides.task))
        return
    pipeline.run(spec.from_config(cfg), cfg)


@verb("finetune", "train (or fetch from cache) the LoRA adapter of an experiment's suite",
      "finetune +exp=agri finetune.epochs=5")
def finetune_verb(args: list[str]) -> None:
    hydra_job("finetune", _finetune, args)


def _experiment(cfg: dict[str, Any]) -> tuple[Any, Any]:
    """(RunSpec, Suite) of a verb's config, offline — what finetune, index and retrieve start from."""
    from harness import spec, suites
    from harness.models.wheels import offline_env

    offline_env()
    run_spec = spec.from_config(cfg)
    return run_spec, suites.load(run_spec.suite)


def _finetune(cfg: dict[str, Any]) -> None:
    from harness.finetune.sft import sft_adapter
    from harness.models.resolve import resolve_model

    run_spec, suite = _experiment(cfg)
    base = resolve_model(run_spec.model)
    adapter = sft_adapter(run_spec.finetune, suite, base)
    card = adapter.card
    losses = card.get("loss_curve") or []
    print(f"adapter: {adapter.path}")
    print(f"examples: {card.get('n_examples')}  train time: {card.get('train_seconds', 0):.1f}s  "
          f"final loss: {losses[-1]['loss'] if losses else 'n/a'}")
    if run_spec.finetune.export_merged:
        from harness.finetune.export import export_merged

        print(f"merged model: {export_merged(base, adapter, Path(run_spec.finetune.export_merged))}")


@verb("index", "build (or fetch from cache) the retrieval index and score retrieval on the suite",
      "index +exp=agri retriever=bm25")
def index_verb(args: list[str]) -> None:
    hydra_job("index", _index, args)


def _index(cfg: dict[str, Any]) -> None:
    from harness.retrieval import retrieve
    from harness.retrieval.metrics import task_metrics

    run_spec, suite = _experiment(cfg)
    if run_spec.retriever.kind == "none":
        raise HarnessError("retriever=none has no index; choose retriever=dense (or another)")
    rcfg = run_spec.retriever.config()
    print(f"suite {suite.name}: {len(suite.corpus)} documents; retriever {rcfg.kind} top_k={rcfg.top_k}")
    for task in suite.tasks:
        hits = retrieve(suite.corpus, [r["question"] for r in task.rows], rcfg)
        scores = task_metrics(task.rows, hits, rcfg.top_k)
        print(f"  {task.name}: " + "  ".join(f"{k}={v:.3f}" for k, v in scores.items()))


@verb("retrieve", "print the top-k passages the retriever finds for an ad-hoc query",
      'retrieve "when to sow maize on the Velmora Plateau?" +exp=agri retriever=hybrid',
      overrides_help('"<query>" [overrides ...]'))
def retrieve_verb(args: list[str]) -> None:
    query = first_argument(args, 'retrieve needs a query first: python -m harness retrieve "when to sow maize?" +exp=agri')

    def job(cfg: dict[str, Any]) -> None:
        from harness.retrieval import format_debug, retrieve_debug

        run_spec, suite = _experiment(cfg)
        print(format_debug(retrieve_debug(suite.corpus, query, run_spec.retriever.config())))

    hydra_job("retrieve", job, args[1:])
