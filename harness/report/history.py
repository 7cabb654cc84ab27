"""Results history: every run's leaderboard rows in one SQLite file, and their trend.

``run`` appends its rows (default ``results/history.sqlite``, config key ``history_db``; an
empty value turns it off); ``python -m harness history --import <run folder>`` adds a run made
earlier; ``python -m harness history [--exp agri] [--metric ...] [--condition ...]`` prints a
metric over runs, oldest first, and ``--plot trend.svg`` draws it.

One row per run × condition × task × metric: the primary metric of each task (``kind``
primary), the mean over tasks (task ``mean``, metric ``mean``), the extra metrics (``extra``)
and the cost columns (task ``cost``). A run is written in one ``BEGIN IMMEDIATE`` transaction
under a busy timeout, so concurrent writers (parallel sweep jobs) queue instead of failing or
corrupting the file; importing a run twice replaces its rows.
"""

from __future__ import annotations

import argparse
import csv
import logging
import math
import re
import sqlite3
import sys
from collections.abc import Iterable
from contextlib import closing
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from harness.errors import HarnessError
from harness.records import RunFolder

log = logging.getLogger(__name__)

DEFAULT_DB = "results/history.sqlite"
BUSY_TIMEOUT_S = 60.0
COLUMNS = ("run_id", "time", "exp", "suite", "subset", "model", "condition", "task", "metric", "kind", "value",
           "ci_low", "ci_high", "n", "git_sha", "spec_hash", "run_path")
SCHEMA = """
CREATE TABLE IF NOT EXISTS results (
    run_id TEXT NOT NULL, time TEXT NOT NULL, exp TEXT, suite TEXT, subset TEXT, model TEXT,
    condition TEXT NOT NULL, task TEXT NOT NULL, metric TEXT NOT NULL, kind TEXT NOT NULL,
    value REAL, ci_low REAL, ci_high REAL, n INTEGER, git_sha TEXT, spec_hash TEXT, run_path TEXT,
    PRIMARY KEY (run_id, condition, task, metric)
);
CREATE INDEX IF NOT EXISTS results_by_metric ON results (exp, task, metric, time);
"""
DESCRIPTION = """Results history across runs (SQLite).

  history [--exp agri] [--metric mean] [--condition ft+dense] [--plot trend.svg]
      print a metric over runs, oldest first (one column per condition and task)
  history --import <run folder> [<run folder> ...]
      add runs made earlier (a run already there is replaced)

--metric: `mean` (default: the mean over tasks), a task's metric `agri_qa/contains`, a metric
name alone (`contains`, `rouge_l`: every task that has it), or a cost `cost/mean_prompt_tokens`."""


_STAMP = re.compile(r"^(\d{8}-\d{6})")


def run_id(run_dir: Path) -> str:
    """A run folder's name, without the ``.<name>.tmp`` of one still being written."""
    name = Path(run_dir).resolve().name
    if name.startswith(".") and name.endswith(".tmp"):
        name = name[1:-len(".tmp")]
    return name


def run_time(run_dir: Path) -> str:
    """ISO time the run started: the manifest's ``started_at``, else the folder name
    (``YYYYmmdd-HHMMSS-<hash>``), else the manifest's modification time (a copied folder's is
    its copy time: older runs sort wrongly until re-run)."""
    try:
        started = (RunFolder(Path(run_dir)).read_manifest() or {}).get("started_at")
    except (OSError, ValueError):
        started = None
    if isinstance(started, str) and started:
        return started
    match = _STAMP.match(run_id(run_dir))
    if match:
        return datetime.strptime(match.group(1), "%Y%m%d-%H%M%S").isoformat()
    run = RunFolder(Path(run_dir))
    for path in (run.manifest_file, run.metrics_file):
        if path.is_file():
            return datetime.fromtimestamp(path.stat().st_mtime).replace(microsecond=0).isoformat()
    return ""


@dataclass(frozen=True)
class Row:
    run_id: str
    time: str
    exp: str
    suite: str
    subset: str
    model: str
    condition: str
    task: str
    metric: str
    kind: str
    value: float | None
    ci_low: float | None
    ci_high: float | None
    n: int | None
    git_sha: str
    spec_hash: str
    run_path: str

    def values(self) -> tuple:
        return tuple(getattr(self, c) for c in COLUMNS)


