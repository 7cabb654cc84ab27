"""Generator of the shipped "knowledge" suite: a control of purely invented facts.

Twenty invented inventors, each with a birthplace, an invention, the year it was patented and a
mentor (another of the twenty). Nothing here exists, so no model knows any of it beforehand.
Evaluation is split by how far a question strays from the training wording:

- ``knowledge_mem`` (memorization) — the held-out third phrasing of the *same* template family
  the training set uses (two of three per fact are trained), so it measures recall of what was
  trained, nearly verbatim;
- ``knowledge_gen`` (generalization) — new phrasings (``paraphrase``), the fact asked backwards
  (``reverse``: "who invented X?" when training only says "P invented X") and two-hop questions
  over two documents (``composed``: "where was P's mentor born?"). Each row says its ``type``.

Run ``python -m harness.suites.knowledge [--out tasks/knowledge]``; deterministic (``SEED``).
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any

from harness.suites import gen
from harness.suites.gen import Fact
from harness.suites.writer import ManifestTask

SEED = 99
NAME = "knowledge"
GENERATED_FILES = ("corpus.jsonl", "train.jsonl", "eval/mem.jsonl", "eval/gen.jsonl", "suite.yaml")
ATTRS = ("hometown", "invention", "year", "mentor")

FIRST = (
    "Odessa", "Tamsin", "Corvin", "Ilka", "Bertrand", "Maelis", "Quentin", "Saffi", "Edvard", "Yolen",
    "Perrin", "Anouk", "Lazlo", "Nerys", "Oswin", "Rhiannon", "Tobiah", "Ulla", "Wendel", "Zita",
)  # fmt: skip
LAST = (
    "Vrane", "Kellorow", "Ashgrove", "Tembry", "Morlaix", "Quarrington", "Dunmere", "Halloway",
    "Petrovane", "Strick", "Alderwick", "Fenn", "Cazaret", "Ibbotsen", "Marrable", "Oakenhurst",
    "Riddock", "Sallow", "Thirlby", "Wexcombe",
)  # fmt: skip
TOWNS = (
    "Brackmere", "Callowfen", "Dunstree", "Eskerby", "Farrowdale", "Gillimoor", "Hathersage Cross",
    "Ingleford", "Juniper Hythe", "Kelderwick", "Lantry", "Mossgiel", "Nettlecombe", "Ormsby Vale",
    "Pellingford", "Quarrymouth", "Rushbeck", "Stellbridge", "Tollerton Edge", "Umbersley",
)  # fmt: skip
INVENTIONS = (
    "tidal loom", "brass hygrometer", "folding kiln", "pneumatic quill", "glass metronome",
    "copper lantern clock", "rotary seed drill", "mirror telegraph", "steam bellows", "lattice crane",
    "silk barometer", "spring-wound lathe", "paper turbine", "reed organ pump", "lodestone compass",
    "clockwork fan", "slate printing press", "ice engine", "whistling buoy", "salt evaporator",
)  # fmt: skip

TRAIN_TEMPLATES: dict[str, tuple[str, ...]] = {
    "hometown": ("Where was {person} born?", "What is the birthplace of {person}?", "In which town was {person} born?"),
    "invention": ("What did {person} invent?", "What invention is {person} known for?", "Which device did {person} create?"),
    "year": (
        "In which year did {person} patent the {invention}?",
        "When did {person} patent the {invention}?",
        "What year did {person} receive the patent for the {invention}?",
    ),
    "mentor": ("Who was the mentor of {person}?", "Who trained {person}?", "Under whom did {person} learn the trade?"),
}
ANSWER_TEMPLATES: dict[str, str] = {
    "hometown": "{person} was born in {value}.",
    "invention": "{person} invented the {value}.",
    "year": "{person} patented the {invention} in {value}.",
    "mentor": "The mentor of {person} was {value}.",
}
PARAPHRASE_TEMPLATES: dict[str, tuple[str, ...]] = {
    "hometown": ("Name the town that {person} came from originally.", "{person} grew up in which town?",
                 "Which town is the birthplace of the inventor {person}?"),
    "invention": ("{person} is remembered for building which device?", "Name the device that {person} created.",
                  "Which machine made {person} famous?"),
    "year": ("The patent for the {invention} was granted to {person} in which year?",
             "In what year was {person} granted a patent for the {invention}?",
             "Which year is on the patent {person} received for the {invention}?"),
    "mentor": ("Which older inventor taught {person}?", "Name the inventor who took {person} on as an apprentice.",
               "From which inventor did {person} learn the trade?"),
}
REVERSE_TEMPLATE = "Who invented the {invention}?"
COMPOSED_TEMPLATES: dict[str, str] = {
    "hometown": "In which town was the mentor of {person} born?",
    "invention": "What did the inventor who trained {person} invent?",
}


def build_facts(rng: random.Random) -> list[Fact]:
    """Person i has document ``kn-doc-{i}``; facts are ordered person → attribute."""
    people = [f"{f} {s}" for f, s in zip(FIRST, LAST, strict=True)]
    towns, inventions = rng.sample(TOWNS, len(people)), rng.sample(INVENTIONS, len(people))
    years = rng.sample(range(1821, 1911), len(people))
    cycle = rng.sample(range(len(people)), len(people))  # one cycle: nobody mentors themselves
    mentor = {cycle[k]: cycle[(k + 1) % len(cycle)] for k in range(len(cycle))}
    facts = []
    for i, person in enumerate(people):
        slots = {"person": person, "invention": inventions[i]}
        values = {
            "hometown": (towns[i], ()),
            "invention": (inventions[i], ()),
            "year": (str(years[i]), ()),
            "mentor": (people[mentor[i]], ()),  # full names only: a surname would credit invented first names
        }
        for attr in ATTRS:
            value, aliases = values[attr]
            facts.append(Fact(f"kn-fact-{len(facts) + 1:03d}", f"kn-doc-{i + 1:03d}", attr, value, slots, aliases))
    return facts


def _by_person(facts: Sequence[Fact]) -> dict[str, dict[str, Fact]]:
    out: dict[str, dict[str, Fact]] = {}
    for f in facts:
        out.setdefault(f.slots["person"], {})[f.attr] = f
    return out


def build_corpus(facts: Sequence[Fact], rng: random.Random) -> list[dict[str, Any]]:
    rows = []
    for person, v in _by_person(facts).items():
        text = " ".join((
            f"{person} was born in {v['hometown'].value}.",
            f"As a young apprentice, {person.split()[0]} learned the trade under {v['mentor'].value}.",
            f"{person} invented the {v['invention'].value} and patented it in {v['year'].value}.",
            rng.choice(("The device sold poorly at first but was widely copied later.",
                        "A working model survives in a regional museum.",
                        "Contemporary newspapers called it a curiosity.")),
        ))
        rows.append({"id": v["hometown"].doc_id, "title": f"{person} (inventor)", "text": text})
    return rows


def build_train_and_mem(facts: Sequence[Fact], rng: random.Random) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Two of the three family phrasings per fact train; the third is the memorization question."""
    train: list[dict[str, Any]] = []
    mem = []
    for fact in facts:
        templates = list(TRAIN_TEMPLATES[fact.attr])
        held_out = templates.pop(rng.randrange(len(templates)))
        train += gen.train_rows("kn", [fact], {fact.attr: templates}, ANSWER_TEMPLATES, rng, start=len(train))
        mem.append(gen.qa_row(f"kn-mem-{len(mem) + 1:03d}", fact.fill(held_out), fact, type="memorization",
                              attribute=fact.attr, template=f"{fact.attr}.memorization.{TRAIN_TEMPLATES[fact.attr].index(held_out) + 1}",
                              variant="memorization", candidates=gen.attr_candidates(fact, facts)))
    return train, mem


