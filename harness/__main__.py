"""`python -m harness <verb> [hydra overrides]` — verb dispatch.

Hydra parses everything after the verb, so overrides, `-m` multirun and `--cfg job` work as
in any Hydra app; HarnessError becomes one clear line on stderr and exit status 2.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from harness.errors import HarnessError

CONF_DIR = Path(__file__).resolve().parent.parent / "conf"

VERBS: dict[str, str] = {
    "run": "run an experiment's grid end to end and write a run folder with the leaderboard (+exp=all: every suite)",
    "finetune": "train (or fetch from cache) the LoRA adapter of an experiment's suite",
    "index": "build (or fetch from cache) the retrieval index and score retrieval on the suite",
    "retrieve": "print the top-k passages for an ad-hoc query: retrieve \"<query>\" +exp=agri",
    "report": "rebuild a run folder's leaderboard, extra metrics and report.html: report <run folder>",
    "judge": "LLM-judge a run folder's open-QA answers, then rebuild its report: judge <run folder> +judge=embedded",
    "compare": "regression gate: compare <baseline> <run folder> [--tolerance 0.02] [--force]",
    "merge": "one leaderboard across runs (a sweep): merge <run folder|folder of runs> ... [--out DIR] [--force]",
    "history": "metric trend over runs: history [--exp agri] [--metric mean] [--plot f.svg] | --import <run>",
    "build-suite": "your documents + your Q&A file → a validated suite: build-suite <docs> <qa.jsonl|csv> --out <suite>",
    "generate-qa": "documents → generated Q&A suite + question quality: generate-qa source=<folder> out=<suite>",
}

USAGE = """usage: python -m harness <verb> [overrides ...]

verbs:
{verbs}

