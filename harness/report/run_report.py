"""Everything a run folder's report consists of, rebuilt from its stored files.

``report_run(run_dir)`` reads metrics.json, manifest.json and samples/, scores the records
(harness.scoring: the extra per-sample metrics, the cost columns, and the LLM judge's columns
when the run folder holds judgments), stores their summary under ``"extra"`` in metrics.json
(the primary entries are left as they are), breaks the scores down as the rows under tasks/
allow (per attribute, stale answers, retrieval per variant: harness.report.breakdown), writes
the leaderboard files with the extra columns and those tables, and writes report.html.
``run`` calls it before the run folder is renamed into place; ``python -m harness report <run
folder>`` calls it later, and the ``judge`` verb after judging.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from harness.errors import HarnessError
from harness.records import RunFolder
from harness import cache, decision
from harness.churn.report import churn_plots, churn_tables
from harness.report import breakdown, html, leaderboard, paper
from harness.report.factorial import factorial
from harness.report.format_knowledge import format_knowledge_table
from harness.report.merge_sweep import merge_sweep_plot, merge_sweep_table
from harness.report.headline import headline_plot
from harness.report.history import run_id, run_time
from harness.report.side_suites import side_suites
from harness.report.subset import split_line, subset_line
from harness.scoring import RunScores, score_run
from harness.scoring.judge import JudgePass, judge_run, prepare

log = logging.getLogger(__name__)
DECISION_FILE = "decision.json"


def report_run(run_dir: Path, *, seed: int = 0, similarity: bool = True, tokenizer: Any = None,
               adapter: Any = None) -> str:
    """Rebuild the leaderboard files, the extra metrics and report.html; returns the markdown.

    ``tokenizer`` and ``adapter`` are what ``run`` has at hand (token counts with the model's
    tokenizer, the adapter's training time); without them the values the run stored are kept.
    A failure in the extras or the page is logged and leaves the leaderboard files complete."""
    run = RunFolder(Path(run_dir))
    stored = run.read_metrics()
    manifest = run.read_manifest()
    records = run.load_records()
    samples = run.load_samples()
    extras: RunScores | None = None
    try:
        extras = score_run(run, stored, records=records, seed=seed, similarity=similarity, tokenizer=tokenizer,
                           adapter=adapter)
        stored["extra"] = extras.to_json()
        run.write_metrics(stored)
    except Exception:  # extras are a bonus: never lose a run's leaderboard over them
        log.exception("extra metrics of %s failed; the leaderboard is written without them", run.path)
    frame = leaderboard.build(stored["conditions"], stored["primary"], stored["reference"], samples, seed=seed,
                              **leaderboard.variant_args(stored, run.path))
    made = write_decision(run, seed=seed)
    subset = subset_line(manifest, samples)
    tables = breakdown.breakdown_tables(run.path, samples, records, stored["primary"], stored["reference"],
                                        list(frame.index), seed=seed) + churn_tables(run.path)
    sweep = _sweep_args(manifest, stored, run.path)
    made_tables = (format_knowledge_table(samples, stored["primary"], list(frame.index), seed=seed),
                   merge_sweep_table(frame, *sweep))
    tables = [t for t in made_tables if t is not None] + tables
    retrieval = breakdown.retrieval_by_variant(run.path, stored.get("retrieval_metrics"))
    markdown = leaderboard.write(frame, stored["primary"], stored["reference"], run.path, samples, seed=seed,
                                 retrieval=retrieval, extras=extras, sides=side_suites(stored, run.path),
                                 head=_head(subset, made, split_line(manifest)), breakdowns=tables)
    try:  # a reproduction experiment's published numbers beside ours (``paper`` in its config)
        table = paper.write_paper_table(run.path, run.read_config().get("paper"), frame, stored["reference"])
        markdown = f"{markdown}\n{table}" if table else markdown
    except Exception:
        log.exception("paper_vs_ours.md of %s could not be written", run.path)
    try:
        fact = factorial(frame, stored["primary"], samples, seed=seed)
        page = html.render(run_id(run.path), stored, manifest, frame, fact, extras, records,
                           started=run_time(run.path), sides=side_suites(stored, run.path),
                           decision=decision.to_html(made) if made else "", retrieval=retrieval, breakdowns=tables,
                           headline=headline_plot(frame, made), arms=made.arms if made else (None, None),
                           subset=subset, plots=churn_plots(run.path) + merge_sweep_plot(frame, *sweep))
        (run.path / "report.html").write_text(page, encoding="utf-8")
    except Exception:
        log.exception("report.html of %s could not be written", run.path)
    return markdown


def _sweep_args(manifest: Any, stored: dict[str, Any], run_dir: Path) -> tuple[str, list[str]]:
    """What the merge sweep needs besides the frame: the arm merged (``merge.of``) and the
    forgetting suite's ``task/metric`` columns."""
    of = str(((manifest or {}).get("spec") or {}).get("merge", {}).get("of") or "ft")
    return of, [f"{task}/{metric}" for side in side_suites(stored, run_dir) for task, metric in side.primary.items()]


def _head(subset: str, made: decision.Decision | None, split: str = "") -> str:
    """What leaderboard.md opens with: the subset line (when the run evaluated part of its
    suite), then the Decision section, then the split mode's line (when the suite's is known)."""
    return "\n\n".join(part for part in (subset, decision.markdown(made) if made else "", split) if part)


def write_decision(run: RunFolder, *, seed: int = 0, overrides: Sequence[str] = ()) -> decision.Decision | None:
    """decision.json of a run folder under its config's cost assumptions (+ ``overrides``);
    None, with the reason logged, when the run cannot support one (no per-question records)."""
    try:
        settings = decision.cost_settings(run.read_config().get("cost") if run.config_file.is_file() else None,
                                          overrides)
        made = decision.decide(decision.load_inputs(run.path), settings, seed=seed)
    except ValueError as err:
        log.warning("no decision for %s: %s", run.path, err)
        return None
    cache.write_json_atomic(run.path / DECISION_FILE, decision.to_json(made))
    return made


def judge_folder(run_dir: Path, section: Any, *, similarity: bool = True) -> tuple[JudgePass, str]:
    """The ``judge`` verb: judge a completed run folder, record the judge in its manifest, and
    rebuild its report; returns the pass and the leaderboard markdown."""
    from harness.models.wheels import offline_env

    run = RunFolder(Path(run_dir))
    if not run.metrics_file.is_file() or not run.samples_dir.is_dir():
        raise HarnessError(f"{run.path}: not a completed run folder (no metrics.json or samples/); give "
                           "results/<exp>/<timestamp>-<hash>")
    prepared = prepare(section)
    if prepared is None:
        raise HarnessError("judge: no judge configured; add +judge=embedded (the embedded model, in process) or "
                           "+judge=endpoint judge.base_url=http://host:8000/v1 judge.model=NAME")
    offline_env()
    done = judge_run(run.path, *prepared)
    manifest = run.read_manifest()
    if manifest is not None:
        manifest["judge"] = done.identity
        run.write_manifest(manifest)
    return done, report_run(run.path, similarity=similarity)


__all__ = ["DECISION_FILE", "judge_folder", "report_run", "run_id", "run_time", "write_decision"]