def subset_of(spec: dict[str, Any]) -> str:
    """Which part of the suite a run evaluated ("" = all of it): runs on different subsets answer
    different questions, so a trend never mixes them."""
    n_docs, limit = (spec.get("suite") or {}).get("n_docs"), (spec.get("eval") or {}).get("limit")
    return " ".join(part for part in (n_docs and f"n_docs={n_docs}", limit and f"limit={limit}") if part)


def _float(value: Any) -> float | None:
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(v) else v


def _board(run_dir: Path) -> dict[str, dict[str, str]]:
    """leaderboard.csv as condition -> column -> text (stdlib csv: no pandas import)."""
    path = run_dir / "leaderboard.csv"
    if not path.is_file():
        from harness.report import leaderboard

        leaderboard.rebuild(run_dir)
    with open(path, newline="", encoding="utf-8") as handle:
        return {row["condition"]: row for row in csv.DictReader(handle)}


def run_rows(run_dir: Path) -> list[Row]:
    """The history rows of one completed run folder."""
    run_dir = Path(run_dir)
    run = RunFolder(run_dir)
    if not run.metrics_file.is_file():
        raise HarnessError(f"{run_dir}: no metrics.json; give a completed run folder (results/<exp>/<run>)")
    try:
        stored = run.read_metrics()
        manifest = run.read_manifest() or {}
        board = _board(run_dir)
    except (OSError, ValueError, KeyError) as err:
        raise HarnessError(f"{run_dir}: unreadable run files ({err})") from err
    spec = manifest.get("spec") or {}
    common = dict(run_id=run_id(run_dir), time=run_time(run_dir), exp=str(spec.get("exp_name", "")),
                  suite=str((spec.get("suite") or {}).get("name", "")), subset=subset_of(spec),
                  model=str((spec.get("model") or {}).get("name", "")),
                  git_sha=str((manifest.get("git") or {}).get("sha") or ""),
                  spec_hash=str(manifest.get("spec_hash", "")), run_path=str(run_dir.resolve()))
    rows: list[Row] = []
    for condition, got in board.items():
        for task, metric in sorted(stored.get("primary", {}).items()):
            col = f"{task}/{metric}"
            if col in got:
                n = _float(got.get(f"{col}_n"))
                rows.append(Row(condition=condition, task=task, metric=metric, kind="primary",
                                value=_float(got[col]), ci_low=_float(got.get(f"{col}_ci_low")),
                                ci_high=_float(got.get(f"{col}_ci_high")), n=None if n is None else int(n), **common))
        if "mean" in got:
            rows.append(Row(condition=condition, task="mean", metric="mean", kind="mean", value=_float(got["mean"]),
                            ci_low=_float(got.get("mean_ci_low")), ci_high=_float(got.get("mean_ci_high")), n=None,
                            **common))
    extra = stored.get("extra") or {}
    for condition, tasks in sorted((extra.get("metrics") or {}).items()):
        for task, values in sorted(tasks.items()):
            for name, value in sorted(values.items()):
                if name.endswith(("_ci_low", "_ci_high", "_n")):
                    continue
                n = values.get(f"{name}_n")
                rows.append(Row(condition=condition, task=task, metric=name, kind="extra", value=_float(value),
                                ci_low=_float(values.get(f"{name}_ci_low")), ci_high=_float(values.get(f"{name}_ci_high")),
                                n=None if n is None else int(n), **common))
    for condition, values in sorted((extra.get("cost") or {}).items()):
        for name, value in sorted(values.items()):
            if isinstance(value, str):  # how a figure was obtained, not a figure
                continue
            rows.append(Row(condition=condition, task="cost", metric=name, kind="cost", value=_float(value),
                            ci_low=None, ci_high=None, n=None, **common))
    return rows


# ---------------------------------------------------------------- the database


def connect(db: Path) -> sqlite3.Connection:
    db = Path(db)
    db.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(str(db), timeout=BUSY_TIMEOUT_S, isolation_level=None)
    conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
    return conn


