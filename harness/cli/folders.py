"""Verbs that work on finished run folders: report, judge, compare, power, decide, merge, history;
and clean (the temporary folders killed runs left).
The argparse verbs own their parsers in the module that does the work."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from harness.cli.registry import RULE_FLAGS, Verb, fail, first_argument, hydra_job, parser_help, screen, verb


def _report_help(v: Verb) -> str:
    return screen(v, "<run folder> [--no-similarity]",
                  "options:\n  --no-similarity  skip the answer-similarity metric (it loads the MiniLM embedder)",
                  RULE_FLAGS)


@verb("report", "rebuild a run folder's Decision, leaderboard, extra metrics and report.html from its records",
      "report results/baselines/agri --no-similarity", _report_help)
def report_verb(args: list[str]) -> None:
    from harness import multi_suite
    from harness.completion import incomplete_reason
    from harness.report import run_report

    similarity = "--no-similarity" not in args
    args = [a for a in args if a != "--no-similarity"]
    if len(args) != 1:
        fail("report takes one argument: the run folder (results/<exp>/<run>)")
    run_dir = Path(args[0])
    unfinished = incomplete_reason(run_dir) if run_dir.is_dir() else None
    if unfinished:
        fail(f"{run_dir}: {unfinished}")
    metrics_file = run_dir / "metrics.json"
    if not metrics_file.is_file():
        fail(f"{metrics_file} not found: give a completed run folder (results/<exp>/<timestamp>-<hash>)")
    try:
        table = (multi_suite.rebuild(run_dir) if multi_suite.is_combined(run_dir)  # results/all/<run>
                 else run_report.report_run(run_dir, similarity=similarity))
    except (ValueError, KeyError) as err:
        fail(f"{run_dir}: unreadable run records ({err}); the run folder is damaged")
    print(table)


def _judge_help(v: Verb) -> str:
    return screen(v, "<run folder> +judge=embedded|endpoint [overrides ...]",
                  "config: conf/judge/ (prompt and rubric: conf/judge/rubric/default.yaml)\n\nmost used overrides:\n"
                  "  judge.limit=20\n  +judge=endpoint judge.base_url=http://host:8000/v1 judge.model=NAME "
                  "judge.api_key_env=OPENAI_API_KEY")


@verb("judge", "LLM-judge a run folder's open-QA answers, then rebuild its report",
      "judge results/baselines/agri +judge=embedded judge.limit=20", _judge_help)
def judge_verb(args: list[str]) -> None:
    run_dir = Path(first_argument(
        args, "judge needs the run folder first: python -m harness judge results/<exp>/<run> +judge=embedded"))

    def job(cfg: dict[str, Any]) -> None:
        from harness.report.run_report import judge_folder

        done, table = judge_folder(run_dir, cfg.get("judge"))
        print(table)
        print(f"\njudged {done.judged} answers ({done.unparsable} unparsable, {done.from_cache} from the judge cache, "
              f"{done.asked} asked) in {done.seconds:.1f}s; judgments in {run_dir / 'judge'}")

    hydra_job("judge", job, args[1:])


@verb("compare", "regression gate: does a run fall below its baseline (non-inferiority, Holm-corrected)",
      "compare results/baselines/agri results/agri/<run> --margin 0.05", parser_help("harness.report.compare"))
def compare_verb(args: list[str]) -> None:
    from harness.report import compare

    sys.exit(compare.main(args))


@verb("power", "plan from a pilot run: the smallest difference it can see and the questions needed per task",
      "power results/baselines/agri --effect 0.05", parser_help("harness.report.power"))
def power_verb(args: list[str]) -> None:
    from harness.report import power

    sys.exit(power.main(args))


@verb("decide", "re-price a run's Decision under other cost assumptions, without a model",
      "decide results/baselines/agri cost.price_per_hour=2.5 cost.queries_per_month=1e6",
      parser_help("harness.decision.cli"))
def decide_verb(args: list[str]) -> None:
    from harness.decision import cli

    sys.exit(cli.main(args))


@verb("merge", "one leaderboard across runs (a sweep, or suites run apart)",
      "merge results/agri/multirun/<time> --out results/agri-sweep", parser_help("harness.report.merge"))
def merge_verb(args: list[str]) -> None:
    from harness.report import merge

    sys.exit(merge.main(args))


@verb("history", "a metric's trend over past runs, from the results history",
      "history --exp agri --metric mean --plot trend.svg", parser_help("harness.report.history"))
def history_verb(args: list[str]) -> None:
    from harness.report import history

    sys.exit(history.main(args))


@verb("clean", "remove the temporary folders killed runs left behind",
      "clean results --older-than 24 --dry-run", parser_help("harness.completion"))
def clean_verb(args: list[str]) -> None:
    from harness import completion

    sys.exit(completion.main(args))


@verb("audit-scorer", "draw answers for a blind hand-check of the open-QA scorer, or report its error rates",
      "audit-scorer --rates tasks/agri/scorer_audit.jsonl", parser_help("harness.scoring.audit"))
def audit_scorer_verb(args: list[str]) -> None:
    from harness.scoring import audit

    sys.exit(audit.main(args))
