"""The one line that says a run evaluated part of its suite (``suite.n_docs``, ``eval.limit``),
at the top of leaderboard.md and report.html: a subset's numbers are about its questions only,
and before this line the subset was visible only in the command line at the page's foot."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from harness.errors import HarnessError
from harness.records import Samples


def _whole_suite_questions(spec: Mapping[str, Any]) -> int | None:
    """Eval questions of the whole suite (None when the suite cannot be read here)."""
    from harness import suites
    from harness.sections import SuiteRef

    raw = dict(spec.get("suite") or {})
    raw.pop("n_docs", None)
    try:
        suite = suites.load(SuiteRef.from_dict(raw))
    except (HarnessError, OSError, ValueError, KeyError, TypeError):
        return None
    return sum(len(task.rows) for task in suite.tasks)


def subset_line(manifest: Mapping[str, Any] | None, samples: Samples) -> str:
    """"Subset: 40 of 270 questions (suite.n_docs=5, eval.limit=20) ..." or "" for a whole-suite run."""
    spec = (manifest or {}).get("spec") or {}
    n_docs = (spec.get("suite") or {}).get("n_docs")
    limit = (spec.get("eval") or {}).get("limit")
    if not n_docs and not limit:
        return ""
    asked = ", ".join(part for part in (n_docs and f"suite.n_docs={n_docs}", limit and f"eval.limit={limit}") if part)
    evaluated = max((sum(len(rows) for rows in tasks.values()) for tasks in samples.values()), default=0)
    whole = _whole_suite_questions(spec)
    of = f" of {whole}" if whole else ""
    return (f"**Subset**: {evaluated}{of} questions ({asked}); every number below is about these questions "
            "only, not the whole suite.")


__all__ = ["subset_line"]
