"""Train/eval split by fact groups, so no eval fact is trained on in near-identical wording.

Pairs are joined into groups (union-find) and whole groups go to one side:

* the split ``unit``: ``fact`` — the source sentence that holds the answer; ``section``; or
  ``document``;
* always: pairs asked about the same sentence text, wherever it stands;
* always: pairs with matching answers (``same_answer``) whose source sentences have token
  Jaccard ≥ ``fact_similarity`` — the same fact restated elsewhere, in this or another
  document. Templated sentences about different facts ("Sow maize in mid-October, once …" /
  "Sow sorghum in mid-March, once …") have different answers and stay apart;
* always: pairs of one document with the same normalised answer (one fact, asked two ways).

Groups are ordered by a seeded hash of their first member's key and filled into eval until
``eval_fraction`` of the questions are there; the rest train. Each group becomes one
``fact_id``. The report counts eval questions that still have a near-identical training
question (token Jaccard ≥ ``near_duplicate``) — template look-alikes about different facts
("What do blueberries need?" / "What do cranberries need?") can remain and are shown.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from harness.errors import HarnessError
from harness.qagen.generators import QAPair
from harness.qagen.lexical import normalize_text, same_answer, similar_pairs, tokens
from harness.qagen.sections import Section

UNITS = ("fact", "section", "document")


@dataclass(frozen=True)
class Split:
    train: list[tuple[QAPair, str]]  # (pair, fact id)
    eval: list[tuple[QAPair, str]]
    report: dict[str, Any]


class _Groups:
    def __init__(self, n: int):
        self.parent = list(range(n))

    def find(self, i: int) -> int:
        while self.parent[i] != i:
            self.parent[i] = self.parent[self.parent[i]]
            i = self.parent[i]
        return i

    def join(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


def _unit_key(pair: QAPair, sections: dict[str, Section], unit: str) -> str:
    """What stays on one side of the split: the source sentence, the section or the document."""
    doc = sections[pair.section_id].doc_id
    return {"fact": f"{pair.section_id}\u0000{pair.sentence}", "section": pair.section_id, "document": doc}[unit]


def _fact_groups(pairs: list[QAPair], sections: dict[str, Section], unit: str, fact_similarity: float) -> _Groups:
    """Pairs joined when they share a unit or a document's answer, ask about one sentence, or about
    similar sentences (token Jaccard ≥ ``fact_similarity``) with the same answer."""
    groups = _Groups(len(pairs))
    first_of: dict[tuple[str, str], int] = {}
    for i, pair in enumerate(pairs):
        doc = sections[pair.section_id].doc_id
        for key in (("unit", _unit_key(pair, sections, unit)), ("answer", f"{doc}\u0000{normalize_text(pair.answer)}")):
            if key in first_of:
                groups.join(first_of[key], i)
            else:
                first_of[key] = i

    sentence_of = [sections[p.section_id].sentences[p.sentence] for p in pairs]
    distinct = sorted(set(sentence_of))
    where = {s: i for i, s in enumerate(distinct)}
    earlier = similar_pairs([frozenset(tokens(s)) for s in distinct], fact_similarity)
    users: dict[int, list[int]] = {}  # distinct sentence → the pairs asked about it
    for i, sentence in enumerate(sentence_of):
        users.setdefault(where[sentence], []).append(i)
    for k, members_k in users.items():
        for i in members_k[1:]:  # one sentence, wherever it stands, is one statement
            groups.join(members_k[0], i)
    for k in range(len(distinct)):
        for j in earlier(k):
            for a in users[k]:
                for b in users[j]:
                    if same_answer(pairs[a].answer, pairs[b].answer):
                        groups.join(a, b)
    return groups


def _eval_groups(members: dict[int, list[int]], order: Callable[[int], str], target: int) -> set[int]:
    """Group roots for eval, in ``order``, up to ``target`` pairs; always one, never all of them."""
    in_eval: set[int] = set()
    count = 0
    for root in sorted(members, key=order):
        if count + len(members[root]) <= target and len(in_eval) < len(members) - 1:
            in_eval.add(root)  # a group that would overshoot is skipped; a smaller one further on may fit
            count += len(members[root])
    if not in_eval:  # every group is larger than the target: the smallest one evaluates
        in_eval.add(min(members, key=lambda r: (len(members[r]), order(r))))
    return in_eval


def split_pairs(pairs: list[QAPair], sections: dict[str, Section], *, name: str, unit: str = "fact",
                eval_fraction: float = 0.3, fact_similarity: float = 0.5, near_duplicate: float = 0.8,
                seed: int = 1234) -> Split:
    if unit not in UNITS:
        raise HarnessError(f"split.unit is {unit!r}; expected one of {', '.join(UNITS)}")
    if not 0 < eval_fraction < 1:
        raise HarnessError(f"split.eval_fraction must be between 0 and 1 (exclusive), got {eval_fraction}")
    groups = _fact_groups(pairs, sections, unit, fact_similarity)
    members: dict[int, list[int]] = {}
    for i in range(len(pairs)):
        members.setdefault(groups.find(i), []).append(i)
    if len(members) < 2:
        raise HarnessError(f"all {len(pairs)} questions come from one fact group, so no split avoids leakage; "
                           f"add documents, or use split.unit=fact with more varied text")
    fact_id = {root: f"{name}-fact-{n:04d}" for n, root in enumerate(sorted(members), start=1)}

    def order(root: int) -> str:
        key = _unit_key(pairs[root], sections, unit)
        return hashlib.sha256(f"{seed}\u0000{key}\u0000{pairs[root].question}".encode()).hexdigest()

    in_eval = _eval_groups(members, order, max(1, round(eval_fraction * len(pairs))))
    train = [(p, fact_id[groups.find(i)]) for i, p in enumerate(pairs) if groups.find(i) not in in_eval]
    evals = [(p, fact_id[groups.find(i)]) for i, p in enumerate(pairs) if groups.find(i) in in_eval]
    report = {"unit": unit, "groups": len(members), "eval_groups": len(in_eval), "train": len(train),
              "eval": len(evals), "eval_fraction": round(len(evals) / len(pairs), 4),
              "eval_with_near_identical_train_question": _near_identical(train, evals, near_duplicate)}
    return Split(train, evals, report)


def _near_identical(train: list[tuple[QAPair, str]], evals: list[tuple[QAPair, str]], threshold: float) -> int:
    sets = [frozenset(tokens(p.question)) for p, _ in train] + [frozenset(tokens(p.question)) for p, _ in evals]
    earlier = similar_pairs(sets, threshold)
    return sum(1 for k in range(len(train), len(sets)) if any(j < len(train) for j in earlier(k)))
