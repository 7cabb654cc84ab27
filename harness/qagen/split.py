"""Train/eval split in one of two modes, named in the suite (``split.mode`` in suite.yaml):

* **paraphrase** (``split.unit=paraphrase``, the default; FineTuneBench's design) — every eval
  question asks a trained fact in new words: of a fact's phrasings (pairs with the same answer
  about one fact group) one is held out for eval and the others train. It measures whether
  fine-tuning put the fact into the weights, which a transfer split cannot: there every eval
  fact is one the adapter never saw.
* **transfer** (``split.unit=fact|section|document``) — eval facts were never trained: whole
  fact groups go to one side. It measures what fine-tuning does for unseen facts of the domain.

Pairs are joined into fact groups (union-find); in transfer mode whole groups go to one side:

* the split ``unit``: ``fact`` — the source sentence that holds the answer; ``section``; or
  ``document``;
* always: pairs asked about the same sentence text, wherever it stands;
* always: pairs with matching answers (``same_answer``) whose source sentences have token
  Jaccard ≥ ``fact_similarity`` — the same fact restated elsewhere, in this or another
  document. Templated sentences about different facts ("Sow maize in mid-October, once …" /
  "Sow sorghum in mid-March, once …") have different answers and stay apart;
* always: pairs of one document with the same normalised answer (one fact, asked two ways).

Groups are ordered by a seeded hash of their first member's key. Transfer mode fills them into
eval until ``eval_fraction`` of the questions are there; the rest train. Paraphrase mode (groups
by ``fact``) walks them in the same order and holds out one phrasing of each fact that has
another phrasing with the same answer, until ``eval_fraction`` of the facts are asked; a fact
with one phrasing only trains, and so does one whose every phrasing is near-identical (token
Jaccard ≥ ``near_duplicate``) to another of its phrasings. Each group becomes one ``fact_id``
(in paraphrase mode shared by the held-out question and its training phrasings). The report
counts eval questions that still have a near-identical training question of another fact —
template look-alikes ("What do blueberries need?" / "What do cranberries need?") can remain and
are shown — and, in paraphrase mode, of their own fact (0 by construction, counted anyway).
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from harness.errors import HarnessError
from harness.qagen.generators import QAPair
from harness.qagen.lexical import jaccard, normalize_text, same_answer, similar_pairs, tokens
from harness.qagen.sections import Section

PARAPHRASE, TRANSFER = "paraphrase", "transfer"
UNITS = (PARAPHRASE, "fact", "section", "document")  # fact, section, document: the transfer mode


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


def _held_out(pairs: list[QAPair], group: list[int], pick: Callable[[int], str], threshold: float,
              repeated: set[str]) -> tuple[int | None, str]:
    """The member of a fact group asked in eval in paraphrase mode, or None and why not.

    It must have a sibling with the same answer in other words (a training phrasing of the same
    fact: "single_phrasing" otherwise) and be below ``threshold`` token Jaccard to every other
    member ("near_identical" otherwise: a held-out string that its training phrasing repeats
    tests recall of the string). Its text must occur once in the whole set, or the loader's
    leakage check would refuse the suite. Among those left, the seeded ``pick`` order decides."""
    words = {i: frozenset(tokens(pairs[i].question)) for i in group}
    texts = {i: normalize_text(pairs[i].question) for i in group}
    phrased = [i for i in group if any(j != i and texts[j] != texts[i] and same_answer(pairs[i].answer, pairs[j].answer)
                                       for j in group)]
    if not phrased:
        return None, "single_phrasing"
    fresh = [i for i in phrased if texts[i] not in repeated
             and all(jaccard(words[i], words[j]) < threshold for j in group if j != i)]
    if not fresh:
        return None, "near_identical"
    return min(fresh, key=pick), ""


def _paraphrase(pairs: list[QAPair], members: dict[int, list[int]], order: Callable[[int], str], seed: int,
                eval_fraction: float, threshold: float) -> tuple[set[int], dict[str, int]]:
    """Pairs held out for eval, one per chosen fact: ``eval_fraction`` of the facts, taken in the
    seeded ``order`` among those that can hold one out; and how many facts could not, by reason."""
    counts = Counter(normalize_text(p.question) for p in pairs)
    repeated = {text for text, n in counts.items() if n > 1}

    def pick(i: int) -> str:
        return hashlib.sha256(f"{seed}\u0000held-out\u0000{pairs[i].question}".encode()).hexdigest()

    target = max(1, round(eval_fraction * len(members)))
    held: set[int] = set()
    why: Counter[str] = Counter()
    for root in sorted(members, key=order):
        chosen, reason = _held_out(pairs, members[root], pick, threshold, repeated)
        why[reason or "eligible"] += 1
        if chosen is not None and len(held) < target:
            held.add(chosen)
    if not held:
        raise HarnessError(f"no fact of the {len(members)} has two distinct phrasings with the same answer, so the "
                           f"paraphrase split has nothing to hold out ({why['single_phrasing']} with one phrasing, "
                           f"{why['near_identical']} only near-identical ones); ask for more wordings "
                           f"(generator.phrasings, up to 5) or use a stronger generator, or use split.unit=fact "
                           f"(transfer mode: eval facts never trained)")
    return held, {k: int(why[k]) for k in ("eligible", "single_phrasing", "near_identical")}


def split_pairs(pairs: list[QAPair], sections: dict[str, Section], *, name: str, unit: str = "paraphrase",
                eval_fraction: float = 0.3, fact_similarity: float = 0.5, near_duplicate: float = 0.8,
                seed: int = 1234) -> Split:
    """Train/eval split of ``pairs``: by fact group (transfer units) or by held-out phrasing (paraphrase)."""
    if unit not in UNITS:
        raise HarnessError(f"split.unit is {unit!r}; expected one of {', '.join(UNITS)} (paraphrase: a held-out "
                           f"wording of trained facts; fact, section, document: transfer, eval facts never trained)")
    if not 0 < eval_fraction < 1:
        raise HarnessError(f"split.eval_fraction must be between 0 and 1 (exclusive), got {eval_fraction}")
    key_unit = "fact" if unit == PARAPHRASE else unit
    groups = _fact_groups(pairs, sections, key_unit, fact_similarity)
    members: dict[int, list[int]] = {}
    for i in range(len(pairs)):
        members.setdefault(groups.find(i), []).append(i)
    if len(members) < 2 and unit != PARAPHRASE:
        raise HarnessError(f"all {len(pairs)} questions come from one fact group, so no split avoids leakage; "
                           f"add documents, or use split.unit=fact with more varied text")
    fact_id = {root: f"{name}-fact-{n:04d}" for n, root in enumerate(sorted(members), start=1)}

    def order(root: int) -> str:
        key = _unit_key(pairs[root], sections, key_unit)
        return hashlib.sha256(f"{seed}\u0000{key}\u0000{pairs[root].question}".encode()).hexdigest()

    if unit == PARAPHRASE:
        held, why = _paraphrase(pairs, members, order, seed, eval_fraction, near_duplicate)
        in_eval = {groups.find(i) for i in held}
    else:
        in_eval = _eval_groups(members, order, max(1, round(eval_fraction * len(pairs))))
        held = {i for i in range(len(pairs)) if groups.find(i) in in_eval}
    train = [(p, fact_id[groups.find(i)]) for i, p in enumerate(pairs) if i not in held]
    evals = [(p, fact_id[groups.find(i)]) for i, p in enumerate(pairs) if i in held]
    own, other = _near_identical(train, evals, near_duplicate)
    report = {"mode": mode_of(unit), "unit": unit, "groups": len(members), "eval_groups": len(in_eval),
              "train": len(train), "eval": len(evals), "eval_fraction": round(len(evals) / len(pairs), 4),
              "eval_fact_fraction": round(len(in_eval) / len(members), 4),
              "eval_with_near_identical_train_question": other}
    if unit == PARAPHRASE:
        report |= {"facts_with_phrasings": why["eligible"], "facts_single_phrasing": why["single_phrasing"],
                   "facts_near_identical_phrasings": why["near_identical"], "eval_near_identical_to_own_fact": own}
    return Split(train, evals, report)


def mode_of(unit: str) -> str:
    """The split mode a ``split.unit`` gives: paraphrase, or transfer (fact, section, document)."""
    return PARAPHRASE if unit == PARAPHRASE else TRANSFER


def describe(split: dict[str, Any]) -> str:
    """The split's mode and what it holds, in words (the summary and the suite card say it alike)."""
    if split["mode"] == "paraphrase":
        return (f"paraphrase (every eval question asks a trained fact in new words): {split['eval_groups']} of "
                f"{split['groups']} facts asked in eval, each in a held-out wording, their other wordings in train; "
                f"{split['facts_single_phrasing']} facts with one phrasing and "
                f"{split['facts_near_identical_phrasings']} with only near-identical ones train only; "
                f"{split['eval_near_identical_to_own_fact']} eval questions near-identical to a training "
                f"phrasing of their fact")
    return (f"transfer (eval facts were never trained): {split['eval_groups']} of {split['groups']} fact groups "
            f"(unit {split['unit']}) in eval, no fact on both sides")


def _near_identical(train: list[tuple[QAPair, str]], evals: list[tuple[QAPair, str]], threshold: float) -> tuple[int, int]:
    """Eval questions with a near-identical (token Jaccard ≥ ``threshold``) training question of
    their own fact, and of another fact (template look-alikes)."""
    sets = [frozenset(tokens(p.question)) for p, _ in train] + [frozenset(tokens(p.question)) for p, _ in evals]
    facts = [f for _, f in train] + [f for _, f in evals]
    earlier = similar_pairs(sets, threshold)
    own = other = 0
    for k in range(len(train), len(sets)):
        close = {facts[j] == facts[k] for j in earlier(k) if j < len(train)}
        own, other = own + (True in close), other + (False in close)
    return own, other
