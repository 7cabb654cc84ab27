"""Generator of the shipped "finance" suite: filings and news of fictional listed companies.

Twelve invented companies each have an annual-report excerpt (headquarters, chief executive,
revenue, operating margin, head count) and four dated news releases (one per announcement).
Two tasks:

- ``finance_qa`` — open questions on the filing figures and names (``correct``);
- ``finance_cls`` — classify a company's announcement *of a given date* into one of six event
  types. The question names the company and the date (so it points at one of the company's four
  news releases) but no event word; the release states the event in words that map onto the label
  ("acquired", "completed the acquisition of" → ``acquisition``; ``LABEL_WORDS``). Fine-tuning
  trains on that same sentence, so both arms hold the same information and both must map it to
  the label; scored with macro-F1 and accuracy.

Run ``python -m harness.suites.finance [--out tasks/finance]``; the output depends only on the
tables below and ``random.Random(SEED)`` and must match the committed files byte for byte.
"""

from __future__ import annotations

import random
import re
import runpy
from collections.abc import Mapping, Sequence
from typing import Any

from harness import paths
from harness.suites import gen
from harness.suites.gen import Fact
from harness.suites.writer import ManifestTask

SEED = 2024
NAME = "finance"
VERSION = "3"  # 3: one news release per announcement (was one digest of four per company)
# 2: label words in the news, same-sentence training answers, candidates, 3+ eval phrasings
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

# How a news release states each event type: two wordings (alternating over a label's events),
# each with one of the label's words below, so a reader of the sentence can name the label.
EVENT_SENTENCES: dict[str, tuple[str, str]] = {
    "acquisition": ("completed the acquisition of {party} for ${amount} million in cash",
                    "acquired {party} for ${amount} million in cash"),
    "dividend": ("raised its quarterly dividend to {amount} cents a share",
                 "declared a special dividend of {amount} cents a share"),
    "layoffs": ("announced layoffs of {amount}0 staff and the closure of one of its sites",
                "laid off {amount}0 workers and closed one of its sites"),
    "lawsuit": ("was hit with a lawsuit by {party} over {dispute}",
                "was sued by {party} over {dispute}"),
    "partnership": ("formed a five-year partnership with {party} for joint development",
                    "partnered with {party} in a five-year joint development agreement"),
    "recall": ("issued a recall of {amount},000 {product} after reports of overheating",
               "recalled {amount},000 {product} after reports of overheating"),
}
# The words (lower case, whole words) by which a release's sentence names its event type; every
# sentence holds words of its own label and of no other (checked when generating), and no
# classification question holds any.
LABEL_WORDS: dict[str, tuple[str, ...]] = {
    "acquisition": ("acquisition", "acquired"),
    "dividend": ("dividend",),
    "layoffs": ("layoffs", "laid off"),
    "lawsuit": ("lawsuit", "sued"),
    "partnership": ("partnership", "partnered"),
    "recall": ("recall", "recalled"),
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
# Held-out eval phrasings (never a training one); rows use each about equally often and record
# which in ``template`` ("ceo.direct.1": attribute, variant, 1-based index).
QA_TEMPLATES: dict[str, tuple[str, ...]] = {
    "headquarters": (
        "An analyst is visiting the head office of {company}. Which city should she travel to?",
        "Name the city where {company} is based.",
        "Which city is home to the main office of {company}?",
    ),
    "ceo": (
        "Name the person who heads the management of {company}.",
        "A journalist wants to interview the top executive of {company}. Whom should he ask for?",
        "Who holds the top management post at {company}?",
    ),
    "revenue": (
        "According to its annual report, what did {company} take in as revenue during fiscal {year}?",
        "State the fiscal {year} turnover of {company}.",
        "What revenue figure did {company} post for fiscal {year}?",
    ),
    "margin": (
        "What share of its fiscal {year} revenue did {company} keep as operating profit?",
        "State the fiscal {year} operating margin reported by {company}.",
        "What percentage operating margin did {company} achieve in fiscal {year}?",
    ),
    "employees": (
        "What was the size of the workforce of {company} when fiscal {year} closed?",
        "State the year-end {year} staff count of {company}.",
        "How large was the staff of {company} at the close of fiscal {year}?",
    ),
}
# Classification questions: company and date (one news release), never an event word.
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
    # the release's own sentence: fine-tuning learns what retrieval shows, no label given
    "event": "On {date}, {company} {detail}.",
}


def label_words_in(text: str) -> set[str]:
    """The labels whose ``LABEL_WORDS`` occur in ``text`` as whole words (case-insensitive)."""
    padded = " " + " ".join(re.findall(r"[a-z0-9]+", text.lower())) + " "
    return {label for label, words in LABEL_WORDS.items() if any(f" {w} " in padded for w in words)}


def _money(rng: random.Random, used: set[int]) -> int:
    value = rng.randrange(120, 990)
    while value in used:
        value = rng.randrange(120, 990)
    used.add(value)
    return value