def _schema(conn: sqlite3.Connection) -> None:
    conn.execute("BEGIN IMMEDIATE")
    try:
        for statement in SCHEMA.split(";"):
            if statement.strip():
                conn.execute(statement)
        present = {row[1] for row in conn.execute("PRAGMA table_info(results)")}
        if "subset" not in present:  # a database written before subsets were recorded
            conn.execute("ALTER TABLE results ADD COLUMN subset TEXT")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def append(db: Path, rows: Iterable[Row]) -> int:
    """Write rows in one transaction (a run's earlier rows are replaced); returns how many."""
    rows = list(rows)
    with closing(connect(db)) as conn:
        _schema(conn)
        conn.execute("BEGIN IMMEDIATE")  # takes the write lock now; waits up to the busy timeout
        try:
            for run in sorted({r.run_id for r in rows}):
                conn.execute("DELETE FROM results WHERE run_id = ?", (run,))
            conn.executemany(f"INSERT INTO results ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})",
                             [r.values() for r in rows])
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    return len(rows)


def import_run(db: Path, run_dir: Path) -> int:
    return append(db, run_rows(run_dir))


def resolve_db(db: str | Path) -> Path:
    """Where a configured path points: relative paths as ``results_dir`` resolves them (the
    launch directory when its folder exists there, else the project checkout)."""
    from harness.spec import resolve_path

    path = Path(db).expanduser()
    return path if path.is_absolute() else resolve_path(path.parent) / path.name


def record_run(run_dir: Path, db: str | Path | None) -> None:
    """What ``run`` calls after a run folder is complete: append it, never fail the run."""
    if not db:
        return
    try:
        path = resolve_db(db)
        n = import_run(path, run_dir)
        log.info("history: %d rows of %s appended to %s", n, Path(run_dir).name, path)
    except (HarnessError, OSError, sqlite3.Error) as err:
        log.warning("history: could not append %s to %s (%s); add it later with "
                    "`python -m harness history --import %s`", run_dir, db, err, run_dir)


def query(db: Path, *, exp: str | None = None, metric: str = "mean", condition: list[str] | None = None,
          last: int | None = None, suite: str | None = None) -> list[dict[str, Any]]:
    """Rows of one metric, oldest run first."""
    if not Path(db).is_file():
        raise HarnessError(f"{db}: no history database yet (a run writes it, or use --import <run folder>)")
    where, args = [], []
    if metric == "mean":
        where.append("task = 'mean' AND metric = 'mean'")
    elif "/" in metric:
        task, name = metric.split("/", 1)
        where.append("task = ? AND metric = ?")
        args += [task, name]
    else:
        where.append("metric = ? AND task NOT IN ('mean', 'cost')")
        args.append(metric)
    if exp:
        where.append("exp = ?")
        args.append(exp)
    if suite:
        where.append("suite = ?")
        args.append(suite)
    if condition:
        where.append(f"condition IN ({', '.join('?' * len(condition))})")
        args += condition
    sql = f"SELECT * FROM results WHERE {' AND '.join(where)} ORDER BY time, run_id, condition, task"
    with closing(connect(db)) as conn:
        conn.row_factory = sqlite3.Row
        rows = [dict(r) for r in conn.execute(sql, args)]
    if last:
        keep = list(dict.fromkeys(r["run_id"] for r in rows))[-last:]
        rows = [r for r in rows if r["run_id"] in keep]
    return rows


def one_question_set(rows: list[dict[str, Any]]) -> None:
    """Refuse a trend over runs of different suites or subsets: their numbers answer different
    questions, so a line through them would show a change that is not one."""
    sets = sorted({(str(r.get("suite") or "?"), str(r.get("subset") or "")) for r in rows})
    if len(sets) > 1:
        named = ", ".join(f"{suite} ({subset or 'whole suite'})" for suite, subset in sets)
        raise HarnessError(f"these runs evaluated different question sets: {named}; a trend across them is not "
                           "one metric over time — narrow it with --suite <name> (and --exp)")


def _series_name(row: dict[str, Any], tasks: set[str]) -> str:
    return row["condition"] if len(tasks) <= 1 else f"{row['condition']} · {row['task']}"


