"""The RAG variant of an lm-eval task: rows with ``context`` + a derived YAML.

lm-eval has no RAG, so contexts are fixed offline and injected as a document field; each
context is cut to a token budget here because backends truncate prompts from the left,
which would silently drop the passages first. (RAFT builds its training contexts with the
same ``format_passage`` / ``resolve_hits`` so training and eval contexts look alike.)
"""

from __future__ import annotations

import json
import os
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.errors import HarnessError
from harness.retrieval.config import Hit
from harness.retrieval.metrics import doc_ranking
from harness.retrieval.passages import Passage, documents
from harness.variants.portable import write_variant


@dataclass(frozen=True)
class MaterializedTask:
    name: str
    yaml_path: Path
    data_path: Path
    stats: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Context:
    text: str
    ids: list[str]
    tokens: int
    truncated: bool


def format_passage(number: int, passage: Passage) -> str:
    """``[n] title: text``; the number lets a reader cite a passage."""
    return f"[{number}] {passage.title}: {passage.text}" if passage.title else f"[{number}] {passage.text}"


def count_tokens(tokenizer: Any, text: str) -> int:
    return len(tokenizer(text, add_special_tokens=False)["input_ids"])


def _truncate(tokenizer: Any, text: str, budget: int) -> str:
    """Longest prefix of ``text`` ending at a token boundary whose token count fits the budget.

    Cuts the original string at token offsets (decoding would lowercase or re-space text
    for tokenizers like BERT's); falls back to decoding for slow tokenizers without offsets.
    """
    try:
        enc = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
        ends = [end for _, end in enc["offset_mapping"]]
    except (NotImplementedError, KeyError, TypeError, ValueError):
        ends = None
    ids = tokenizer(text, add_special_tokens=False)["input_ids"]
    keep = min(budget, len(ids))
    while keep > 0:
        if ends is not None:
            prefix = text[: ends[keep - 1]].rstrip()
        else:
            prefix = tokenizer.decode(ids[:keep], skip_special_tokens=True)
        if count_tokens(tokenizer, prefix) <= budget:
            return prefix
        keep -= 1  # re-tokenising a prefix can merge differently; shrink until it fits
    return ""


def build_context(ranked: list[Passage], tokenizer: Any, budget_tokens: int) -> Context:
    """Whole passages in rank order while the joined context fits ``budget_tokens``.

    Only when the first passage alone is too long is it cut (and reported as truncated);
    later passages that do not fit are left out whole, so no passage is ever cut silently.
    """
    parts: list[str] = []
    ids: list[str] = []
    tokens = 0
    for passage in ranked:
        candidate = "\n\n".join([*parts, format_passage(len(parts) + 1, passage)])
        n = count_tokens(tokenizer, candidate)
        if n > budget_tokens:
            if not parts:
                text = _truncate(tokenizer, candidate, budget_tokens)
                if not text:
                    return Context("", [], 0, truncated=True)
                return Context(text, [passage.pid], count_tokens(tokenizer, text), truncated=True)
            break
        parts.append(format_passage(len(parts) + 1, passage))
        ids.append(passage.pid)
        tokens = n
    return Context("\n\n".join(parts), ids, tokens, truncated=False)


def resolve_hits(hits: list[Hit], docs: dict[str, Passage]) -> list[Passage]:
    """The passages hits name, in rank order: whole documents, or chunks cut from their
    document by the character span the hit carries (so no chunking config is needed here)."""
    out: list[Passage] = []
    for hit in sorted(hits, key=lambda h: h.rank):
        doc = docs.get(hit.doc_id)
        if doc is None:
            raise HarnessError(f"retrieved document '{hit.doc_id}' is not in the corpus; the retrieval "
                               f"cache and corpus disagree")
        if hit.passage_id == hit.doc_id:
            out.append(doc)
            continue
        if hit.start is None or hit.end is None or not 0 <= hit.start <= hit.end <= len(doc.text):
            raise HarnessError(f"retrieved chunk '{hit.passage_id}' has span {hit.start}:{hit.end}, which does "
                               f"not fit document '{hit.doc_id}' ({len(doc.text)} chars); rerun retrieval")
        out.append(Passage(hit.passage_id, hit.doc_id, doc.title, doc.text[hit.start: hit.end], hit.start, hit.end))
    return out


def augment_rows(
    rows: list[dict], hits: list[list[Hit]], corpus: list[dict], tokenizer: Any, budget_tokens: int
) -> tuple[list[dict], dict[str, Any]]:
    """Rows with ``context``, ``retrieved_ids`` (passage ids, rank order), ``retrieved_doc_ids``
    (distinct documents), ``context_ids`` and ``context_tokens`` set."""
    if budget_tokens < 1 and any(hits):  # closed book (no hits) needs no budget
        raise HarnessError(f"context budget must be >= 1 token, got {budget_tokens}")
    if len(rows) != len(hits):
        raise HarnessError(f"{len(rows)} eval rows but {len(hits)} retrieval results; rerun retrieval")
    docs = {p.doc_id: p for p in documents(corpus)} if corpus else {}
    out: list[dict] = []
    used = truncated = token_sum = retrieved = 0
    for row, row_hits in zip(rows, hits, strict=True):
        ranked_hits = sorted(row_hits, key=lambda h: h.rank)
        context = build_context(resolve_hits(ranked_hits, docs), tokenizer, budget_tokens)
        out.append(dict(row, context=context.text, retrieved_ids=[h.passage_id for h in ranked_hits],
                        retrieved_doc_ids=doc_ranking(ranked_hits),
                        context_ids=context.ids, context_tokens=context.tokens,
                        context_truncated=context.truncated))
        retrieved += len(ranked_hits)
        used += len(context.ids)
        truncated += int(context.truncated)
        token_sum += context.tokens
    stats = {
        "rows": len(out),
        "passages_retrieved": retrieved,
        "passages_used": used,
        "passages_dropped": retrieved - used,
        "truncated": truncated,
        "mean_context_tokens": token_sum / len(out) if out else 0.0,
        "budget_tokens": budget_tokens,
    }
    return out, stats


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def materialize_rag_task(
    task_name: str,
    task_yaml: Path,
    rows: list[dict],
    hits: list[list[Hit]],
    corpus: list[dict],
    tokenizer: Any,
    budget_tokens: int,
    out_dir: Path,
    variant: str,
) -> MaterializedTask:
    """Write ``<task>__<variant>.jsonl`` and a YAML that includes the original task and only
    swaps its data file, so prompts, metrics and filters stay exactly the original's.

    ``out_dir`` becomes a self-contained task tree (``harness.variants.portable``): the YAML is
    ``<suite>/<task>__<variant>.yaml`` beside a copy of the suite's task files, every path in
    it relative, so the folder can be moved or published as a cache entry as it is.
    """
    task_yaml = Path(task_yaml).resolve()
    if not task_yaml.is_file():
        raise HarnessError(f"task YAML {task_yaml} does not exist")
    if not variant or any(c in variant for c in "/\\ "):
        raise HarnessError(f"variant '{variant}' must be a non-empty name without slashes or spaces")
    augmented, stats = augment_rows(rows, hits, corpus, tokenizer, budget_tokens)
    out_dir = Path(out_dir).resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    name = f"{task_name}__{variant}"
    data_path = out_dir / f"{name}.jsonl"
    _write_atomic(data_path, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in augmented))
    return MaterializedTask(name, write_variant(out_dir, name, task_yaml, data_path.name), data_path, stats)
