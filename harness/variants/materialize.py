"""Closed-book, RAG and ICL variants of a suite's tasks, each set one ``tasks`` cache entry.

Closed-book tasks are materialised too (not read from the suite's files) so a suite subset
(``suite.n_docs``) applies to every condition alike and every condition reads its rows from
the same kind of file. RAG variants carry one retriever's contexts cut to the token budget;
ICL variants are the same rows with k training examples before every prompt.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from harness import cache
from harness.jsonl import read_jsonl
from harness.sections import IclSettings, RetrievalSettings
from harness.suites import Suite, SuiteTask, render_train_example
from harness.variants.icl import draw_shots, materialize_icl_task, render_prefix
from harness.variants.rag import count_tokens, materialize_rag_task
from harness.variants.portable import source_digest
from harness.variants.task import FORMAT, TaskVariant, cached_variants, tokenizer_name


def materialize_tasks(suite: Suite, retrieval: RetrievalSettings, tokenizer: Any, tokenizer_sha: str, *,
                      rag: bool, n_docs: int | None) -> list[TaskVariant]:
    """Every eval task of ``suite``, closed book or (``rag``) with the retriever's contexts.

    ``n_docs``: the subset the suite was cut to (None: taken whole, e.g. the forgetting suite);
    it is only part of the cache key, the suite given is already the subset.
    """
    from harness.retrieval import retrieve
    from harness.retrieval.footprint import footprint

    variant = retrieval.kind if rag else "closed"
    budget = retrieval.budget_tokens if rag else 0
    key = cache.hash_json({
        "suite": suite.content_hash,
        "n_docs": n_docs,
        "retriever": dict(retrieval.raw) if rag else None,
        "tokenizer": tokenizer_sha,
        "variant": variant,
        "stats": 2,  # 2: stats carry the retriever's serving footprint
        "format": FORMAT,
        "files": source_digest([t.yaml_path for t in suite.tasks]),
    })

    def build(out: Path) -> list[TaskVariant]:
        cfg = retrieval.config() if rag else None
        variants = []
        memory = footprint(suite.corpus, cfg).to_dict() if cfg is not None and cfg.kind != "none" else {}
        for task in suite.tasks:
            rows = list(task.rows)
            hits = retrieve(suite.corpus, [r["question"] for r in rows], cfg) if rag else [[] for _ in rows]
            made = materialize_rag_task(task.name, task.yaml_path, rows, hits, suite.corpus, tokenizer,
                                        budget, out, variant)
            variants.append(TaskVariant(task.name, made.name, made.yaml_path, made.data_path, dict(made.stats, **memory)))
        return variants

    return cached_variants(key, build)


def materialize_icl_tasks(suite: Suite, icl: IclSettings, tasks: Sequence[SuiteTask],
                          variants: Sequence[TaskVariant], tokenizer: Any, *, n_docs: int | None) -> list[TaskVariant]:
    """The k-shot variant of already materialised task variants: the same rows, with ``icl.k``
    examples of ``suite``'s training set (seeded draw, one set per run) before every prompt.

    ``tasks`` own the variants (their YAMLs are included); they may be another suite's (the
    forgetting suite gets the main suite's shots). ``n_docs`` only names the subset in errors.
    """
    where = f"the training set of suite '{suite.name}'" + (f" with n_docs={n_docs}" if n_docs else "")
    shots = draw_shots(suite.train, icl.k, icl.seed, where=where)
    prefix = render_prefix([render_train_example(suite, row) for row in shots])
    shot_ids = [str(row.get("id")) for row in shots]
    yamls = {t.name: t.yaml_path for t in tasks}
    key = cache.hash_json({"variants": [[v.name, cache.hash_file(v.data_path)] for v in variants],
                           "prefix": prefix, "shot_ids": shot_ids, "tokenizer": tokenizer_name(tokenizer),
                           "format": FORMAT, "files": source_digest(list(yamls.values()))})

    def build(out: Path) -> list[TaskVariant]:
        made = []
        for v in variants:
            name = f"{v.name}_icl"
            yaml_path, data_path = materialize_icl_task(yamls[v.base_task], name, read_jsonl(v.data_path), prefix,
                                                        shot_ids, out)
            stats = dict(v.stats, icl_k=icl.k, icl_ids=shot_ids, icl_prefix_tokens=count_tokens(tokenizer, prefix))
            made.append(TaskVariant(v.base_task, name, yaml_path, data_path, stats))
        return made

    return cached_variants(key, build)


def retrieval_metrics(variants: Sequence[TaskVariant], top_k: int) -> dict[str, dict[str, float]]:
    """recall/MRR/nDCG@k and answer-in-context per RAG task variant, from its materialised rows."""
    from harness.retrieval.metrics import context_metrics

    return {v.name: context_metrics(read_jsonl(v.data_path), max(1, top_k)) for v in variants}