Overrides are Hydra's: `python -m harness run +exp=agri retriever.top_k=5 finetune.epochs=5`;
`-m` sweeps: `python -m harness run -m +exp=agri retriever=dense,bm25`.
Config groups (conf/): {groups}
`python -m harness <verb> --help` describes one verb.
"""


def _groups() -> str:
    parts = []
    for group in sorted(p for p in CONF_DIR.iterdir() if p.is_dir() and p.name != "qagen"):  # qagen: generate-qa's
        options = sorted(f.stem for f in group.glob("*.yaml"))
        parts.append(f"{group.name}={{{','.join(options)}}}")
    return "  ".join(parts)


def usage() -> str:
    verbs = "\n".join(f"  {name:<9} {text}" for name, text in VERBS.items())
    return USAGE.format(verbs=verbs, groups=_groups())


def verb_help(verb: str) -> str:
    if verb == "compare":
        from harness.report import compare

        return compare.parser().format_help()
    if verb == "merge":
        from harness.report import merge

        return merge.parser().format_help()
    if verb == "build-suite":
        from harness.suites import build

        return build.parser().format_help()
    if verb == "retrieve":
        return ('usage: python -m harness retrieve "<query>" [overrides ...]\n\n' + VERBS[verb] + "\n"
                f"Config groups (conf/): {_groups()}\n")
    if verb == "report":
        return ("usage: python -m harness report <run folder> [--no-similarity]\n\n" + VERBS[verb] + "\n"
                "--no-similarity: skip the answer-similarity metric (it loads the MiniLM embedder)\n")
    if verb == "judge":
        return ("usage: python -m harness judge <run folder> +judge=embedded|endpoint [overrides ...]\n\n"
                f"{VERBS[verb]}.\n\nConfig: conf/judge/ (prompt and rubric: conf/judge/rubric/default.yaml)\n"
                "Examples: +judge=embedded judge.limit=20  +judge=endpoint judge.base_url=http://host:8000/v1 "
                "judge.model=NAME judge.api_key_env=OPENAI_API_KEY\n")
    if verb == "history":
        from harness.report import history

        return history.parser().format_help()
    if verb == "generate-qa":
        gens = ",".join(sorted(f.stem for f in (CONF_DIR / "qagen" / "generator").glob("*.yaml")))
        return ("usage: python -m harness generate-qa source=<folder> out=<suite folder> [overrides ...]\n\n"
                f"{VERBS[verb]}.\n\nConfig: conf/qagen/default.yaml; generator={{{gens}}}\n"
                "Examples: generator=extractive  generator=openai generator.base_url=http://host:8000/v1 "
                "generator.model=NAME  split.eval_fraction=0.2  quality.similarity=lexical  sections.limit=5\n")
    return (
        f"usage: python -m harness {verb} [-m] [overrides ...]\n\n{VERBS[verb]}.\n\n"
        f"Config groups (conf/): {_groups()}\n"
        "Examples: +exp=agri  retriever.top_k=3  finetune.epochs=5  suite.n_docs=6  eval.limit=20\n"
        f"Show the resolved config without running: python -m harness {verb} +exp=agri --cfg job\n"
    )


def _fail(message: str) -> None:
    print(f"error: {message}", file=sys.stderr)
    sys.exit(2)


def _hydra(verb: str, job: Callable[[dict[str, Any]], Any], overrides: list[str],
           config_dir: Path = CONF_DIR, config_name: str = "config") -> None:
    import hydra
    from omegaconf import DictConfig, OmegaConf

    sys.argv = [f"harness-{verb}", *overrides]

    @hydra.main(version_base="1.3", config_path=str(config_dir), config_name=config_name)
    def entry(cfg: DictConfig) -> None:
        try:
            if verb != "run" and "suites" in cfg:
                raise HarnessError(f"+exp=all (a list of suites) is for the run verb; {verb} takes one suite: +exp=<suite>")
            job(OmegaConf.to_container(cfg, resolve=True))  # type: ignore[arg-type]
        except HarnessError as err:
            _fail(str(err))

    entry()


def _job_run(cfg: dict[str, Any]) -> None:
    from harness import pipeline, spec

    if cfg.get("suites") is not None:  # +exp=all: every listed suite's experiment, then one leaderboard
        from hydra.core.hydra_config import HydraConfig

        from harness import multi_suite

        multi_suite.run(cfg, list(HydraConfig.get().overrides.task))
        return
    pipeline.run(spec.from_config(cfg), cfg)


def _job_finetune(cfg: dict[str, Any]) -> None:
    from harness import pipeline, spec
    from harness.models.wheels import offline_env

    offline_env()
    run_spec = spec.from_config(cfg)
    suite = pipeline.load_suite(run_spec)
    adapter = pipeline.finetune(run_spec, suite, pipeline.resolve_base_model(run_spec))
    card = adapter.card
    losses = card.get("loss_curve") or []
    print(f"adapter: {adapter.path}")
    print(f"examples: {card.get('n_examples')}  train time: {card.get('train_seconds', 0):.1f}s  "
          f"final loss: {losses[-1]['loss'] if losses else 'n/a'}")
    if run_spec.finetune.raw.get("export_merged"):
        from harness.finetune.export import export_merged

        base = pipeline.resolve_base_model(run_spec)
        print(f"merged model: {export_merged(base, adapter, Path(str(run_spec.finetune.raw['export_merged'])))}")


def _job_index(cfg: dict[str, Any]) -> None:
    from harness import pipeline, spec
    from harness.models.wheels import offline_env
    from harness.retrieval import retrieve
    from harness.retrieval.metrics import task_metrics

    offline_env()
    run_spec = spec.from_config(cfg)
    if run_spec.retriever.raw.get("kind") == "none":
        raise HarnessError("retriever=none has no index; choose retriever=dense (or another)")
    suite = pipeline.load_suite(run_spec)
    rcfg = pipeline.retriever_config(run_spec)
    print(f"suite {suite.name}: {len(suite.corpus)} documents; retriever {rcfg.kind} top_k={rcfg.top_k}")
    for task in suite.tasks:
        hits = retrieve(suite.corpus, [r["question"] for r in task.rows], rcfg)
        scores = task_metrics(task.rows, hits, rcfg.top_k)
        print(f"  {task.name}: " + "  ".join(f"{k}={v:.3f}" for k, v in scores.items()))


def _report(args: list[str]) -> None:
    from harness.report import run_report

    similarity = "--no-similarity" not in args
    args = [a for a in args if a != "--no-similarity"]
    if len(args) != 1:
        _fail("report takes one argument: the run folder (results/<exp>/<run>)")
    run_dir = Path(args[0])
    metrics_file = run_dir / "metrics.json"
    if not metrics_file.is_file():
        _fail(f"{metrics_file} not found: give a completed run folder (results/<exp>/<timestamp>-<hash>)")
    from harness import multi_suite

    try:
        table = (multi_suite.rebuild(run_dir) if multi_suite.is_combined(run_dir)  # results/all/<run>
                 else run_report.report_run(run_dir, similarity=similarity))
    except (ValueError, KeyError) as err:
        _fail(f"{run_dir}: unreadable run records ({err}); the run folder is damaged")
    print(table)


def _job_judge(run_dir: str) -> Callable[[dict[str, Any]], None]:
    def job(cfg: dict[str, Any]) -> None:
        from harness.judge.runner import judge_folder

        done, table = judge_folder(Path(run_dir), cfg.get("judge"))
        print(table)
        print(f"\njudged {done.judged} answers ({done.unparsable} unparsable, {done.from_cache} from the judge cache, "
              f"{done.asked} asked) in {done.seconds:.1f}s; judgments in {Path(run_dir) / 'judge'}")

    return job


def _compare(args: list[str]) -> None:
    from harness.report import compare

    sys.exit(compare.main(args))


def _job_retrieve(query: str) -> Callable[[dict[str, Any]], None]:
    def job(cfg: dict[str, Any]) -> None:
        from harness import pipeline, spec
        from harness.models.wheels import offline_env
        from harness.retrieval import format_debug, retrieve_debug

        offline_env()
        run_spec = spec.from_config(cfg)
        suite = pipeline.load_suite(run_spec)
        print(format_debug(retrieve_debug(suite.corpus, query, pipeline.retriever_config(run_spec))))

    return job


def _job_generate_qa(cfg: dict[str, Any]) -> None:
    from harness.qagen import run

    run(cfg)


JOBS: dict[str, Callable[[dict[str, Any]], None]] = {
    "run": _job_run,
    "finetune": _job_finetune,
    "index": _job_index,
}


def main(argv: list[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help", "help"):
        print(usage())
        return
    if args[:2] == ["suite", "build"]:  # `suite build` is build-suite
        args = ["build-suite", *args[2:]]
    verb, rest = args[0], args[1:]
    if verb not in VERBS:
        _fail(f"unknown verb '{verb}'; choose one of: {', '.join(VERBS)} (python -m harness --help)")
    if "-h" in rest or "--help" in rest:
        print(verb_help(verb))
        return
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        if verb == "report":
            _report(rest)
        elif verb == "retrieve":
            if not rest or rest[0].startswith("-") or "=" in rest[0]:
                _fail('retrieve needs a query first: python -m harness retrieve "when to sow maize?" +exp=agri')
            _hydra(verb, _job_retrieve(rest[0]), rest[1:])
        elif verb == "judge":
            if not rest or rest[0].startswith("-") or "=" in rest[0]:
                _fail("judge needs the run folder first: python -m harness judge results/<exp>/<run> +judge=embedded")
            _hydra(verb, _job_judge(rest[0]), rest[1:])
        elif verb == "compare":
            _compare(rest)
        elif verb == "merge":
            from harness.report import merge

            sys.exit(merge.main(rest))
        elif verb == "build-suite":
            from harness.suites import build

            sys.exit(build.main(rest))
        elif verb == "history":
            from harness.report import history

            sys.exit(history.main(rest))
        elif verb == "generate-qa":
            _hydra(verb, _job_generate_qa, rest, config_dir=CONF_DIR / "qagen", config_name="default")
        else:
            _hydra(verb, JOBS[verb], rest)
    except HarnessError as err:
        _fail(str(err))


if __name__ == "__main__":
    main()
