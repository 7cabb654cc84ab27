"""Generator of the shipped "medical" suite: monographs and guidelines of fictional drugs and
conditions, including guidance that changed.

- ``medical_mc`` — MedQA-style four-way vignettes on the drug monographs (class, dose, adverse
  effect, contraindication) (``acc``).
- ``medical_update`` — what the *current* (2025) guideline recommends for a condition (first-line
  drug, review interval, course length). The corpus holds only the current guideline; the
  training set holds the superseded 2019 recommendation stated as plain fact (``"knowledge":
  "superseded"`` rows, the "old" knowledge a model picked up earlier) *and* the 2025 change
  (``"knowledge": "current"`` rows). Each question offers the current answer, the superseded
  one and two others: ``acc`` counts the current answer, ``stale`` the superseded one — so a
  run shows whether fine-tuning overrode the old fact and whether retrieval did (the setting of
  FineTuneBench's updated-knowledge split).

Run ``python -m harness.suites.medical [--out tasks/medical]``; deterministic (``SEED``).
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any

from harness.suites import gen
from harness.suites.gen import Fact
from harness.suites.writer import ManifestTask

SEED = 7
NAME = "medical"
GENERATED_FILES = ("corpus.jsonl", "train.jsonl", "eval/mc.jsonl", "eval/update.jsonl", "suite.yaml")
OLD_YEAR, NEW_YEAR = "2019", "2025"

# (drug, class, adult dose, serious adverse effect, contraindication); all invented.
DRUGS: tuple[tuple[str, str, str, str, str], ...] = (
    ("almerzine", "quorin receptor blocker", "40 mg twice daily", "ringing in the ears", "severe kidney impairment"),
    ("brivotane", "tavine reuptake inhibitor", "15 mg once daily", "a photosensitive rash", "pregnancy"),
    ("cendralol", "selective omega-7 agonist", "250 mg three times daily", "a low platelet count", "a history of seizures"),
    ("dexmarovir", "capsid assembly inhibitor", "600 mg once weekly", "loss of taste", "active liver disease"),
    ("ebrolimide", "halocyclic diuretic", "5 mg every morning", "low blood sodium", "gout"),
    ("fostacaine", "membrane-sealing anaesthetic", "2 mg per kg before procedures", "a slow heart rate", "heart block"),
    ("gravomycin", "tetrazine antibiotic", "500 mg every eight hours", "blue-tinged vision", "myasthenia gravis"),
    ("halvuprine", "purine-cycle modulator", "75 mg at bedtime", "hair thinning", "a recent organ transplant"),
    ("istrevane", "long-acting bronchial relaxant", "one 12 microgram inhalation twice daily", "muscle cramps", "uncontrolled heart failure"),
    ("jorvastin", "sterol-binding lipid lowerer", "20 mg with the evening meal", "tendon pain", "children under twelve"),
    ("kelmoprazine", "gastric proton-gate blocker", "30 mg before breakfast", "low magnesium", "concurrent use of nelfinavir"),
    ("lumidrone", "retinal growth inhibitor", "one eye injection every month", "floaters in the treated eye", "an eye infection"),
)  # fmt: skip
MONOGRAPH_ATTRS = ("class", "dose", "adverse", "contraindication")

CONDITIONS: tuple[str, ...] = (
    "Corwin-Adair syndrome", "Halden neuritis", "Ostrel fever", "Varnick disease",
    "Brennan-Lusk anaemia", "Tiberine lung", "Quellan dermatitis", "Sethra colitis",
    "Mordane arthritis", "Yelver palsy", "Drask myopathy", "Kolvin fever",
)  # fmt: skip
GUIDE_ATTRS = ("first_line", "review", "course")

TRAIN_TEMPLATES: dict[str, tuple[str, ...]] = {
    "class": (
        "What drug class does {drug} belong to?",
        "What kind of drug is {drug}?",
        "To which pharmacological class is {drug} assigned?",
    ),
    "dose": (
        "What is the usual adult dose of {drug}?",
        "How much {drug} should an adult take?",
        "What is the standard adult dosing of {drug}?",
    ),
    "adverse": (
        "What is the main serious adverse effect of {drug}?",
        "Which serious side effect is {drug} known for?",
        "What serious adverse reaction should patients on {drug} watch for?",
    ),
    "contraindication": (
        "When is {drug} contraindicated?",
        "In which patients must {drug} not be used?",
        "What is the main contraindication to {drug}?",
    ),
    # superseded knowledge, stated as plain fact (how a model would have learnt it in 2019)
    "first_line": (
        "What is the first-line treatment for {condition}?",
        "Which drug is used first for {condition}?",
        "What should patients with {condition} be given first?",
    ),
    "review": (
        "How often should patients treated for {condition} be reviewed?",
        "What is the review interval for patients with {condition}?",
        "How frequently are patients with {condition} seen while on treatment?",
    ),
    "course": (
        "How long does a course of treatment for {condition} last?",
        "What is the usual treatment duration for {condition}?",
        "For how long is {condition} treated?",
    ),
    # the 2025 change, stated with its date
    "first_line_update": (
        "What did the {new_year} guideline change about first-line treatment for {condition}?",
        "Since the {new_year} revision, which drug is first-line for {condition}?",
        "How was first-line therapy for {condition} updated in {new_year}?",
    ),
    "review_update": (
        "What did the {new_year} guideline change about reviewing patients with {condition}?",
        "Since the {new_year} revision, how often are patients with {condition} reviewed?",
        "How was the review interval for {condition} updated in {new_year}?",
    ),
    "course_update": (
        "What did the {new_year} guideline change about the treatment length for {condition}?",
        "Since the {new_year} revision, how long is {condition} treated?",
        "How was the course length for {condition} updated in {new_year}?",
    ),
}
ANSWER_TEMPLATES: dict[str, str] = {
    "class": "{Drug} is a {value}.",
    "dose": "The usual adult dose of {drug} is {value}.",
    "adverse": "The main serious adverse effect of {drug} is {value}.",
    "contraindication": "{Drug} is contraindicated in {value}.",
    "first_line": "First-line treatment for {condition} is {value}.",
    "review": "Patients with {condition} should be reviewed {value}.",
    "course": "Treatment for {condition} lasts {value}.",
    "first_line_update": "Since the {new_year} revision, first-line treatment for {condition} is {value}, replacing {old}.",
    "review_update": "Since the {new_year} revision, patients with {condition} are reviewed {value} instead of {old}.",
    "course_update": "Since the {new_year} revision, treatment for {condition} lasts {value} instead of {old}.",
}
MC_TEMPLATES: dict[str, str] = {
    "class": "A pharmacist is explaining {drug} to a student. Which of the following best describes the drug?",
    "dose": "A 45-year-old man is about to start {drug}. Which regimen matches the usual adult dosing?",
    "adverse": "A 60-year-old woman started {drug} three weeks ago. Which serious adverse effect is characteristic of this drug?",
    "contraindication": "A clinician is considering {drug} for a patient. Which of the following is a contraindication?",
}
UPDATE_TEMPLATES: dict[str, tuple[str, ...]] = {
    "first_line": (
        "A patient has just been diagnosed with {condition}. Under current guidance, which drug should be started first?",
        "According to the guideline in force today, what is the preferred initial drug for {condition}?",
    ),
    "review": (
        "Under current guidance, at what interval should a clinician see a patient being treated for {condition}?",
        "According to the guideline in force today, how often is a patient with {condition} followed up?",
    ),
    "course": (
        "Under current guidance, what is the total length of treatment for {condition}?",
        "According to the guideline in force today, for how long should {condition} be treated?",
    ),
}


def build_facts(rng: random.Random) -> tuple[list[Fact], list[Fact], dict[str, str]]:
    """(monograph facts, current-guideline facts, fact_id → superseded value).

    Drug i has document ``med-doc-{i}``; condition j has guideline ``med-doc-{12 + j}``.
    """
    monographs = []
    for d, (drug, *values) in enumerate(DRUGS):
        slots = {"drug": drug, "Drug": drug.capitalize()}
        for attr, value in zip(MONOGRAPH_ATTRS, values, strict=True):
            monographs.append(Fact(f"med-fact-{len(monographs) + 1:03d}", f"med-doc-{d + 1:03d}", attr, value, slots))
    drugs = [d[0] for d in DRUGS]
    current_drug = rng.sample(drugs, len(CONDITIONS))
    old_drug = [rng.choice([d for d in drugs if d != cur]) for cur in current_drug]
    reviews = rng.sample(range(2, 27), 2 * len(CONDITIONS))
    courses = rng.sample(range(2, 37), 2 * len(CONDITIONS))
    n = len(CONDITIONS)
    values = {
        "first_line": list(zip(current_drug, old_drug, strict=True)),
        "review": [(f"every {reviews[j]} weeks", f"every {reviews[n + j]} weeks") for j in range(n)],
        "course": [(f"{courses[j]} months", f"{courses[n + j]} months") for j in range(n)],
    }
    guides: list[Fact] = []
    old: dict[str, str] = {}
    for j, condition in enumerate(CONDITIONS):
        for attr in GUIDE_ATTRS:
            current, superseded = values[attr][j]
            fact_id = f"med-guide-{len(guides) + 1:03d}"
            slots = {"condition": condition, "old": superseded, "new_year": NEW_YEAR}
            guides.append(Fact(fact_id, f"med-doc-{len(DRUGS) + j + 1:03d}", attr, current, slots))
            old[fact_id] = superseded
    return monographs, guides, old


def build_corpus(monographs: Sequence[Fact], guides: Sequence[Fact], rng: random.Random) -> list[dict[str, Any]]:
    rows = []
    for d, (drug, *_rest) in enumerate(DRUGS):
        v = {f.attr: f.value for f in monographs if f.doc_id == f"med-doc-{d + 1:03d}"}
        parts = [
            f"{drug.capitalize()} is a {v['class']}.",
            f"The usual adult dose is {v['dose']}.",
            f"Its main serious adverse effect is {v['adverse']}; patients should report it at once.",
            f"{drug.capitalize()} is contraindicated in {v['contraindication']}.",
        ]
        tail = parts[1:]  # the class sentence stays first
        rng.shuffle(tail)
        parts[1:] = tail
        rows.append({"id": f"med-doc-{d + 1:03d}", "title": f"{drug.capitalize()}: prescribing monograph",
                     "text": " ".join(parts)})
    for j, condition in enumerate(CONDITIONS):
        doc_id = f"med-doc-{len(DRUGS) + j + 1:03d}"
        v = {f.attr: f.value for f in guides if f.doc_id == doc_id}
        text = (
            f"Clinical guideline for {condition}, {NEW_YEAR} revision. This revision supersedes all earlier "
            f"editions. First-line treatment is {v['first_line']}. Patients on treatment should be reviewed "
            f"{v['review']}, and the usual course lasts {v['course']}. "
            + rng.choice(("Refer patients who do not improve to a specialist clinic.",
                          "Record the diagnosis date so the course length can be tracked.",
                          "Explain the review schedule to patients at diagnosis."))
        )
        rows.append({"id": doc_id, "title": f"{condition}: clinical guideline ({NEW_YEAR})", "text": text})
    return rows


def build_train(monographs: Sequence[Fact], guides: Sequence[Fact], old: dict[str, str],
                rng: random.Random) -> list[dict[str, Any]]:
    rows = gen.train_rows("med", monographs, TRAIN_TEMPLATES, ANSWER_TEMPLATES, rng)
    stale = [Fact(f.fact_id, f.doc_id, f.attr, old[f.fact_id], f.slots) for f in guides]
    rows += gen.train_rows("med", stale, TRAIN_TEMPLATES, ANSWER_TEMPLATES, rng, start=len(rows),
                       knowledge="superseded")
    updates = [Fact(f.fact_id, f.doc_id, f"{f.attr}_update", f.value, f.slots) for f in guides]
    rows += gen.train_rows("med", updates, TRAIN_TEMPLATES, ANSWER_TEMPLATES, rng, start=len(rows),
                       knowledge="current")
    return rows


def build_mc(monographs: Sequence[Fact], rng: random.Random) -> list[dict[str, Any]]:
    labels = gen.balanced_labels(len(monographs), 4, rng)
    return [
        gen.mc_row(f"med-mc-{i:03d}", f.fill(MC_TEMPLATES[f.attr]), f, gen.same_attr_distractors(f, monographs, rng), label,
                   attribute=f.attr, template=f"{f.attr}.direct.1")
        for i, (f, label) in enumerate(zip(monographs, labels, strict=True), start=1)
    ]


def build_update(guides: Sequence[Fact], old: dict[str, str], rng: random.Random) -> list[dict[str, Any]]:
    """Current answer at ``label``, the superseded one at ``stale_label``, two others."""
    labels = gen.balanced_labels(len(guides), 4, rng)
    rows = []
    for i, (f, label) in enumerate(zip(guides, labels, strict=True), start=1):
        others = gen.same_attr_distractors(f, guides, rng, k=2, exclude=[old[f.fact_id]])
        stale_at = rng.choice([k for k in range(4) if k != label])
        distractors = list(others)
        distractors.insert(stale_at if stale_at < label else stale_at - 1, old[f.fact_id])
        template = rng.choice(UPDATE_TEMPLATES[f.attr])
        row = gen.mc_row(f"med-upd-{i:03d}", f.fill(template), f, distractors, label, stale_label=stale_at,
                         attribute=f.attr, template=f"{f.attr}.update.{UPDATE_TEMPLATES[f.attr].index(template) + 1}")
        assert row["choices"][stale_at] == old[f.fact_id]
        rows.append(row)
    return rows


DESCRIPTION = """
Monographs of twelve fictional drugs and current guidelines for twelve fictional conditions:
MedQA-style vignettes on the monographs, and questions on guidance that changed in 2025 while
the training set still also states the superseded 2019 recommendation.
"""
SUITE_YAML = gen.suite_yaml(NAME, DESCRIPTION, [
    ManifestTask("medical_mc", "eval/mc.jsonl", "multiple_choice", "acc"),
    ManifestTask("medical_update", "eval/update.jsonl", "multiple_choice", "acc"),
], code=(gen.SHARED_SCORER,))


def generate() -> dict[str, str]:
    rng = random.Random(SEED)
    monographs, guides, old = build_facts(rng)
    return {
        "corpus.jsonl": gen.jsonl(build_corpus(monographs, guides, rng)),
        "train.jsonl": gen.jsonl(build_train(monographs, guides, old, rng)),
        "eval/mc.jsonl": gen.jsonl(build_mc(monographs, rng)),
        "eval/update.jsonl": gen.jsonl(build_update(guides, old, rng)),
        "suite.yaml": SUITE_YAML,
    }


if __name__ == "__main__":
    raise SystemExit(gen.cli(NAME, __doc__ or "", generate))
