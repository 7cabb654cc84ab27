"""The one line that says a run evaluated part of its suite (``suite.n_docs``, ``eval.limit``),
at the top of leaderboard.md and report.html: a subset's numbers are about its questions only,
and before this line the subset was visible only in the command line at the page's foot.

Beside it, the line naming the suite's split mode (``Suite.split_mode``), in leaderboard.md: an
FT row means "the adapter recalls trained facts asked in new words" on a paraphrase split and
"fine-tuning helps on facts it never saw" on a transfer split — two different questions."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from harness.errors import HarnessError
from harness.records import Samples

if TYPE_CHECKING:
    from harness.suites import Suite


def _suite(raw: Mapping[str, Any]) -> Suite | None:
    """The run's suite as its spec names it (None when it cannot be read here)."""
    from harness import suites
    from harness.sections import SuiteRef

    try:
        return suites.load(SuiteRef.from_dict(dict(raw)))
    except (HarnessError, OSError, ValueError, KeyError, TypeError):
        return None


def _whole_suite_questions(spec: Mapping[str, Any]) -> int | None:
    """Eval questions of the whole suite (None when the suite cannot be read here)."""
    raw = dict(spec.get("suite") or {})
    raw.pop("n_docs", None)
    suite = _suite(raw)
    return None if suite is None else sum(len(task.rows) for task in suite.tasks)


SPLIT_WORDS = {"paraphrase": "every eval question asks a trained fact in new words",
               "transfer": "eval facts were never trained",
               "mixed": "some eval facts were trained, others never"}


def split_line(manifest: Mapping[str, Any] | None) -> str:
    """"**Split**: paraphrase (every eval question asks a trained fact in new words)." or "" when
    the mode is unknown (no fact ids, or a hub suite: not converted again just for this line)."""
    raw = ((manifest or {}).get("spec") or {}).get("suite") or {}
    suite = _suite(raw) if raw.get("path") and not raw.get("hub") else None
    mode = suite.split_mode if suite is not None else None
    return f"**Split**: {mode} ({SPLIT_WORDS.get(mode, mode)})." if mode else ""


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


__all__ = ["split_line", "subset_line"]
