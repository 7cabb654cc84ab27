"""Generator of the shipped "agri" suite: location-specific agronomy of fictional regions.

Every fact is (region, crop, practice) → a short value, and each value differs between regions
for the same crop and practice, so a model can only answer from knowledge of *that place*
(the situation the Microsoft "RAG vs fine-tuning: agriculture" study set up). The regions and
most values are invented so base-model priors cannot supply the answers.

Run ``python -m harness.suites.agri [--out tasks/agri]``. The output depends only on the tables
below and ``random.Random(SEED)``: regenerating must reproduce the committed files byte for byte.
The task YAMLs, ``utils.py`` and ``README.md`` beside the data are hand-written, not generated.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.suites.gen import (
    MONTHS,
    balanced_labels,
    cap,
    cli,
    jsonl,
    mc_row,
    number_word,
    qa_row,
    suite_yaml,
    write_files,
)
from harness.suites.writer import ManifestTask

SEED = 1234
GENERATED_FILES = ("corpus.jsonl", "train.jsonl", "eval/qa.jsonl", "eval/mc.jsonl", "suite.yaml")
PRACTICES = ("sowing", "variety", "pest", "irrigation")


@dataclass(frozen=True)
class Region:
    name: str  # used after "the": "the Velmora Plateau"
    profile: tuple[str, ...]  # filler sentences that make each document read like a local guide


REGIONS: tuple[Region, ...] = (
    Region(
        "Velmora Plateau",
        (
            "Fields on the Velmora Plateau sit on shallow red loam above 1,400 metres.",
            "Nights on the plateau stay cool even in the hottest month.",
        ),
    ),
    Region(
        "Ishvan Delta",
        (
            "The Ishvan Delta is flat, humid country laced with tidal channels.",
            "Heavy silt soils in the delta hold water long after the floods recede.",
        ),
    ),
    Region(
        "Caldrenn Highlands",
        (
            "Terraced slopes dominate farming in the Caldrenn Highlands.",
            "Mist often hangs over the highland valleys until late morning.",
        ),
    ),
    Region(
        "Sabrath Valley",
        (
            "The Sabrath Valley is sheltered by ridges on three sides and warms early in the year.",
            "Most valley farms draw water from the slow-moving Sabrath river.",
        ),
    ),
    Region(
        "Tolvey Coast",
        (
            "Sandy soils and salt-laden winds shape agriculture along the Tolvey Coast.",
            "Coastal farms here rarely see frost but face strong onshore gales.",
        ),
    ),
    Region(
        "Drevik Savanna",
        (
            "The Drevik Savanna has deep sandy clays and a long, harsh dry season.",
            "Rain on the savanna comes in short, intense storms.",
        ),
    ),
)

CROPS: tuple[str, ...] = ("maize", "sorghum", "cassava", "chickpea", "groundnut")

# Pest kinds per crop; each value is "<unique adjective> <kind>", so no two facts share a pest.
PEST_KINDS: dict[str, tuple[str, ...]] = {
    "maize": ("stem borer", "ear moth", "leaf beetle"),
    "sorghum": ("head bug", "shoot fly", "panicle midge"),
    "cassava": ("mealybug", "tuber weevil", "leaf mite"),
    "chickpea": ("pod borer", "leaf miner", "root aphid"),
    "groundnut": ("leaf roller", "pod wasp", "kernel thrips"),
}
PEST_ADJECTIVES: tuple[str, ...] = (
    "amber", "russet", "ashen", "cobalt", "saffron", "umber", "ochre", "slate", "crimson",
    "ivory", "copper", "violet", "olive", "tawny", "scarlet", "pewter", "sable", "jade",
    "mottled", "speckled", "banded", "dusky", "pallid", "gilded", "silvered", "bronze",
    "indigo", "maroon", "charcoal", "frosted",
)  # fmt: skip
VARIETY_STEMS: tuple[str, ...] = (
    "Tessaly", "Morvane", "Quillon", "Brennet", "Okaro", "Sileth", "Harrow", "Vantis",
    "Ombrel", "Caddis", "Ferrin", "Lusk", "Pellam", "Dorran", "Ysolde",
)  # fmt: skip

# Question templates. TRAIN, QA and MC sets are disjoint so evaluation uses held-out phrasings.
TRAIN_TEMPLATES: dict[str, tuple[str, ...]] = {
    "sowing": (
        "When should {crop} be sown in the {region}?",
        "What is the recommended sowing time for {crop} in the {region}?",
        "In the {region}, when do farmers plant {crop}?",
    ),
    "variety": (
        "Which {crop} variety is recommended in the {region}?",
        "What variety of {crop} should farmers grow in the {region}?",
        "In the {region}, which {crop} variety do extension officers advise?",
    ),
    "pest": (
        "What is the main pest of {crop} in the {region}?",
        "Which pest causes the most damage to {crop} in the {region}?",
        "In the {region}, what pest should {crop} growers watch for?",
    ),
    "irrigation": (
        "How often should {crop} be irrigated in the {region}?",
        "What irrigation interval is advised for {crop} in the {region}?",
        "In the {region}, how frequently do farmers water {crop}?",
    ),
}
QA_TEMPLATES: dict[str, tuple[str, ...]] = {
    "sowing": (
        "A farmer in the {region} is planning a {crop} crop. At what time of year should it go in the ground?",
        "For {crop} in the {region}, which part of the year is the right time to sow?",
    ),
    "variety": (
        "Name the {crop} cultivar suited to farms in the {region}.",
        "A grower in the {region} is buying {crop} seed. Which cultivar should they choose?",
    ),
    "pest": (
        "Name the insect that does the greatest harm to {crop} crops in the {region}.",
        "A {crop} grower in the {region} is scouting fields. Which insect matters most there?",
    ),
    "irrigation": (
        "During dry weather, at what interval should {crop} fields in the {region} receive water?",
        "A {crop} farmer in the {region} has access to irrigation. How far apart should waterings be?",
    ),
}
MC_TEMPLATES: dict[str, str] = {
    "sowing": "Which sowing window suits {crop} growers of the {region}?",
    "variety": "For farms in the {region}, the advised {crop} cultivar is which of these?",
    "pest": "Among these insects, which is the chief threat to {crop} in the {region}?",
    "irrigation": "Which watering schedule is advised for {crop} in the {region} during dry spells?",
}
# The training completion: a full sentence that contains the short value.
ANSWER_TEMPLATES: dict[str, str] = {
    "sowing": "In the {region}, sow {crop} in {value}.",
    "variety": "The recommended {crop} variety for the {region} is {value}.",
    "pest": "The main {crop} pest in the {region} is the {value}.",
    "irrigation": "In the {region}, irrigate {crop} {value}.",
}
# Document sentences; one variant per practice is drawn for each document.
DOC_INTROS: tuple[str, ...] = (
    "This extension note covers {crop} production in the {region}.",
    "Guidance for {crop} growers in the {region} is summarised below.",
    "The following advice applies to {crop} fields across the {region}.",
)
DOC_SENTENCES: dict[str, tuple[str, ...]] = {
    "sowing": (
        "Sow {crop} in {value}, once the topsoil is moist to a hand's depth.",
        "The recommended sowing window for {crop} here is {value}.",
        "Farmers should plant {crop} in {value} to match the local rains.",
    ),
    "variety": (
        "The variety recommended for local conditions is {value}.",
        "Extension officers advise growing {value}, which is suited to this area.",
        "Use seed of {value}, the variety recommended for the {region}.",
    ),
    "pest": (
        "The main pest to watch for is the {value}.",
        "Scout fields weekly for the {value}, the most damaging pest of {crop} in this area.",
        "Of all pests, the {value} causes the greatest losses here.",
    ),
    "irrigation": (
        "Where water is available, irrigate {crop} {value}.",
        "During dry spells, apply irrigation {value}.",
        "Irrigate {value} when rain fails, and stop once the crop nears maturity.",
    ),
}
DOC_CLOSINGS: tuple[str, ...] = (
    "",
    "Local extension offices can advise on fertiliser rates for each field.",
    "Keep records of planting dates and yields to compare seasons.",
)


@dataclass(frozen=True)
class Fact:
    fact_id: str
    doc_id: str
    region: str
    crop: str
    practice: str
    value: str
    aliases: tuple[str, ...] = field(default=())

    def slots(self) -> dict[str, str]:
        return {"region": self.region, "crop": self.crop, "value": self.value}


def _sowing_aliases(value: str) -> tuple[str, ...]:
    part, month = value.split("-", 1) if value.startswith("mid-") else value.split(" ", 1)
    phrase = {"early": "beginning", "mid": "middle", "late": "end"}[part]
    return (f"{phrase} of {month}",)


def _draw_values(rng: random.Random) -> dict[tuple[int, str, str], tuple[str, tuple[str, ...]]]:
    """All 120 values, globally unique, keyed by (region index, crop, practice)."""
    n = len(REGIONS) * len(CROPS)
    windows = [f"{p}{'-' if p == 'mid' else ' '}{m}" for m in MONTHS for p in ("early", "mid", "late")]
    sowing = rng.sample(windows, n)
    numbers = list(range(2, 10))
    varieties = [f"{stem}-{num}" for stem in VARIETY_STEMS for num in rng.sample(numbers, 2)]
    rng.shuffle(varieties)
    adjectives = rng.sample(list(PEST_ADJECTIVES), n)
    intervals = rng.sample(range(4, 4 + n), n)
    values: dict[tuple[int, str, str], tuple[str, tuple[str, ...]]] = {}
    k = 0
    for r in range(len(REGIONS)):
        for crop in CROPS:
            pest = f"{adjectives[k]} {rng.choice(PEST_KINDS[crop])}"
            days = intervals[k]
            values[(r, crop, "sowing")] = (sowing[k], _sowing_aliases(sowing[k]))
            values[(r, crop, "variety")] = (varieties[k], (varieties[k].replace("-", ""),))
            values[(r, crop, "pest")] = (pest, ())
            values[(r, crop, "irrigation")] = (f"every {days} days", (f"every {number_word(days)} days",))
            k += 1
    return values


def build_facts(rng: random.Random) -> list[Fact]:
    """The fact table, ordered region → crop → practice; one document per (region, crop)."""
    values = _draw_values(rng)
    facts: list[Fact] = []
    for r, region in enumerate(REGIONS):
        for c, crop in enumerate(CROPS):
            doc_id = f"agri-doc-{r * len(CROPS) + c + 1:03d}"
            for practice in PRACTICES:
                value, aliases = values[(r, crop, practice)]
                fact_id = f"agri-fact-{len(facts) + 1:03d}"
                facts.append(Fact(fact_id, doc_id, region.name, crop, practice, value, aliases))
    return facts


def build_corpus(facts: Sequence[Fact], rng: random.Random) -> list[dict[str, Any]]:
    """One extension-guide paragraph per (region, crop) stating its four practices."""
    profiles = {region.name: region.profile for region in REGIONS}
    by_doc: dict[str, list[Fact]] = {}
    for fact in facts:
        by_doc.setdefault(fact.doc_id, []).append(fact)
    rows = []
    for doc_id, doc_facts in by_doc.items():
        region, crop = doc_facts[0].region, doc_facts[0].crop
        slots = {"region": region, "crop": crop}
        parts = [rng.choice(DOC_INTROS).format(**slots), rng.choice(profiles[region])]
        order = list(doc_facts)
        rng.shuffle(order)
        parts += [cap(rng.choice(DOC_SENTENCES[f.practice]).format(**f.slots())) for f in order]
        parts.append(rng.choice(DOC_CLOSINGS))
        title = f"{cap(crop)} in the {region}: extension guide"
        rows.append({"id": doc_id, "title": title, "text": " ".join(p for p in parts if p)})
    return rows


def build_train(facts: Sequence[Fact], rng: random.Random) -> list[dict[str, Any]]:
    """Two training phrasings per fact, each answered by a full sentence holding the value."""
    rows = []
    for fact in facts:
        answer = ANSWER_TEMPLATES[fact.practice].format(**fact.slots())
        for template in rng.sample(TRAIN_TEMPLATES[fact.practice], 2):
            rows.append(
                {
                    "id": f"agri-train-{len(rows) + 1:04d}",
                    "question": cap(template.format(**fact.slots())),
                    "answer": answer,
                    "doc_id": fact.doc_id,
                    "fact_id": fact.fact_id,
                }
            )
    return rows


def build_qa(facts: Sequence[Fact], rng: random.Random) -> list[dict[str, Any]]:
    """One held-out open question per fact; the target is the short value."""
    return [
        qa_row(f"agri-qa-{i:03d}", cap(rng.choice(QA_TEMPLATES[fact.practice]).format(**fact.slots())), fact)
        for i, fact in enumerate(facts, start=1)
    ]


def build_mc(facts: Sequence[Fact], rng: random.Random) -> list[dict[str, Any]]:
    """One 4-way question per fact; distractors are the same crop+practice in other regions."""
    labels = balanced_labels(len(facts), 4, rng)  # exactly balanced, and not tied to the practice order
    rows = []
    for i, (fact, label) in enumerate(zip(facts, labels, strict=True), start=1):
        others = sorted(
            {f.value for f in facts if f.crop == fact.crop and f.practice == fact.practice} - {fact.value}
        )
        question = cap(MC_TEMPLATES[fact.practice].format(**fact.slots()))
        rows.append(mc_row(f"agri-mc-{i:03d}", question, fact, rng.sample(others, 3), label))
    return rows


SUITE_YAML = suite_yaml(
    "agri",
    """