def trend(rows: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], dict[str, list[Any]]]:
    """(runs in order, series name -> one (value, low, high) or None per run)."""
    runs = list({r["run_id"]: {"run_id": r["run_id"], "time": r["time"], "git_sha": r["git_sha"]}
                 for r in rows}.values())
    index = {r["run_id"]: i for i, r in enumerate(runs)}
    tasks = {r["task"] for r in rows}
    series: dict[str, list[Any]] = {}
    for r in rows:
        values = series.setdefault(_series_name(r, tasks), [None] * len(runs))
        values[index[r["run_id"]]] = (r["value"], r["ci_low"], r["ci_high"])
    return runs, dict(sorted(series.items()))


def _cell(v: Any) -> str:
    if v is None or v[0] is None:
        return ""
    value, low, high = v
    return f"{value:.3f} [{low:.3f}, {high:.3f}]" if low is not None and high is not None else f"{value:.4g}"


def to_markdown(rows: list[dict[str, Any]], metric: str) -> str:
    runs, series = trend(rows)
    header = ["time", "run", "git"] + list(series)
    lines = [f"{metric} over {len(runs)} run(s) (95% CI where known)", "",
             "| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    for i, run in enumerate(runs):
        cells = [run["time"].replace("T", " "), run["run_id"], (run["git_sha"] or "")[:8]]
        cells += [_cell(values[i]) for values in series.values()]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def plot(rows: list[dict[str, Any]], metric: str, out: Path) -> Path:
    from harness.report import svg

    if out.suffix.lower() != ".svg":
        raise HarnessError(f"--plot {out}: only .svg is written (no plotting library is needed for it)")
    runs, series = trend(rows)
    labels = [f"{r['time'][:16].replace('T', ' ')}" for r in runs]
    values = {name: [None if v is None or v[0] is None else
                     svg.Value(v[0], math.nan if v[1] is None else v[1], math.nan if v[2] is None else v[2])
                     for v in vs] for name, vs in series.items()}
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(svg.line_chart(f"{metric} over runs", labels, values, y_label=metric) + "\n", encoding="utf-8")
    return out


# ---------------------------------------------------------------- CLI


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m harness history", description=DESCRIPTION,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--db", type=Path, default=None, help=f"history database (default {DEFAULT_DB}, as `run` writes)")
    p.add_argument("--import", dest="runs", nargs="+", type=Path, default=None, metavar="RUN",
                   help="add these run folders to the history")
    p.add_argument("--exp", default=None, help="only runs of this experiment (e.g. agri)")
    p.add_argument("--suite", default=None, help="only runs of this suite (a trend never mixes suites)")
    p.add_argument("--metric", default="mean", help="mean | <task>/<metric> | <metric> | cost/<key>")
    p.add_argument("--condition", action="append", default=None, help="only this condition (repeatable)")
    p.add_argument("--last", type=int, default=None, help="only the last N runs")
    p.add_argument("--plot", type=Path, default=None, help="also draw the trend into this .svg file")
    return p


def main(argv: list[str], out: Any = None) -> int:
    out = out or sys.stdout
    args = parser().parse_args(argv)
    db = resolve_db(args.db or DEFAULT_DB)
    if args.runs:
        for run_dir in args.runs:
            n = import_run(db, run_dir)
            print(f"imported {run_dir} ({n} rows) into {db}", file=out)
        return 0
    rows = query(db, exp=args.exp, metric=args.metric, condition=args.condition, last=args.last, suite=args.suite)
    if not rows:
        raise HarnessError(f"{db}: no rows for metric {args.metric!r}"
                           + (f" in experiment {args.exp!r}" if args.exp else "")
                           + (f" and condition(s) {args.condition}" if args.condition else ""))
    one_question_set(rows)
    print(to_markdown(rows, args.metric), file=out)
    if args.plot:
        print(f"plot: {plot(rows, args.metric, args.plot)}", file=out)
    return 0


__all__ = ["DEFAULT_DB", "append", "import_run", "main", "query", "record_run", "run_id", "run_rows", "run_time",
           "trend"]
