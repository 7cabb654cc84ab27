"""Generator of the shipped "agri" suite: location-specific agronomy of fictional regions.

Every fact is (region, crop, practice) → a short value, and each value differs between regions
for the same crop and practice, so a model can only answer from knowledge of *that place*
(the situation the Microsoft "RAG vs fine-tuning: agriculture" study set up). The regions and
most values are invented so base-model priors cannot supply the answers.

Retrieval is made to matter (``Difficulty``, on by default): near-duplicate guides for the same
crop in a neighbouring region of the same name stem ("Velmora Lowlands" beside "Velmora
Plateau"), questions that describe the place instead of naming it (``variant: indirect``), and
questions whose answer needs two documents (``two_doc``: the guide names the variety, the seed
catalogue states its maturity). ``--neighbours N`` is the corpus size knob (N neighbouring
regions per asked region). Everything the corpus states is also in the training set, so both
arms get the same knowledge.

Run ``python -m harness.suites.agri [--out tasks/agri] [--neighbours N] [--easy]``. The output
depends only on the tables (harness.suites.agri_tables), the options and
``random.Random(SEED)``: regenerating with the defaults must reproduce the committed files byte
for byte. The task YAMLs, ``utils.py`` and ``README.md`` beside the data are hand-written.
"""

from __future__ import annotations

