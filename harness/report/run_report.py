"""Everything a run folder's report consists of, rebuilt from its stored files.

``report_run(run_dir)`` reads metrics.json, manifest.json and samples/, computes the extra
per-sample metrics and the cost columns (harness.report.extra_metrics), adds the LLM judge's
columns when the run folder holds judgments (judge/, harness.judge.summary), stores their summary
under ``"extra"`` in metrics.json (the primary entries are left as they are), writes the
leaderboard files with the extra columns, and writes report.html. ``run`` calls it before the
run folder is renamed into place; ``python -m harness report <run folder>`` calls it later.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import yaml

from harness import cache
from harness.judge import summary as judge_summary
from harness.report import extra_metrics, html, leaderboard, paper
from harness.report.history import run_id, run_time

log = logging.getLogger(__name__)

def _read_json(path: Path) -> Any:
    return json.loads(path.read_text()) if path.is_file() else None


def _keep_exact_token_counts(extras: extra_metrics.Extras, previous: dict[str, Any]) -> None:
    """A later ``report`` without the model's tokenizer keeps the counts the run made with it
    (the records are the same) rather than degrading them to the whitespace approximation."""
    before = str(previous.get("tokenizer") or "")
    if not extras.tokenizer.startswith("approximate") or not before or before.startswith("approximate"):
        return
    for condition, got in extras.cost.items():
        old = (previous.get("cost") or {}).get(condition) or {}
        for key in ("mean_prompt_tokens", "mean_generated_tokens"):
            if old.get(key) is not None:
                got[key] = old[key]
    extras.tokenizer = before


def _finetune_seconds(adapter: Any, previous: dict[str, Any]) -> float | None:
    """The adapter's training time: from its card when ``run`` passes the adapter, else what the
    run stored (a later ``report`` has no adapter at hand)."""
    seconds = (getattr(adapter, "card", None) or {}).get("train_seconds")
    if seconds is None:
        seconds = previous.get("finetune_train_s")
    return None if seconds is None else float(seconds)


def report_run(run_dir: Path, *, seed: int = 0, similarity: bool = True, tokenizer: Any = None,
               adapter: Any = None) -> str:
    """Rebuild the leaderboard files, the extra metrics and report.html; returns the markdown.

    ``tokenizer`` and ``adapter`` are what ``run`` has at hand (token counts with the model's
    tokenizer, the adapter's training time); without them the values the run stored are kept.
    A failure in the extras or the page is logged and leaves the leaderboard files complete."""
    run_dir = Path(run_dir)
    stored = json.loads((run_dir / "metrics.json").read_text())
    manifest = _read_json(run_dir / "manifest.json")
    records = extra_metrics.load_records(run_dir)
    samples = leaderboard.load_samples(run_dir)
    previous = stored.get("extra") or {}
    extras: extra_metrics.Extras | None = None
    try:
        extras = extra_metrics.compute(records, stored["primary"], manifest, seed=seed, tokenizer=tokenizer,
                                       finetune_s=_finetune_seconds(adapter, previous),
                                       latency=stored.get("latency"),
                                       similarity=extra_metrics.Similarity(enabled=similarity))
        _keep_exact_token_counts(extras, previous)
        judge_summary.add_to(extras, judge_summary.load(run_dir), stored["reference"], seed)  # judge/, if judged
        stored["extra"] = extras.to_json()
        cache.write_json_atomic(run_dir / "metrics.json", stored)
    except Exception:  # extras are a bonus: never lose a run's leaderboard over them
        log.exception("extra metrics of %s failed; the leaderboard is written without them", run_dir)
    frame = leaderboard.build(stored["conditions"], stored["primary"], stored["reference"], samples, seed=seed,
                              **leaderboard.variant_args(stored, run_dir))
    markdown = leaderboard.write(frame, stored["primary"], stored["reference"], run_dir, samples, seed=seed,
                                 retrieval=stored.get("retrieval_metrics"), extras=extras)
    try:  # a reproduction experiment's published numbers beside ours (``paper`` in its config)
        config = yaml.safe_load((run_dir / "config.yaml").read_text()) if (run_dir / "config.yaml").is_file() else {}
        table = paper.write_paper_table(run_dir, (config or {}).get("paper"), frame, stored["reference"])
        markdown = f"{markdown}\n{table}" if table else markdown
    except Exception:
        log.exception("paper_vs_ours.md of %s could not be written", run_dir)
    try:
        fact = leaderboard.factorial(frame, stored["primary"], samples, seed=seed)
        page = html.render(run_id(run_dir), stored, manifest, frame, fact, extras, records,
                           started=run_time(run_dir))
        (run_dir / "report.html").write_text(page, encoding="utf-8")
    except Exception:
        log.exception("report.html of %s could not be written", run_dir)
    return markdown


__all__ = ["report_run", "run_id", "run_time"]
