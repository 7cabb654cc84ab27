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


def split_pairs(pairs: list[QAPair], sections: dict[str, Section], *, name: str, unit: str = "fact",
                eval_fraction: float = 0.3, fact_similarity: float = 0.5, near_duplicate: float = 0.8,
                seed: int = 1234) -> Split:
    if unit not in UNITS:
        raise HarnessError(f"split.unit is {unit!r}; expected one of {', '.join(UNITS)}")
    if not 0 < eval_fraction < 1:
        raise HarnessError(f"split.eval_fraction must be between 0 and 1 (exclusive), got {eval_fraction}")
    groups = _Groups(len(pairs))

    def unit_key(p: QAPair) -> str:
        doc = sections[p.section_id].doc_id
        return {"fact": f"{p.section_id}\u0000{p.sentence}", "section": p.section_id, "document": doc}[unit]

    first_of: dict[tuple[str, str], int] = {}
    for i, pair in enumerate(pairs):
        doc = sections[pair.section_id].doc_id
        for key in (("unit", unit_key(pair)), ("answer", f"{doc}\u0000{normalize_text(pair.answer)}")):
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

    members: dict[int, list[int]] = {}
    for i in range(len(pairs)):
        members.setdefault(groups.find(i), []).append(i)
    if len(members) < 2:
        raise HarnessError(f"all {len(pairs)} questions come from one fact group, so no split avoids leakage; "
                           f"add documents, or use split.unit=fact with more varied text")
    fact_id = {root: f"{name}-fact-{n:04d}" for n, root in enumerate(sorted(members), start=1)}

    def order(root: int) -> str:
        return hashlib.sha256(f"{seed}\u0000{unit_key(pairs[root])}\u0000{pairs[root].question}".encode()).hexdigest()

    target = max(1, round(eval_fraction * len(pairs)))
    in_eval: set[int] = set()
    count = 0
    for root in sorted(members, key=order):
        if count + len(members[root]) <= target and len(in_eval) < len(members) - 1:
            in_eval.add(root)  # a group that would overshoot is skipped; a smaller one further on may fit
            count += len(members[root])
    if not in_eval:  # every group is larger than the target: the smallest one evaluates
        in_eval.add(min(members, key=lambda r: (len(members[r]), order(r))))

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
