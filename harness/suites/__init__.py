"""Suites: a corpus, training pairs and lm-eval tasks about one domain, validated on load.

Entry: :func:`load` — a run's ``suite:`` section (:class:`~harness.sections.SuiteRef`) → the
validated :class:`Suite` it names: a folder of the suite format (``suite.path``: a folder, a
suite.yaml, or a name under ``tasks/``) or a public dataset converted once into the cache
(``suite.hub``, :mod:`harness.suites.hub`); ``suite.n_docs`` keeps the first documents and the
questions about them, ``suite.docs`` the documents matching its patterns with what their
questions need (:mod:`harness.suites.subset`), for quick runs.

Suites are written by the shipped generators (``gen``), ``build-suite`` (``build``), the hub
converters (``hub``) and ``generate-qa`` (:mod:`harness.qagen`), all through
:mod:`harness.suites.writer`; documents are read by :mod:`harness.suites.ingest`.
"""

from harness.errors import HarnessError
from harness.sections import SuiteRef
from harness.spec import PROJECT_ROOT, resolve_path
from harness.suites.loader import (
    TASK_KINDS,
    Suite,
    SuiteTask,
    load_suite,
    render_train_example,
    resolve_suite_dir,
    subset_suite,
)
from harness.suites.text import normalize_text


def load(ref: SuiteRef) -> Suite:
    """The suite ``ref`` names, validated (relative paths resolve as ``harness.spec.resolve_path``)."""
    if ref.hub:  # a public dataset, converted once into the cache (docs/hub-suites.md)
        from harness.suites.hub import materialize_hub_suite

        data_dir = resolve_path(ref.data_dir) if ref.data_dir else None
        root = materialize_hub_suite(ref.raw, data_dir)
    elif ref.path:
        root = resolve_path(ref.path)
    else:
        raise HarnessError("suite.path is not set: name a suite folder (suite=agri or suite.path=<folder>)")
    suite = load_suite(str(root), tasks_root=PROJECT_ROOT / "tasks")
    if ref.docs is not None:  # first the matching documents, then (n_docs) the first N of those
        from harness.suites.subset import subset_by_docs

        suite = subset_by_docs(suite, ref.docs)
    return subset_suite(suite, ref.n_docs) if ref.n_docs else suite


__all__ = [
    "TASK_KINDS",
    "Suite",
    "SuiteTask",
    "load",
    "load_suite",
    "normalize_text",
    "render_train_example",
    "resolve_suite_dir",
    "subset_suite",
]