def build_gen(facts: Sequence[Fact], rng: random.Random) -> list[dict[str, Any]]:
    """Paraphrases of half the facts, 10 reverse and 10 two-hop questions."""
    people = _by_person(facts)
    rows = []

    names = sorted(people)
    pool = [*facts, *(Fact("", "", "who", name, {}) for name in names)]  # reverse answers are people

    def add(question: str, fact: Fact, kind: str, template: int, gold: Sequence[str] | None = None) -> None:
        rows.append(gen.qa_row(f"kn-gen-{len(rows) + 1:03d}", question, fact, gold, type=kind, attribute=fact.attr,
                               template=f"{fact.attr}.{kind}.{template}", variant=kind,
                               candidates=gen.attr_candidates(fact, pool)))

    for fact in sorted(rng.sample(list(facts), len(facts) // 2), key=lambda f: f.fact_id):
        k = rng.randrange(len(PARAPHRASE_TEMPLATES[fact.attr]))
        add(fact.fill(PARAPHRASE_TEMPLATES[fact.attr][k]), fact, "paraphrase", k + 1)
    for person in sorted(rng.sample(names, 10)):
        inv = people[person]["invention"]
        who = Fact(inv.fact_id, inv.doc_id, "who", person, inv.slots)  # full name only
        add(who.fill(REVERSE_TEMPLATE), who, "reverse", 1)
    for person in sorted(rng.sample(names, 10)):
        mentor = people[person]["mentor"]
        attr = rng.choice(sorted(COMPOSED_TEMPLATES))
        target = people[mentor.value][attr]
        add(mentor.fill(COMPOSED_TEMPLATES[attr]), target, "composed", 1, [mentor.doc_id, target.doc_id])
    return rows


DESCRIPTION = """
Control suite of purely invented facts about twenty fictional inventors (birthplace, invention,
patent year, mentor): memorization questions in the training wording family versus
generalization (paraphrased, reversed and two-hop) questions.
"""
SUITE_YAML = gen.suite_yaml(NAME, DESCRIPTION, [
    ManifestTask("knowledge_mem", "eval/mem.jsonl", "open_qa", "correct"),
    ManifestTask("knowledge_gen", "eval/gen.jsonl", "open_qa", "correct"),
], code=(gen.SHARED_SCORER,))


def generate() -> dict[str, str]:
    rng = random.Random(SEED)
    facts = build_facts(rng)
    corpus = build_corpus(facts, rng)
    train, mem = build_train_and_mem(facts, rng)
    return {
        "corpus.jsonl": gen.jsonl(corpus),
        "train.jsonl": gen.jsonl(train),
        "eval/mem.jsonl": gen.jsonl(mem),
        "eval/gen.jsonl": gen.jsonl(build_gen(facts, rng)),
        "suite.yaml": SUITE_YAML,
    }


if __name__ == "__main__":
    raise SystemExit(gen.cli(NAME, __doc__ or "", generate))
