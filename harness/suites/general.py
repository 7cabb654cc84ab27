"""Generator of the shipped "general" suite: a small forgetting check, not about any domain.

Everyday knowledge and skills a small instruction model mostly has before any fine-tuning —
capital cities, opposites, irregular plurals, chemical symbols, everyday counts and one-step
arithmetic — asked as open questions (``general_qa``, ``contains``) and four-way multiple choice
(``general_mc``, ``acc``). Evaluating a model fine-tuned on a domain suite here shows what the
fine-tuning cost in general ability. Six short reference notes make the corpus (so RAG can
run) and a few facts that are *not* asked in evaluation make the training set (so the suite
loads and fine-tunes like the others, teaching answer format but no eval answer).

Run ``python -m harness.suites.general [--out tasks/general]``; deterministic (``SEED``).
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any

from harness.suites import gen
from harness.suites.gen import Fact
from harness.suites.writer import ManifestTask

SEED = 5
NAME = "general"
GENERATED_FILES = ("corpus.jsonl", "train.jsonl", "eval/qa.jsonl", "eval/mc.jsonl", "suite.yaml")
CATEGORIES = ("capital", "opposite", "plural", "symbol", "count", "arithmetic")
TRAIN_PER_CATEGORY = {"capital": 4, "opposite": 3, "plural": 3, "symbol": 2, "count": 2, "arithmetic": 2}

CAPITALS = (
    ("France", "Paris"), ("Japan", "Tokyo"), ("Italy", "Rome"), ("Egypt", "Cairo"),
    ("Canada", "Ottawa"), ("Kenya", "Nairobi"), ("Spain", "Madrid"), ("Germany", "Berlin"),
    ("Russia", "Moscow"), ("China", "Beijing"), ("Greece", "Athens"), ("Peru", "Lima"),
    ("Norway", "Oslo"), ("Ireland", "Dublin"), ("Portugal", "Lisbon"), ("Austria", "Vienna"),
)  # fmt: skip
OPPOSITES = (
    ("hot", "cold"), ("tall", "short"), ("early", "late"), ("full", "empty"), ("heavy", "light"),
    ("open", "closed"), ("fast", "slow"), ("wet", "dry"), ("rich", "poor"), ("loud", "quiet"),
)  # fmt: skip
PLURALS = (
    ("mouse", "mice"), ("child", "children"), ("tooth", "teeth"), ("foot", "feet"), ("goose", "geese"),
    ("woman", "women"), ("leaf", "leaves"), ("knife", "knives"), ("ox", "oxen"), ("person", "people"),
)  # fmt: skip
SYMBOLS = (
    ("gold", "Au"), ("iron", "Fe"), ("sodium", "Na"), ("silver", "Ag"), ("lead", "Pb"),
    ("potassium", "K"), ("copper", "Cu"), ("tin", "Sn"), ("mercury", "Hg"), ("helium", "He"),
)  # fmt: skip
# (statement, two training questions, open question, multiple-choice question, value)
COUNTS: tuple[tuple[str, str, str, str, str, int], ...] = (
    ("A spider has {value} legs.", "How many legs does a spider have?", "Count the legs of a spider.",
     "Tell me the number of legs on a spider.", "A spider walks on how many legs?", 8),
    ("An insect has {value} legs.", "How many legs does an insect have?", "Count the legs of an insect.",
     "Tell me the number of legs an insect has.", "An insect walks on how many legs?", 6),
    ("A week has {value} days.", "How many days are in a week?", "Count the days of a week.",
     "Tell me the number of days that make up one week.", "One week is made of how many days?", 7),
    ("A year has {value} months.", "How many months are in a year?", "Count the months of a year.",
     "Tell me the number of months in one year.", "One year is made of how many months?", 12),
    ("A day has {value} hours.", "How many hours are in a day?", "Count the hours of a day.",
     "Tell me the number of hours in one full day.", "One full day is made of how many hours?", 24),
    ("An hour has {value} minutes.", "How many minutes are in an hour?", "Count the minutes of an hour.",
     "Tell me the number of minutes in one hour.", "One hour is made of how many minutes?", 60),
    ("A triangle has {value} sides.", "How many sides does a triangle have?", "Count the sides of a triangle.",
     "Tell me the number of sides of a triangle.", "A triangle is bounded by how many sides?", 3),
    ("A dozen is {value} things.", "How many things are in a dozen?", "Count the items in a dozen.",
     "Tell me the number of eggs in a dozen eggs.", "A dozen means how many items?", 12),
)  # fmt: skip

TEMPLATES: dict[str, dict[str, tuple[str, ...]]] = {
    # category -> {"train": (two phrasings), "qa": (open phrasing,), "mc": (choice phrasing,), "say": (statement,)}
    "capital": {
        "train": ("What is the capital of {subject}?", "Which city is the capital of {subject}?"),
        "qa": ("Name the capital city of {subject}.",),
        "mc": ("The seat of government of {subject} is which city?",),
        "say": ("The capital of {subject} is {value}.",),
    },
    "opposite": {
        "train": ("What is the opposite of \"{subject}\"?", "Which word is the opposite of \"{subject}\"?"),
        "qa": ("Give a word that means the reverse of \"{subject}\".",),
        "mc": ("Which word is an antonym of \"{subject}\"?",),
        "say": ("The opposite of \"{subject}\" is \"{value}\".",),
    },
    "plural": {
        "train": ("What is the plural of \"{subject}\"?", "How is \"{subject}\" written in the plural?"),
        "qa": ("Write the word for more than one {subject}.",),
        "mc": ("Which is the correct plural form of \"{subject}\"?",),
        "say": ("The plural of \"{subject}\" is \"{value}\".",),
    },
    "symbol": {
        "train": ("What is the chemical symbol for {subject}?", "Which symbol does {subject} have?"),
        "qa": ("Which letters stand for {subject} in the periodic table?",),
        "mc": ("Which of these is the element symbol of {subject}?",),
        "say": ("The chemical symbol of {subject} is {value}.",),
    },
    "count": {"train": ("{train_a}", "{train_b}"), "qa": ("{qa}",), "mc": ("{mc}",), "say": ("{say}",)},
    "arithmetic": {
        "train": ("What is {a} {op} {b}?", "How much is {a} {op} {b}?"),
        "qa": ("Work it out: {a} {op} {b} equals what?",),
        "mc": ("Which number is the result of {a} {op} {b}?",),
        "say": ("{a} {op} {b} is {value}.",),
    },
}
TRAIN = {c: t["train"] for c, t in TEMPLATES.items()}
ANSWERS = {c: t["say"][0] for c, t in TEMPLATES.items()}


def build_facts(rng: random.Random) -> list[Fact]:
    """Every fact, category by category; the category's note is document ``gen-doc-{k}``."""
    facts: list[Fact] = []

    def add(category: str, value: str, aliases: tuple[str, ...] = (), **slots: str) -> None:
        doc = f"gen-doc-{CATEGORIES.index(category) + 1:03d}"
        facts.append(Fact(f"gen-fact-{len(facts) + 1:03d}", doc, category, value, slots, aliases))

    for table, category in ((CAPITALS, "capital"), (OPPOSITES, "opposite"), (PLURALS, "plural"), (SYMBOLS, "symbol")):
        for subject, value in table:
            add(category, value, subject=subject)
    for say, train_a, train_b, qa, mc, n in COUNTS:
        add("count", str(n), (gen.number_word(n),), say=say.replace("{value}", str(n)), train_a=train_a,
            train_b=train_b, qa=qa, mc=mc)
    seen: set[int] = {int(f.value) for f in facts if f.attr == "count"}
    while sum(f.attr == "arithmetic" for f in facts) < 10:
        a, b, op = rng.randrange(3, 20), rng.randrange(3, 13), rng.choice(("plus", "times"))
        value = a + b if op == "plus" else a * b
        if value not in seen:  # one answer per number, so a distractor is never also right
            seen.add(value)
            add("arithmetic", str(value), (gen.number_word(value),) if value < 100 else (), a=str(a), b=str(b), op=op)
    return facts