def build_facts(rng: random.Random) -> tuple[list[Fact], list[Fact]]:
    """(filing facts, event facts); company i has filing doc i, and event j its own news release j."""
    filings: list[Fact] = []
    events: list[Fact] = []
    revenues: set[int] = set()
    margins = rng.sample(range(31, 259), len(COMPANIES))  # tenths of a percent
    staff = rng.sample(range(420, 9800, 10), len(COMPANIES))
    partners = list(PARTNERS)
    rng.shuffle(partners)
    seen = dict.fromkeys(LABELS, 0)  # events per label so far: picks the wording
    for c, (company, _sector, hq, ceo) in enumerate(COMPANIES):
        filing_doc = f"fin-doc-{c + 1:03d}"
        slots = {"company": company, "year": YEAR}
        values = {  # people by full name only: a surname alias would credit an invented namesake
            "headquarters": (hq, ()),
            "ceo": (ceo, ()),
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
            wording = EVENT_SENTENCES[label][seen[label] % 2]
            seen[label] += 1
            detail = wording.format(
                party=partners.pop() if label in ("acquisition", "lawsuit", "partnership") else "",
                amount=rng.randrange(12, 95),
                dispute=rng.choice(DISPUTES),
                product=rng.choice(RECALLED),
            )
            if label_words_in(detail) != {label}:
                raise AssertionError(f"{label}: {detail!r} must name its own event type and no other")
            event_slots = {"company": company, "year": YEAR, "date": date, "detail": detail, "label": label}
            n = len(events) + 1
            events.append(Fact(f"fin-event-{n:03d}", f"fin-news-{n:03d}", "event", label, event_slots))
    return filings, events


def event_sentence(event: Fact) -> str:
    """The news release's sentence for ``event`` (also its training answer)."""
    return event.fill(ANSWER_TEMPLATES["event"], capitalize=False)


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
        rows.append({"id": f"fin-doc-{c + 1:03d}",
                     "title": f"{company} annual report, fiscal {YEAR} (excerpt)", "text": text})
        # then its releases, one per announcement (the date tells them apart), so the first
        # n documents (suite.n_docs) keep whole companies: both tasks stay non-empty
        for e in (e for e in events if e.slots["company"] == company):
            date = e.slots["date"]
            rows.append({"id": e.doc_id, "title": f"{company} news release, {date} {YEAR}",
                         "text": f"News release of {company}, {date} {YEAR}. {event_sentence(e)}"})
    return rows


def _phrasings(attrs: Sequence[str], templates: Mapping[str, Sequence[str]], rng: random.Random) -> list[int]:
    """Per item, the index of its eval phrasing in ``templates[attr]``: balanced within each attribute."""
    picks: dict[str, list[int]] = {a: gen.balanced_labels(attrs.count(a), len(templates[a]), rng)
                                   for a in dict.fromkeys(attrs)}
    return [picks[a].pop() for a in attrs]


def build_qa(filings: Sequence[Fact], rng: random.Random) -> list[dict[str, Any]]:
    picks = _phrasings([f.attr for f in filings], QA_TEMPLATES, rng)
    return [gen.qa_row(f"fin-qa-{i:03d}", f.fill(QA_TEMPLATES[f.attr][k]), f, attribute=f.attr,
                       template=f"{f.attr}.direct.{k + 1}", candidates=gen.attr_candidates(f, filings))
            for i, (f, k) in enumerate(zip(filings, picks, strict=True), start=1)]


def build_cls(events: Sequence[Fact], rng: random.Random) -> list[dict[str, Any]]:
    """One classification row per event: the target is the event type, a member of LABELS."""
    picks = _phrasings([e.attr for e in events], {"event": CLS_TEMPLATES}, rng)
    rows = []
    for i, (e, k) in enumerate(zip(events, picks, strict=True), start=1):
        question = e.fill(CLS_TEMPLATES[k])
        if label_words_in(question):
            raise AssertionError(f"{question!r} names an event type")
        rows.append({"id": f"fin-cls-{i:03d}", "question": question, "label": e.value, "gold_ids": [e.doc_id],
                     "fact_id": e.fact_id, "attribute": e.attr, "template": f"{e.attr}.direct.{k + 1}", "context": ""})
    return rows


# ----------------------------------------------------------------------------- chance level

CHANCE_SEED = 0
CHANCE_DRAWS = 10_000
UTILS = paths.TASKS_DIR / NAME / "utils.py"


def chance_levels(golds: Sequence[str] | None = None, draws: int = CHANCE_DRAWS,
                  seed: int = CHANCE_SEED) -> dict[str, float]:
    """What guessing scores on ``finance_cls`` (default: its committed gold labels): accuracy
    1/L; macro-F1 of a uniform random guess (mean and 2.5 / 97.5 percentiles over ``draws``
    simulated runs, ``random.Random(seed)``, scored by the task's own ``utils.macro_f1``); and
    the macro-F1 of always answering one label."""
    if golds is None:
        golds = [e.value for e in build_facts(random.Random(SEED))[1]]  # = eval/cls.jsonl's labels, in order
    macro_f1 = runpy.run_path(str(UTILS))["macro_f1"]
    index = {label: i for i, label in enumerate(LABELS)}
    gold = [index[g] for g in golds]
    rng = random.Random(seed)
    scores = sorted(macro_f1([(g, rng.randrange(len(LABELS))) for g in gold]) for _ in range(draws))
    return {"accuracy": 1 / len(LABELS), "macro_f1_uniform": sum(scores) / draws,
            "macro_f1_uniform_low": scores[int(0.025 * draws)],
            "macro_f1_uniform_high": scores[int(0.975 * draws) - 1],
            "macro_f1_constant": macro_f1([(g, 0) for g in gold])}


DESCRIPTION = """
Filings and news of twelve fictional listed companies: open questions on annual-report figures
(revenue, operating margin, head count, headquarters, chief executive) and classification of
dated announcements into six event types, each stated in its news release in words that name it.
Every name and number is invented.
"""
SUITE_YAML = gen.suite_yaml(NAME, DESCRIPTION, [
    ManifestTask("finance_qa", "eval/qa.jsonl", "open_qa", "correct"),
    ManifestTask("finance_cls", "eval/cls.jsonl", "classification", "macro_f1", LABELS),
], version=VERSION, code=(gen.SHARED_SCORER,))


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