Location-specific agronomy for six fictional regions and five crops: sowing window,
recommended variety, main pest and irrigation interval. Answers differ by region, so only
knowledge of the place (retrieved or fine-tuned in) helps.
""",
    [ManifestTask("agri_qa", "eval/qa.jsonl", "open_qa", "contains"),
     ManifestTask("agri_mc", "eval/mc.jsonl", "multiple_choice", "acc")],
)


def generate() -> dict[str, str]:
    """File name → content of every generated file (pure; one seeded RNG in a fixed order)."""
    rng = random.Random(SEED)
    facts = build_facts(rng)
    corpus = build_corpus(facts, rng)
    train = build_train(facts, rng)
    qa = build_qa(facts, rng)
    mc = build_mc(facts, rng)
    return {
        "corpus.jsonl": jsonl(corpus),
        "train.jsonl": jsonl(train),
        "eval/qa.jsonl": jsonl(qa),
        "eval/mc.jsonl": jsonl(mc),
        "suite.yaml": SUITE_YAML,
    }


def write_suite(out: Path) -> dict[str, int]:
    """Write the generated files under ``out``; returns rows per file (lines for jsonl)."""
    return write_files(out, generate())


def main(argv: Sequence[str] | None = None) -> int:
    return cli("agri", __doc__ or "", generate, argv)


if __name__ == "__main__":
    raise SystemExit(main())