import argparse
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.suites.agri_tables import (
    ANSWER_TEMPLATES,
    CATALOGUE_SENTENCES,
    CLIMATES,
    CROPS,
    DOC_CLOSINGS,
    DOC_INTROS,
    DOC_SENTENCES,
    INDIRECT_TEMPLATES,
    LANDFORMS,
    MC_TEMPLATES,
    PEST_ADJECTIVES,
    PEST_KINDS,
    PRACTICES,
    QA_TEMPLATES,
    REGIONS,
    SOILS,
    TRAIN_TEMPLATES,
    TWO_DOC_TEMPLATES,
    VARIETY_STEMS,
    Region,
)
from harness.suites.gen import (
    MONTHS,
    attr_candidates,
    balanced_labels,
    cap,
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
MATURITY_DAYS = range(50, 100)  # number_word spells these


def _draw(pool: Sequence[Any], n: int, rng: random.Random) -> list[Any]:
    """``n`` values from ``pool``, all distinct while the pool lasts (the asked regions come
    first, so theirs always differ; only a very large neighbour set repeats values)."""
    first = rng.sample(list(pool), min(n, len(pool)))
    return first + rng.choices(list(pool), k=n - len(first))


@dataclass(frozen=True)
class Difficulty:
    """What makes retrieval, not just the answer, hard (all on by default; ``EASY`` is the
    version-1 suite: one guide per asked place, every question naming it)."""

    neighbours: int = 1  # neighbouring regions per asked region: near-duplicate guides (0-10)
    neighbour_crops: int = 2  # crops each neighbouring region has a guide for (1-5)
    indirect_share: float = 1 / 3  # share of questions that describe the region instead of naming it
    two_doc: bool = True  # maturity questions that need the guide and the seed catalogue

    def __post_init__(self) -> None:
        if not 0 <= self.neighbours <= len(LANDFORMS):
            raise ValueError(f"neighbours must be 0..{len(LANDFORMS)}, got {self.neighbours}")
        if not 1 <= self.neighbour_crops <= len(CROPS):
            raise ValueError(f"neighbour_crops must be 1..{len(CROPS)}, got {self.neighbour_crops}")
        if not 0.0 <= self.indirect_share <= 1.0:
            raise ValueError(f"indirect_share must be in [0, 1], got {self.indirect_share}")


EASY = Difficulty(neighbours=0, indirect_share=0.0, two_doc=False)


@dataclass(frozen=True)
class Fact:
    fact_id: str
    doc_id: str
    region: str
    crop: str
    practice: str
    value: str
    aliases: tuple[str, ...] = field(default=())
    asked: bool = True  # a fact of an asked region (neighbouring regions' facts are distractors)
    variety: str = ""  # maturity facts: the variety they are about

    @property
    def attr(self) -> str:
        """The attribute a candidate list is drawn over (gen.attr_candidates)."""
        return self.practice

    def slots(self) -> dict[str, str]:
        return {"region": self.region, "crop": self.crop, "value": self.value, "variety": self.variety}


def _sowing_aliases(value: str) -> tuple[str, ...]:
    part, month = value.split("-", 1) if value.startswith("mid-") else value.split(" ", 1)
    phrase = {"early": "beginning", "mid": "middle", "late": "end"}[part]
    return (f"{phrase} of {month}",)


def neighbour_regions(difficulty: Difficulty, rng: random.Random) -> list[Region]:
    """``neighbours`` regions per asked one, named after it ("Velmora Lowlands") and described
    in words of their own (soil, weather)."""
    out = []
    for r, main in enumerate(REGIONS):
        stem = main.name.split()[0]
        for j in range(difficulty.neighbours):
            name = f"{stem} {LANDFORMS[(r + j) % len(LANDFORMS)]}"
            soil, climate = rng.choice(SOILS), rng.choice(CLIMATES)
            out.append(Region(name, (f"Farms in the {name} lie on {soil}.", climate)))
    return out


def _guides(difficulty: Difficulty, neighbours: Sequence[Region], rng: random.Random) -> list[tuple[Region, str, bool]]:
    """(region, crop, asked) for every guide: the asked regions' 30 first (document order 001-030),
    then each neighbouring region's ``neighbour_crops`` crops."""
    guides = [(region, crop, True) for region in REGIONS for crop in CROPS]
    for region in neighbours:
        guides += [(region, crop, False) for crop in sorted(rng.sample(CROPS, difficulty.neighbour_crops), key=CROPS.index)]
    return guides


def _draw_values(guides: Sequence[tuple[Region, str, bool]], rng: random.Random) -> list[dict[str, tuple[str, tuple[str, ...]]]]:
    """Per guide, practice → (value, aliases): distinct between the regions of one crop; every
    variety unique in the suite (the seed catalogue is keyed by it)."""
    windows = [f"{p}{'-' if p == 'mid' else ' '}{m}" for m in MONTHS for p in ("early", "mid", "late")]
    varieties = rng.sample([f"{stem}-{num}" for stem in VARIETY_STEMS for num in range(2, 20)], len(guides))
    per_crop: dict[str, dict[str, list[Any]]] = {}
    for crop in CROPS:
        n = sum(1 for _, c, _ in guides if c == crop)
        pests = [f"{adj} {kind}" for adj in PEST_ADJECTIVES for kind in PEST_KINDS[crop]]
        per_crop[crop] = {"sowing": _draw(windows, n, rng), "pest": _draw(pests, n, rng),
                          "irrigation": _draw(range(4, 40), n, rng), "maturity": _draw(MATURITY_DAYS, n, rng)}
    seen: dict[str, int] = {}
    values = []
    for k, (_, crop, _) in enumerate(guides):
        i = seen[crop] = seen.get(crop, -1) + 1
        sow, days = per_crop[crop]["sowing"][i], per_crop[crop]["irrigation"][i]
        values.append({"sowing": (sow, _sowing_aliases(sow)),
                       "variety": (varieties[k], (varieties[k].replace("-", ""),)),
                       "pest": (per_crop[crop]["pest"][i], ()),
                       "irrigation": (f"every {days} days", (f"every {number_word(days)} days",)),
                       "maturity": (f"{per_crop[crop]['maturity'][i]} days",
                                    (f"{number_word(per_crop[crop]['maturity'][i])} days",))})
    return values


@dataclass(frozen=True)
class World:
    """Everything the suite states: the guides' facts and, per variety, its maturity."""

    facts: list[Fact]  # practice facts, guide by guide
    maturity: list[Fact]  # one per variety (the seed catalogue)
    regions: list[Region]  # asked regions, then neighbouring ones


def build_world(rng: random.Random, difficulty: Difficulty = Difficulty()) -> World:
    neighbours = neighbour_regions(difficulty, rng)
    guides = _guides(difficulty, neighbours, rng)
    values = _draw_values(guides, rng)
    facts: list[Fact] = []
    for g, ((region, crop, asked), vals) in enumerate(zip(guides, values, strict=True)):
        for practice in PRACTICES:
            value, aliases = vals[practice]
            facts.append(Fact(f"agri-fact-{len(facts) + 1:03d}", f"agri-doc-{g + 1:03d}", region.name, crop,
                              practice, value, aliases, asked))
    maturity = []
    if difficulty.two_doc:
        for g, ((region, crop, asked), vals) in enumerate(zip(guides, values, strict=True)):
            maturity.append(Fact(f"agri-fact-{len(facts) + len(maturity) + 1:03d}", f"agri-doc-{len(guides) + g + 1:03d}",
                                 region.name, crop, "maturity", *vals["maturity"], asked, vals["variety"][0]))
    return World(facts, maturity, [*REGIONS, *neighbours])


def build_facts(rng: random.Random, difficulty: Difficulty = Difficulty()) -> list[Fact]:
    """The asked practice facts (4 per guide of the six asked regions), in document order."""
    return [f for f in build_world(rng, difficulty).facts if f.asked]


# ----------------------------------------------------------------------------- corpus and training


def build_corpus(world: World, rng: random.Random) -> list[dict[str, Any]]:
    """One extension guide per (region, crop) — what the land is like, then its four practices —
    and one seed-catalogue entry per variety."""
    profiles = {region.name: region.profile for region in world.regions}
    by_doc: dict[str, list[Fact]] = {}
    for fact in world.facts:
        by_doc.setdefault(fact.doc_id, []).append(fact)
    rows = []
    for doc_id, doc_facts in by_doc.items():
        region, crop = doc_facts[0].region, doc_facts[0].crop
        slots = {"region": region, "crop": crop}
        parts = [rng.choice(DOC_INTROS).format(**slots), *profiles[region]]
        order = list(doc_facts)
        rng.shuffle(order)
        parts += [cap(rng.choice(DOC_SENTENCES[f.practice]).format(**f.slots())) for f in order]
        parts.append(rng.choice(DOC_CLOSINGS))
        rows.append({"id": doc_id, "title": f"{cap(crop)} in the {region}: extension guide",
                     "text": " ".join(p for p in parts if p)})
    for fact in world.maturity:
        rows.append({"id": fact.doc_id, "title": f"Seed catalogue: {fact.variety}",
                     "text": rng.choice(CATALOGUE_SENTENCES).format(**fact.slots())})
    return rows


def _train_row(rows: list[dict[str, Any]], question: str, answer: str, doc_id: str, fact_id: str) -> None:
    rows.append({"id": f"agri-train-{len(rows) + 1:04d}", "question": cap(question), "answer": answer,
                 "doc_id": doc_id, "fact_id": fact_id})


def build_train(world: World, rng: random.Random) -> list[dict[str, Any]]:
    """Every fact the corpus states, as question → full-sentence answer: two phrasings per fact
    of an asked region, one per neighbouring-region fact, and what each region's land is like
    (so fine-tuning can link a described place to its name, as retrieval can)."""
    rows: list[dict[str, Any]] = []
    for fact in [*world.facts, *world.maturity]:
        answer = ANSWER_TEMPLATES[fact.practice].format(**fact.slots())
        for template in rng.sample(TRAIN_TEMPLATES[fact.practice], 2 if fact.asked else 1):
            _train_row(rows, template.format(**fact.slots()), answer, fact.doc_id, fact.fact_id)
    first_doc = {f.region: f.doc_id for f in reversed(world.facts)}
    for region in world.regions:  # both directions: the reversal curse would block "described → name"
        profile, fact_id = " ".join(region.profile), f"agri-profile-{region.name.lower().replace(' ', '-')}"
        _train_row(rows, rng.choice(TRAIN_TEMPLATES["profile"]).format(region=region.name), profile,
                   first_doc[region.name], fact_id)
        unnamed = profile.replace(f"The {region.name}", "This region").replace(f"the {region.name}", "this region")
        _train_row(rows, rng.choice(TRAIN_TEMPLATES["place"]).format(profile=unnamed), f"The {region.name}.",
                   first_doc[region.name], fact_id)
    return rows


# ----------------------------------------------------------------------------- evaluation


def _indirect(facts: Sequence[Fact], share: float, rng: random.Random) -> set[str]:
    """Fact ids asked with the region described: ``share`` of each practice's facts."""
    chosen: set[str] = set()
    for practice in PRACTICES:
        ids = [f.fact_id for f in facts if f.practice == practice]
        chosen |= set(rng.sample(ids, round(share * len(ids))))
    return chosen


def build_qa(world: World, difficulty: Difficulty, rng: random.Random) -> list[dict[str, Any]]:
    """One held-out open question per asked fact (the region named, or for ``indirect_share`` of
    them described), then one two-document maturity question per asked guide."""
    asked = [f for f in world.facts if f.asked]
    indirect = _indirect(asked, difficulty.indirect_share, rng)
    places = {region.name: region.descriptor for region in REGIONS}
    rows = []
    for fact in asked:
        variant = "indirect" if fact.fact_id in indirect else "direct"
        templates = (INDIRECT_TEMPLATES if variant == "indirect" else QA_TEMPLATES)[fact.practice]
        k = rng.randrange(len(templates))
        question = cap(templates[k].format(**fact.slots(), place=places[fact.region]))
        rows.append(qa_row(f"agri-qa-{len(rows) + 1:03d}", question, fact, attribute=fact.practice,
                           template=f"{fact.practice}.{variant}.{k + 1}", variant=variant,
                           candidates=attr_candidates(fact, world.facts)))
    guide_of = {(f.region, f.crop): f.doc_id for f in world.facts}
    for fact in (m for m in world.maturity if m.asked):
        k = rng.randrange(len(TWO_DOC_TEMPLATES))
        rows.append(qa_row(f"agri-qa-{len(rows) + 1:03d}", cap(TWO_DOC_TEMPLATES[k].format(**fact.slots())), fact,
                           [guide_of[(fact.region, fact.crop)], fact.doc_id], attribute="maturity",
                           template=f"maturity.two_doc.{k + 1}", variant="two_doc",
                           candidates=attr_candidates(fact, world.maturity)))
    return rows


def build_mc(world: World, rng: random.Random) -> list[dict[str, Any]]:
    """One 4-way question per asked fact; distractors are the same crop+practice in other asked
    regions."""
    facts = [f for f in world.facts if f.asked]
    labels = balanced_labels(len(facts), 4, rng)  # exactly balanced, and not tied to the practice order
    rows = []
    for i, (fact, label) in enumerate(zip(facts, labels, strict=True), start=1):
        others = sorted({f.value for f in facts if f.crop == fact.crop and f.practice == fact.practice} - {fact.value})
        question = cap(MC_TEMPLATES[fact.practice].format(**fact.slots()))
        rows.append(mc_row(f"agri-mc-{i:03d}", question, fact, rng.sample(others, 3), label,
                           attribute=fact.practice, template=f"{fact.practice}.direct.1", variant="direct"))
    return rows


SUITE_YAML = suite_yaml(
    "agri",
    """
Location-specific agronomy for six fictional regions and five crops: sowing window,
recommended variety, main pest, irrigation interval, and the variety's maturity from a seed
catalogue. Answers differ by region, and near-duplicate guides of neighbouring regions, places
described instead of named and two-document questions make retrieval part of the test.
""",
    [ManifestTask("agri_qa", "eval/qa.jsonl", "open_qa", "correct"),
     ManifestTask("agri_mc", "eval/mc.jsonl", "multiple_choice", "acc")],
    version="2",
    code=(),
)


def generate(difficulty: Difficulty = Difficulty()) -> dict[str, str]:
    """File name → content of every generated file (pure; one seeded RNG in a fixed order)."""
    rng = random.Random(SEED)
    world = build_world(rng, difficulty)
    corpus = build_corpus(world, rng)
    train = build_train(world, rng)
    qa = build_qa(world, difficulty, rng)
    mc = build_mc(world, rng)
    return {
        "corpus.jsonl": jsonl(corpus),
        "train.jsonl": jsonl(train),
        "eval/qa.jsonl": jsonl(qa),
        "eval/mc.jsonl": jsonl(mc),
        "suite.yaml": SUITE_YAML,
    }


def write_suite(out: Path, difficulty: Difficulty = Difficulty()) -> dict[str, int]:
    """Write the generated files under ``out``; returns rows per file (lines for jsonl)."""
    return write_files(out, generate(difficulty))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m harness.suites.agri", description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("tasks") / "agri", help="suite folder (default: tasks/agri)")
    parser.add_argument("--neighbours", type=int, default=Difficulty.neighbours,
                        help="neighbouring regions per asked region: the corpus size knob (0-10, default 1)")
    parser.add_argument("--neighbour-crops", type=int, default=Difficulty.neighbour_crops,
                        help="crops per neighbouring region (1-5, default 2)")
    parser.add_argument("--indirect-share", type=float, default=Difficulty.indirect_share,
                        help="share of questions that describe the region instead of naming it (default 1/3)")
    parser.add_argument("--no-two-doc", action="store_true", help="no two-document (seed catalogue) questions")
    parser.add_argument("--easy", action="store_true", help="version 1: no neighbours, every region named, no two-doc")
    args = parser.parse_args(argv)
    try:
        difficulty = EASY if args.easy else Difficulty(args.neighbours, args.neighbour_crops, args.indirect_share,
                                                       not args.no_two_doc)
    except ValueError as err:
        parser.error(str(err))
    for file, count in write_suite(args.out, difficulty).items():
        print(f"{args.out / file}: {count} {'rows' if file.endswith('.jsonl') else 'file'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
