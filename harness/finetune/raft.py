"""RAFT training data (Zhang et al., 2024, arXiv 2403.10131): each training question comes with
retrieved context — its gold passage plus distractor passages — so the adapter learns to use
(and to ignore) what retrieval puts in front of it.

* distractors: the retriever's top passages for the training question that are not from its
  gold document (hard negatives, as the eval retriever would return them), topped up with
  seeded random passages of other documents when the retriever returns too few;
* ``p_gold``: that fraction of the examples (exactly ``round(p_gold * n)``, chosen by a seeded
  shuffle) carries the gold passage; the others get one more distractor instead, so the number
  of passages never tells the model whether the answer is there;
* passages in seeded random order, numbered and joined exactly as the RAG eval contexts are,
  and the prompt rendered with the eval task's own ``doc_to_text`` template (Context/Question).

The paper's chain-of-thought answers are not used: the suites' answers are short sentences.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from harness.errors import HarnessError


@dataclass(frozen=True)
class RaftExample:
    prompt: str
    completion: str
    passage_ids: tuple[str, ...]
    gold_included: bool
    n_distractors: int


def _render(template: Any, row: Mapping[str, Any], context: str) -> str:
    try:
        return template.render(**dict(row, context=context))
    except Exception as err:  # jinja raises many kinds; all mean the row does not fit the template
        raise HarnessError(f"RAFT: cannot render the eval prompt template for training row {row.get('id')!r} ({err})") from err


def build_examples(
    train: Sequence[Mapping[str, Any]],
    corpus: Sequence[Mapping[str, Any]],
    hits: Sequence[Sequence[Any]],
    prompt_template: str,
    completion_format: str,
    *,
    distractors: int,
    p_gold: float,
    seed: int,
) -> list[RaftExample]:
    """One RAFT example per training row; ``hits[i]`` are the retriever's hits for row i."""
    import jinja2

    from harness.retrieval.passages import documents
    from harness.variants.rag import format_passage, resolve_hits

    if len(hits) != len(train):
        raise HarnessError(f"RAFT: {len(train)} training rows but {len(hits)} retrieval results")
    docs = {p.doc_id: p for p in documents(list(corpus))}
    template = jinja2.Environment(undefined=jinja2.StrictUndefined).from_string(prompt_template)
    with_doc = [i for i, row in enumerate(train) if row.get("doc_id") in docs]
    order = random.Random(f"raft-gold:{seed}").sample(with_doc, len(with_doc))
    gets_gold = set(order[: round(p_gold * len(with_doc))])
    out = []
    for i, row in enumerate(train):
        rng = random.Random(f"raft:{seed}:{row.get('id', i)}")
        gold_doc = row.get("doc_id")
        ranked = resolve_hits(list(hits[i]), docs)
        gold = next((p for p in ranked if p.doc_id == gold_doc), docs.get(gold_doc)) if i in gets_gold else None
        want = distractors if gold is not None else distractors + 1
        chosen, seen = [], set()
        for p in ranked:  # hard negatives first, in rank order
            if len(chosen) < want and p.doc_id != gold_doc and p.pid not in seen:
                chosen.append(p)
                seen.add(p.pid)
        others = [p for p in docs.values() if p.doc_id != gold_doc and p.pid not in seen
                  and p.doc_id not in {c.doc_id for c in chosen}]
        chosen += rng.sample(others, min(len(others), want - len(chosen)))
        passages = chosen + ([gold] if gold is not None else [])
        rng.shuffle(passages)
        context = "\n\n".join(format_passage(n + 1, p) for n, p in enumerate(passages))
        try:
            completion = completion_format.format_map(row)
        except KeyError as err:
            raise HarnessError(f"RAFT: train_format.completion uses field {err}, missing from row {row.get('id')!r}") from err
        out.append(RaftExample(_render(template, row, context), completion, tuple(p.pid for p in passages),
                               gold is not None, len(chosen)))
    return out


def summary(examples: Sequence[RaftExample]) -> dict[str, Any]:
    """What the adapter card and the log say about the data."""
    n = len(examples)
    return {
        "n": n,
        "with_gold": sum(e.gold_included for e in examples),
        "gold_rate": sum(e.gold_included for e in examples) / n if n else 0.0,
        "mean_distractors": sum(e.n_distractors for e in examples) / n if n else 0.0,
    }