def split(facts: Sequence[Fact], rng: random.Random) -> tuple[list[Fact], list[Fact]]:
    """(train facts, eval facts): a few facts per category only train, the rest only evaluate."""
    train, held = [], []
    for category in CATEGORIES:
        members = [f for f in facts if f.attr == category]
        chosen = set(rng.sample(range(len(members)), TRAIN_PER_CATEGORY[category]))
        for i, fact in enumerate(members):
            (train if i in chosen else held).append(fact)
    return train, held


TITLES = {
    "capital": "Capital cities", "opposite": "Opposites", "plural": "Irregular plurals",
    "symbol": "Chemical symbols", "count": "Everyday counts", "arithmetic": "Worked sums and products",
}  # fmt: skip


def build_corpus(facts: Sequence[Fact]) -> list[dict[str, Any]]:
    rows = []
    for k, category in enumerate(CATEGORIES, start=1):
        lines = [f.fill(ANSWERS[category]) for f in facts if f.attr == category]
        rows.append({"id": f"gen-doc-{k:03d}", "title": f"Reference note: {TITLES[category].lower()}",
                     "text": " ".join(lines)})
    return rows


def build_eval(held: Sequence[Fact], facts: Sequence[Fact], rng: random.Random) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    qa = [gen.qa_row(f"gen-qa-{i:03d}", f.fill(TEMPLATES[f.attr]["qa"][0]), f, attribute=f.attr,
                     template=f"{f.attr}.direct.1", variant="direct", candidates=gen.attr_candidates(f, facts))
          for i, f in enumerate(held, start=1)]
    labels = gen.balanced_labels(len(held), 4, rng)
    mc = [
        gen.mc_row(f"gen-mc-{i:03d}", f.fill(TEMPLATES[f.attr]["mc"][0]), f, gen.same_attr_distractors(f, facts, rng), label)
        for i, (f, label) in enumerate(zip(held, labels, strict=True), start=1)
    ]
    return qa, mc


DESCRIPTION = """
Forgetting check: everyday general knowledge and skills (capitals, opposites, irregular plurals,
chemical symbols, everyday counts, one-step arithmetic) unrelated to any domain suite.
"""
SUITE_YAML = gen.suite_yaml(NAME, DESCRIPTION, [
    ManifestTask("general_qa", "eval/qa.jsonl", "open_qa", "correct"),
    ManifestTask("general_mc", "eval/mc.jsonl", "multiple_choice", "acc"),
], code=(gen.SHARED_SCORER,))


def generate() -> dict[str, str]:
    rng = random.Random(SEED)
    facts = build_facts(rng)
    trained, held = split(facts, rng)
    qa, mc = build_eval(held, facts, rng)
    return {
        "corpus.jsonl": gen.jsonl(build_corpus(facts)),
        "train.jsonl": gen.jsonl(gen.train_rows("gen", trained, TRAIN, ANSWERS, rng)),
        "eval/qa.jsonl": gen.jsonl(qa),
        "eval/mc.jsonl": gen.jsonl(mc),
        "suite.yaml": SUITE_YAML,
    }


if __name__ == "__main__":
    raise SystemExit(gen.cli(NAME, __doc__ or "", generate))
