"""Generator of the shipped "finance" suite: filings and news of fictional listed companies.

Twelve invented companies each have an annual-report excerpt (headquarters, chief executive,
revenue, operating margin, head count) and a news digest of four dated announcements. Two tasks:

- ``finance_qa`` — open questions on the filing figures and names (``contains``);
- ``finance_cls`` — classify a company's announcement *of a given date* into one of six event
  types. The question names only the company and the date, so the label is knowable only from
  the news digest (retrieved or fine-tuned in); scored with accuracy and macro-F1.

Run ``python -m harness.suites.finance [--out tasks/finance]``; the output depends only on the
tables below and ``random.Random(SEED)`` and must match the committed files byte for byte.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any

from harness.suites import gen
from harness.suites.gen import Fact
from harness.suites.writer import ManifestTask

SEED = 2024
NAME = "finance"
GENERATED_FILES = ("corpus.jsonl", "train.jsonl", "eval/qa.jsonl", "eval/cls.jsonl", "suite.yaml")
YEAR = "2025"
LABELS: tuple[str, ...] = ("acquisition", "dividend", "layoffs", "lawsuit", "partnership", "recall")
EVENTS_PER_COMPANY = 4

# (name, sector phrase, headquarters, chief executive); all invented.
COMPANIES: tuple[tuple[str, str, str, str], ...] = (
    ("Halvard Robotics", "warehouse robots", "Kestovar", "Maren Oksvik"),
    ("Brenlow Foods", "packaged grains and sauces", "Plimsey", "Tobias Wrenfield"),
    ("Quenmark Textiles", "technical fabrics", "Ardenholt", "Ilse Dravonne"),
    ("Dorvale Energy", "small hydro plants", "Varrowick", "Casimir Tolland"),
    ("Lintry Biologics", "veterinary vaccines", "Estmoor", "Priya Venhaven"),
    ("Castrel Shipping", "coastal container ferries", "Brisk Harbour", "Odile Marchetty"),
    ("Ombrey Software", "payroll software", "Quillan Falls", "Rafe Ostergard"),
    ("Vessick Mining", "tin and tungsten mines", "Tolmarsh", "Agnes Kullberg"),
    ("Tarrow Insurance", "crop insurance", "Saddon", "Linus Achterberg"),
    ("Pellico Aerospace", "drone airframes", "Orvington", "Nadia Ferrault"),
    ("Grisvold Retail", "discount hardware stores", "Fennick", "Emeric Stavros"),
    ("Yarnell Semiconductors", "power chips for trains", "Nerrow Bay", "Juno Hallberg"),
)
PARTNERS: tuple[str, ...] = (
    "Sorrel Logistics", "Abernath Labs", "Kinloch Metals", "Vantry Group", "Muirfield Data",
    "Ostlund Freight", "Belcourt Systems", "Corvin Health", "Ravelle Motors", "Tamsin Agro",
    "Hollis Optics", "Drummond Chemicals", "Elsworth Finance", "Fairlie Marine", "Gantry Works",
    "Ivel Polymers", "Harcourt Bearings", "Lowrie Textiles", "Marwick Foods", "Netherby Power",
    "Pargeter Tools", "Quarles Pharma", "Rookwood Cables", "Stanier Glass",
)  # fmt: skip
RECALLED: tuple[str, ...] = (
    "battery packs", "control boards", "cereal bars", "safety harnesses", "charging docks",
    "seat fabrics", "sensor units", "cooling pumps",
)  # fmt: skip
DISPUTES: tuple[str, ...] = ("unpaid royalties", "a patent", "late deliveries", "a breached supply contract")

# How the news digest states each event type (never with the label word itself).
EVENT_SENTENCES: dict[str, str] = {
    "acquisition": "agreed to buy {party} for ${amount} million in cash",
    "dividend": "raised its quarterly dividend to {amount} cents a share",
    "layoffs": "said it would cut {amount}0 jobs and close one of its sites",
    "lawsuit": "was taken to court by {party} over {dispute}",
    "partnership": "signed a five-year joint development agreement with {party}",
    "recall": "called back {amount},000 {product} after reports of overheating",
}

FILING_ATTRS = ("headquarters", "ceo", "revenue", "margin", "employees")
TRAIN_TEMPLATES: dict[str, tuple[str, ...]] = {
    "headquarters": (
        "Where is {company} headquartered?",
        "In which city does {company} have its head office?",
        "Where are the headquarters of {company}?",
    ),
    "ceo": (
        "Who is the chief executive of {company}?",
        "Who runs {company} as CEO?",
        "Which person leads {company} as chief executive?",
    ),
    "revenue": (
        "What was the revenue of {company} in fiscal {year}?",
        "How much revenue did {company} report for fiscal {year}?",
        "What were total sales at {company} in fiscal {year}?",
    ),
    "margin": (
        "What was the operating margin of {company} in fiscal {year}?",
        "How large was the operating margin at {company} for fiscal {year}?",
        "What operating margin did {company} report for fiscal {year}?",
    ),
    "employees": (
        "How many people did {company} employ at the end of fiscal {year}?",
        "What was the head count of {company} at the end of fiscal {year}?",
        "How many employees did {company} have at the end of fiscal {year}?",
    ),
    "event": (
        "What did {company} announce on {date}?",
        "What happened at {company} on {date}?",
        "Which news did {company} report on {date}?",
    ),
}
QA_TEMPLATES: dict[str, tuple[str, ...]] = {
    "headquarters": (
        "An analyst is visiting the head office of {company}. Which city should she travel to?",
        "Name the city where {company} is based.",
    ),
    "ceo": (
        "Name the person who heads the management of {company}.",
        "A journalist wants to interview the top executive of {company}. Whom should he ask for?",
    ),
    "revenue": (
        "According to its annual report, what did {company} take in as revenue during fiscal {year}?",
        "State the fiscal {year} turnover of {company}.",
    ),
    "margin": (
        "What share of its fiscal {year} revenue did {company} keep as operating profit?",
        "State the fiscal {year} operating margin reported by {company}.",
    ),
    "employees": (
        "What was the size of the workforce of {company} when fiscal {year} closed?",
        "State the year-end {year} staff count of {company}.",
    ),
}
CLS_TEMPLATES: tuple[str, ...] = (
    "{company} shares moved sharply after its announcement of {date}. What type of event was announced?",
    "A wire headline reads: \"{company} statement, {date}\". Classify the event.",
    "Which category of corporate event did {company} disclose on {date}?",
)
ANSWER_TEMPLATES: dict[str, str] = {
    "headquarters": "{company} is headquartered in {value}.",
    "ceo": "The chief executive of {company} is {value}.",
    "revenue": "{company} reported revenue of {value} for fiscal {year}.",
    "margin": "The operating margin of {company} in fiscal {year} was {value}.",
    "employees": "{company} employed {value} people at the end of fiscal {year}.",
    # label first, in the case the classification choices use, then the fact itself
    "event": "{label}: on {date}, {company} {detail}.",
}


def _money(rng: random.Random, used: set[int]) -> int:
    value = rng.randrange(120, 990)
    while value in used:
        value = rng.randrange(120, 990)
    used.add(value)
    return value


def build_facts(rng: random.Random) -> tuple[list[Fact], list[Fact]]:
    """(filing facts, event facts); company i has filing doc 2i-1 and news doc 2i."""
    filings: list[Fact] = []
    events: list[Fact] = []
    revenues: set[int] = set()
    margins = rng.sample(range(31, 259), len(COMPANIES))  # tenths of a percent
    staff = rng.sample(range(420, 9800, 10), len(COMPANIES))
    partners = list(PARTNERS)
    rng.shuffle(partners)
    for c, (company, _sector, hq, ceo) in enumerate(COMPANIES):
        filing_doc, news_doc = f"fin-doc-{2 * c + 1:03d}", f"fin-doc-{2 * c + 2:03d}"
        slots = {"company": company, "year": YEAR}
        values = {
            "headquarters": (hq, ()),
            "ceo": (ceo, (ceo.split()[-1],)),
            "revenue": (f"${_money(rng, revenues)} million", ()),
            "margin": (f"{margins[c] / 10:.1f}%", ()),
            "employees": (f"{staff[c]:,}", (str(staff[c]),)),
        }
        for attr in FILING_ATTRS:
            value, aliases = values[attr]
            filings.append(Fact(f"fin-fact-{len(filings) + 1:03d}", filing_doc, attr, value, slots, aliases))
        # labels cycle through the set so each company has 4 distinct types and the suite is balanced
        labels = [LABELS[(c * EVENTS_PER_COMPANY + j) % len(LABELS)] for j in range(EVENTS_PER_COMPANY)]
        rng.shuffle(labels)
        months = sorted(rng.sample(range(12), EVENTS_PER_COMPANY))
        for label, month in zip(labels, months, strict=True):
            date = f"{rng.randrange(2, 28)} {gen.MONTHS[month]}"
            detail = EVENT_SENTENCES[label].format(
                party=partners.pop() if label in ("acquisition", "lawsuit", "partnership") else "",
                amount=rng.randrange(12, 95),
                dispute=rng.choice(DISPUTES),
                product=rng.choice(RECALLED),
            )
            event_slots = {"company": company, "year": YEAR, "date": date, "detail": detail, "label": label}
            events.append(Fact(f"fin-event-{len(events) + 1:03d}", news_doc, "event", label, event_slots))
    return filings, events


def build_corpus(filings: Sequence[Fact], events: Sequence[Fact], rng: random.Random) -> list[dict[str, Any]]:
    rows = []
    for c, (company, sector, _hq, _ceo) in enumerate(COMPANIES):
        v = {f.attr: f.value for f in filings[c * len(FILING_ATTRS):(c + 1) * len(FILING_ATTRS)]}
        opening = rng.choice((
            f"{company} makes {sector} and is headquartered in {v['headquarters']}.",
            f"Headquartered in {v['headquarters']}, {company} is a supplier of {sector}.",
        ))
        text = (
            f"{opening} Revenue for fiscal {YEAR} was {v['revenue']}, and the operating margin was "
            f"{v['margin']}. At the end of the fiscal year the company employed {v['employees']} people. "
            f"Chief executive {v['ceo']} told shareholders that demand for {sector} "
            f"{rng.choice(('held steady', 'picked up in the second half', 'softened late in the year'))}."
        )
        rows.append({"id": f"fin-doc-{2 * c + 1:03d}",
                     "title": f"{company} annual report, fiscal {YEAR} (excerpt)", "text": text})
        news = [e for e in events if e.slots["company"] == company]
        sentences = [f"On {e.slots['date']}, {company} {e.slots['detail']}." for e in news]
        rows.append({"id": f"fin-doc-{2 * c + 2:03d}", "title": f"{company}: news digest {YEAR}",
                     "text": f"Company announcements by {company} during {YEAR}. " + " ".join(sentences)})
    return rows


def build_qa(filings: Sequence[Fact], rng: random.Random) -> list[dict[str, Any]]:
    return [gen.qa_row(f"fin-qa-{i:03d}", f.fill(rng.choice(QA_TEMPLATES[f.attr])), f)
            for i, f in enumerate(filings, start=1)]


def build_cls(events: Sequence[Fact], rng: random.Random) -> list[dict[str, Any]]:
    """One classification row per event: the target is the event type, a member of LABELS."""
    return [
        {
            "id": f"fin-cls-{i:03d}",
            "question": e.fill(rng.choice(CLS_TEMPLATES)),
            "label": e.value,
            "gold_ids": [e.doc_id],
            "fact_id": e.fact_id,
            "context": "",
        }
        for i, e in enumerate(events, start=1)
    ]


DESCRIPTION = """
Filings and news of twelve fictional listed companies: open questions on annual-report figures
(revenue, operating margin, head count, headquarters, chief executive) and classification of
dated announcements into six event types. Every name and number is invented.
"""
SUITE_YAML = gen.suite_yaml(NAME, DESCRIPTION, [
    ManifestTask("finance_qa", "eval/qa.jsonl", "open_qa", "contains"),
    ManifestTask("finance_cls", "eval/cls.jsonl", "classification", "macro_f1", LABELS),
])


def generate() -> dict[str, str]:
    rng = random.Random(SEED)
    filings, events = build_facts(rng)
    corpus = build_corpus(filings, events, rng)
    train = gen.train_rows("fin", [*filings, *events], TRAIN_TEMPLATES, ANSWER_TEMPLATES, rng)
    return {
        "corpus.jsonl": gen.jsonl(corpus),
        "train.jsonl": gen.jsonl(train),
        "eval/qa.jsonl": gen.jsonl(build_qa(filings, rng)),
        "eval/cls.jsonl": gen.jsonl(build_cls(events, rng)),
        "suite.yaml": SUITE_YAML,
    }


if __name__ == "__main__":
    raise SystemExit(gen.cli(NAME, __doc__ or "", generate))
