"""Task variants: every lm-eval task as a condition sees it — closed book, with one retriever's
contexts (RAG), or with k training examples before the prompt (ICL, the adaptation that trains
nothing) — materialised once into ``tasks`` cache entries.

Closed-book tasks are materialised too (not read from the suite's files) so a suite subset
(``suite.n_docs``) applies to every condition alike and every condition reads its rows from
the same kind of file.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from harness.errors import HarnessError
from harness.sections import IclSettings, RetrievalSettings
from harness.spec import Condition
from harness.suites import Suite
from harness.variants.materialize import materialize_icl_tasks, materialize_tasks, retrieval_metrics
from harness.variants.task import TaskVariant, tokenizer_name
from harness.variants.variant_set import VariantSet

__all__ = [
    "TaskVariant",
    "VariantSet",
    "materialize_icl_tasks",
    "materialize_tasks",
    "materialize_variants",
    "retrieval_metrics",
    "tokenizer_name",
]


def materialize_variants(suite: Suite, conditions: Sequence[Condition], retrieval: RetrievalSettings,
                         icl: IclSettings | None, tokenizer: Any, tokenizer_sha: str, *, n_docs: int | None,
                         extra_suites: Sequence[Suite] = ()) -> VariantSet:
    """The task variants of the grid: the main suite's per (icl, rag) the conditions use, and
    each extra suite's (the forgetting suite: taken whole, closed book only, plus its ICL
    variant with the main suite's shots when a condition is icl).

    ``n_docs``: the main suite's subset (``suite.n_docs``), part of its cache keys;
    ``tokenizer_sha`` identifies the tokenizer in them (the base model's weights hash).
    """
    uses_icl = any(c.adaptation == "icl" for c in conditions)
    if uses_icl and icl is None:
        raise HarnessError("an icl condition needs the icl settings (icl.k, icl.seed)")
    main: dict[tuple[bool, bool], list[TaskVariant]] = {}
    for rag in (False, True):
        wanted = [c for c in conditions if c.rag == rag]
        if not wanted:
            continue
        plain = materialize_tasks(suite, retrieval, tokenizer, tokenizer_sha, rag=rag, n_docs=n_docs)
        if any(c.adaptation != "icl" for c in wanted):
            main[(False, rag)] = plain
        if icl is not None and any(c.adaptation == "icl" for c in wanted):
            main[(True, rag)] = materialize_icl_tasks(suite, icl, suite.tasks, plain, tokenizer, n_docs=n_docs)
    extra: dict[str, dict[bool, list[TaskVariant]]] = {}
    for other in extra_suites:
        closed = materialize_tasks(other, retrieval, tokenizer, tokenizer_sha, rag=False, n_docs=None)
        extra[other.name] = {False: closed}
        if icl is not None and uses_icl:
            extra[other.name][True] = materialize_icl_tasks(suite, icl, other.tasks, closed, tokenizer, n_docs=n_docs)
    return VariantSet.of(main, extra)
