"""Retrieval quality from gold passage ids, and whether the answer reached the context.

Pure functions over ranked doc ids; relevance is binary (a doc is gold or not).
"""

from __future__ import annotations

import math
import re
import string
from collections.abc import Sequence

from harness.retrieval.config import Hit


def recall_at_k(ranked: Sequence[str], gold: Sequence[str], k: int) -> float:
    """Share of the gold docs found in the top k."""
    gold_set = set(gold)
    if not gold_set:
        raise ValueError("recall is undefined without gold ids")
    return len(gold_set & set(ranked[:k])) / len(gold_set)


def mrr_at_k(ranked: Sequence[str], gold: Sequence[str], k: int) -> float:
    """1 / rank of the first gold doc within the top k, else 0."""
    gold_set = set(gold)
    for rank, doc in enumerate(ranked[:k], start=1):
        if doc in gold_set:
            return 1.0 / rank
    return 0.0


def ndcg_at_k(ranked: Sequence[str], gold: Sequence[str], k: int) -> float:
    """Binary-relevance nDCG: DCG of the ranking over DCG of an ideal one (gold first)."""
    gold_set = set(gold)
    if not gold_set:
        raise ValueError("nDCG is undefined without gold ids")
    seen: set[str] = set()
    dcg = 0.0
    for rank, doc in enumerate(ranked[:k], start=1):
        if doc in gold_set and doc not in seen:  # a doc counts once even if chunks repeat it
            dcg += 1.0 / math.log2(rank + 1)
            seen.add(doc)
    ideal = sum(1.0 / math.log2(rank + 1) for rank in range(1, min(len(gold_set), k) + 1))
    return dcg / ideal


def aggregate(
    ranked: Sequence[Sequence[str]], gold: Sequence[Sequence[str]], ks: int | Sequence[int] = (1, 3, 5, 10)
) -> dict[str, float]:
    """Mean recall/MRR/nDCG@k over queries that have gold ids; ``n`` says how many counted.

    ``ranked[i]`` are query i's retrieved doc ids best first, ``gold[i]`` its gold doc ids.
    """
    if len(ranked) != len(gold):
        raise ValueError(f"{len(ranked)} rankings but {len(gold)} gold lists")
    k_list = [ks] if isinstance(ks, int) else list(ks)
    totals: dict[str, float] = {}
    counted = 0
    for docs, gold_ids in zip(ranked, gold, strict=True):
        gold_ids = [str(g) for g in gold_ids or []]
        if not gold_ids:
            continue
        counted += 1
        for k in k_list:
            for name, fn in (("recall", recall_at_k), ("mrr", mrr_at_k), ("ndcg", ndcg_at_k)):
                totals[f"{name}@{k}"] = totals.get(f"{name}@{k}", 0.0) + fn(list(docs), gold_ids, k)
    out = {name: value / counted for name, value in totals.items()} if counted else {}
    out["n"] = float(counted)
    return out


def doc_ranking(hits: Sequence[Hit]) -> list[str]:
    """Distinct document ids in rank order: chunk hits folded to the documents that gold ids
    name (a document counts at its best-ranked chunk)."""
    seen: dict[str, None] = {}
    for hit in sorted(hits, key=lambda h: h.rank):
        seen.setdefault(hit.doc_id, None)
    return list(seen)


def task_metrics(
    rows: Sequence[dict], hits: Sequence[Sequence[Hit]], ks: int | Sequence[int] = (1, 3, 5, 10)
) -> dict[str, float]:
    """``aggregate`` for eval rows (their ``gold_ids``) and ``retrieve`` output, over documents
    (``doc_ranking``): with chunking, @k counts the first k distinct documents retrieved."""
    if len(rows) != len(hits):
        raise ValueError(f"{len(rows)} rows but {len(hits)} hit lists")
    ranked = [doc_ranking(row_hits) for row_hits in hits]
    return aggregate(ranked, [row.get("gold_ids") or [] for row in rows], ks)


_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCT = str.maketrans({c: " " for c in string.punctuation})


def normalize_answer(text: str) -> str:
    """Lowercase, punctuation and articles removed, whitespace collapsed (SQuAD-style)."""
    text = str(text).lower().translate(_PUNCT)
    return " ".join(_ARTICLES.sub(" ", text).split())


def answer_in_context(answer: str, context: str, aliases: Sequence[str] = ()) -> bool:
    """Whether the answer (or an alias) occurs in the context as whole normalised words:
    the upper bound on what a reader model can copy from retrieval."""
    haystack = f" {normalize_answer(context)} "
    for candidate in (answer, *aliases):
        needle = normalize_answer(candidate)
        if needle and f" {needle} " in haystack:
            return True
    return False


def context_metrics(rows: Sequence[dict], k: int | Sequence[int]) -> dict[str, float]:
    """Retrieval quality of materialised RAG rows, for the leaderboard's retrieval table.

    Next to recall/MRR/nDCG@k it reports how often the gold answer string reached the prompt
    (``answer_in_context``), so a RAG loss can be pinned on the retriever or on the generator.
    """
    ranked = [list(r.get("retrieved_doc_ids") or r.get("retrieved_ids") or []) for r in rows]
    out = aggregate(ranked, [r.get("gold_ids") or [] for r in rows], k)
    found = []
    for row in rows:
        if "choices" in row and "label" in row:
            answer, aliases = str(row["choices"][int(row["label"])]), ()
        elif "answer" in row:
            answer, aliases = str(row["answer"]), tuple(row.get("aliases") or ())
        else:
            continue
        found.append(answer_in_context(answer, str(row.get("context", "")), aliases))
    if found:
        out["answer_in_context"] = sum(found) / len(found)
    tokens = [float(r["context_tokens"]) for r in rows if "context_tokens" in r]
    if tokens:
        out["mean_context_tokens"] = sum(tokens) / len(tokens)
    return out


def context_metrics_by(rows: Sequence[dict], k: int | Sequence[int],
                       field: str = "variant") -> dict[str, dict[str, float]]:
    """``context_metrics`` per value of a row field (rows without it left out), in value order.

    A suite that asks for one fact directly and indirectly (``variant``) needs recall per
    phrasing: an overall recall@k averages a retriever that always finds the document named
    in the question with one that never finds it from a paraphrase."""
    groups: dict[str, list[dict]] = {}
    for row in rows:
        if row.get(field) is not None:
            groups.setdefault(str(row[field]), []).append(row)
    return {value: context_metrics(group, k) for value, group in sorted(groups.items())}
