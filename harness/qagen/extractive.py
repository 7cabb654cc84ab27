"""Deterministic extractive question generation: declarative sentences → questions + answer spans.

No model, so the same folder always yields the same questions (what the tests check content
against). Rules, tried in order on each sentence; the answer is always a span of the sentence:

* **imperative + time/frequency** — "During dry spells, apply irrigation every 27 days." →
  "How often should you apply irrigation during dry spells?" / "every 27 days";
  "Sow maize in mid-October, once …" → "When should you sow maize?" / "mid-October".
* **subject–verb–object** with a known verb — "Blueberries need acidic soil, pH 4.5 to 5.5." →
  "What do blueberries need?" / "acidic soil"; with a time phrase in the object —
  "Growers rent bee hives each February to pollinate almonds." → "When do growers rent bee
  hives to pollinate almonds?" / "February".
* **copula** — "The recommended variety for the Velmora Plateau is Lusk-9." → "What is the
  recommended variety for the Velmora Plateau?" / "Lusk-9"; "X is grown in Y" → "Where is X
  grown?" / "Y".
* **context** — a question that names under half of its document title's content words gets
  the title in front ("Maize in the Velmora Plateau — When should you sow maize?"), since a
  location-specific fact is no question without its place (``context: false`` turns it off).
* **cloze** (fallback, and a second question up to ``max_per_sentence``) — the sentence with a
  salient span blanked: a date/season, a frequency, a quantity, a capitalised name (not the first
  word), else the closing noun phrase: "Fill in the blank: Late blight browns ____." / "tomato
  leaves".
* **phrasings** — each rule's question comes in up to ``phrasings`` wordings with the same
  answer (the paraphrase split trains on some and asks another): its own, the rewordings of
  :mod:`harness.qagen.wording` ("What is needed by blueberries?"), then its answer blanked in
  the sentence; a wording whose question token Jaccard with an earlier one is ≥ 0.8 (a near
  duplicate the dedup would drop) is skipped for the next. A cloze question has one wording.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from harness.qagen import wording
from harness.qagen.generators import Generated, QAPair, check_phrasings
from harness.qagen.lexical import STOPWORDS, content_tokens, jaccard, normalize_text, tokens
from harness.qagen.sections import Section

_MONTH = r"(?:January|February|March|April|May|June|July|August|September|October|November|December)"
_PART = r"(?:(?i:early|mid|late)[- ]?|(?i:the )?(?i:start|beginning|middle|end) of )"
_SEASON = r"(?i:(?:early |late |mid-?)?(?:spring|summer|autumn|fall|winter|rainy season|dry season|monsoon))"
_WHEN = rf"(?:{_PART}?{_MONTH}(?:\s+(?:to|and|through|until|or)\s+{_PART}?{_MONTH})?|{_SEASON})"
_TIME = re.compile(rf"(?:\b(?P<prep>in|during|at|on|by|before|after|until|from|each|every)\s+)?(?P<time>\b{_WHEN})\b")
_NUMBER_WORD = r"(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fifteen|twenty|thirty|other|few)"
_UNIT_TIME = r"(?:days?|weeks?|months?|years?|hours?|seasons?)"
_FREQUENCY = re.compile(
    rf"\b(?:(?:every|each)\s+(?:(?:\d+|{_NUMBER_WORD})\s+)?{_UNIT_TIME}"
    rf"|(?:once|twice|three times|\d+ times)\s+(?:a|per|each|every)\s+(?:day|week|month|year|season)"
    rf"|daily|weekly|fortnightly|monthly|annually|yearly)\b", re.I)
_UNITS = (r"%|percent|per cent|kg/ha|t/ha|kg|kilograms?|tonnes?|tons?|grams?|g|mm|cm|metres?|meters?|m|km|"
          r"hectares?|ha|litres?|liters?|l|days?|weeks?|months?|years?|hours?|°C|degrees?(?: Celsius)?")
_QUANTITY = re.compile(
    rf"(?<![\w-])(?:\d+(?:[.,]\d+)?|{_NUMBER_WORD})(?:\s*(?:-|–|to)\s*\d+(?:[.,]\d+)?)?(?:\s*(?:{_UNITS})\b)?(?![\w-])",
    re.I)
_NAME = re.compile(r"(?<!^)(?<![\w-])(?:[A-Z][\w'’]*(?:-[\w]+)*)(?:\s+(?:of\s+)?[A-Z][\w'’]*(?:-[\w]+)*)*")
_LEAD = re.compile(r"^(?P<lead>(?:In|During|After|Before|On|At|For|When|Once|If|From|Until|By|Of|Across|Throughout)\b[^,]{1,60}),\s+(?P<rest>.+)$")
_COPULA = re.compile(
    r"^(?P<subj>[A-Z][^,;:()]{1,90}?)\s+(?P<verb>is|are|was|were)\s+(?P<comp>[^,;()]{1,120}?)\s*(?:[,;(].*)?[.!]$")
_PRONOUNS = frozenset("it this that these those there he she they we you i one here such".split())
_PARTICIPLES = frozenset("grown sown known found given done made seen taken kept held built born shown".split())
# Verbs whose object makes a "What do/does <subject> <verb>?" question: 3rd person → base form.
_VERBS = {
    "needs": "need", "requires": "require", "prefers": "prefer", "produces": "produce", "yields": "yield",
    "contains": "contain", "causes": "cause", "attacks": "attack", "tolerates": "tolerate", "damages": "damage",
    "controls": "control", "reduces": "reduce", "increases": "increase", "improves": "improve",
    "protects": "protect", "recommends": "recommend", "advises": "advise", "suggests": "suggest", "uses": "use",
    "grows": "grow", "releases": "release", "supports": "support", "prevents": "prevent", "slows": "slow",
    "raises": "raise", "lowers": "lower", "plants": "plant", "sows": "sow", "harvests": "harvest",
    "rents": "rent", "applies": "apply", "sprays": "spray", "feeds": "feed", "provides": "provide",
    "lacks": "lack", "affects": "affect", "spreads": "spread", "kills": "kill", "favours": "favour",
    "favors": "favor", "breeds": "breed", "buys": "buy", "sells": "sell", "stores": "store",
}
_BASE_VERBS = frozenset(_VERBS.values())
_IMPERATIVES = frozenset(
    """sow plant apply irrigate water harvest spray use keep grow add avoid remove rotate fertilize fertilise
    prune check test mulch till plough plow weed transplant thin store dry cut feed graze lime drain select
    choose treat inspect monitor scout sample cover stake top hill""".split()
)
_AGENTS = frozenset("farmer grower officer agent expert adviser advisor researcher breeder producer scientist "
                    "agronomist extension".split())
_SENTENCE_MIN_WORDS, _SENTENCE_MAX_WORDS, _ANSWER_MAX_WORDS = 4, 45, 10
Found = tuple[list[str], str, str]  # a rule's wordings of one question (its own first), the answer, the rule
DISTINCT_WORDINGS = 0.8  # = filters.near_duplicate's default: a wording this close to an earlier one is skipped


def _words(text: str) -> int:
    return len(text.split())


def _tidy(text: str) -> str:
    text = re.sub(r"\s+([,.;:!?])", r"\1", " ".join(text.split()))
    return text.strip(" ,;:")


def _strip_end(sentence: str) -> str:
    return sentence.rstrip().rstrip(".!;:").rstrip()


def _proper_words(section: Section) -> set[str]:
    """Words written capitalised somewhere other than a sentence start: names to keep capitalised."""
    names = set()
    for sentence in section.sentences:
        for word in sentence.split()[1:]:
            if word[:1].isupper():
                names.add(re.sub(r"[^\w'’-]", "", word))
    return names


def _lower_first(text: str, names: set[str]) -> str:
    first = text.split(" ", 1)[0]
    if re.sub(r"[^\w'’-]", "", first) in names or first.isupper() and len(first) > 1:
        return text
    return text[:1].lower() + text[1:]


def _without(text: str, start: int, end: int) -> str:
    return _tidy(text[:start] + " " + text[end:])


def _time_answer(match: re.Match[str]) -> tuple[str, int]:
    """(answer, start of the removed span): "in mid-May" → "mid-May"; "before May" keeps "before"."""
    prep = (match.group("prep") or "").lower()
    time = match.group("time")
    if prep in ("before", "after", "by", "until", "from"):
        return f"{prep} {time}", match.start()
    return time, match.start()


def _imperative(sentence: str, names: set[str]) -> Iterator[Found]:
    lead, body = _split_lead(_strip_end(sentence))
    core = body.split(",", 1)[0]
    first = core.split(" ", 1)[0]
    if first.lower() not in _IMPERATIVES or _words(core) < 2:
        return
    core = first.lower() + core[len(first):]
    lead_time = _TIME.search(lead) if lead else None
    tail = f" {_lower_first(lead, names)}" if lead and not lead_time else ""
    freq = _FREQUENCY.search(core)
    if freq:
        action = _without(core, freq.start(), freq.end())
        front = lead if lead and not lead_time else ""
        yield ([f"How often should you {action}{tail}?", *wording.imperative_frequency(action, tail, front)],
               freq.group(0), "imperative-frequency")
        return
    when = _TIME.search(core) or lead_time
    if when:
        answer, start = _time_answer(when)
        rest = _without(core, start, when.end()) if when is not lead_time else core
        yield [f"When should you {rest}{tail}?", *wording.imperative_time(rest, tail)], answer, "imperative-time"


def _split_lead(body: str) -> tuple[str, str]:
    match = _LEAD.match(body)
    return (match.group("lead"), match.group("rest")) if match else ("", body)


def _third_person(verb: str) -> str:
    return next((third for third, base in _VERBS.items() if base == verb), verb)


def _subject_verb(sentence: str, names: set[str]) -> Iterator[Found]:
    lead, body = _split_lead(_strip_end(sentence))
    words = body.split()
    if not words or words[0].lower() in _IMPERATIVES or words[0].lower() in _PRONOUNS:
        return
    candidates = [i for i, w in enumerate(words[1:7], start=1)
                  if (w.lower() in _VERBS or w.lower() in _BASE_VERBS) and words[i - 1].lower() not in STOPWORDS]
    if not candidates:
        return
    i = candidates[0]
    if i + 1 in candidates:  # "Copper sprays slow …": a noun-verb look-alike, then the verb
        i += 1
    verb = words[i].lower()
    subject = " ".join(words[:i])
    if any(c in subject for c in ",;:()"):
        return
    obj = " ".join(words[i + 1:]).split(",", 1)[0].split(";", 1)[0].strip()
    if not obj:
        return
    aux, base = ("does", _VERBS[verb]) if verb in _VERBS else ("do", verb)
    subject_q = _lower_first(subject, names)
    tail = f" {_lower_first(lead, names)}" if lead else ""
    when = _TIME.search(obj)
    if when:
        answer, start = _time_answer(when)
        rest = _without(obj, start, when.end())
        asked = [f"When {aux} {subject_q} {base} {rest}{tail}?", *wording.svo_time(aux, subject_q, base, rest, tail)]
        yield [_tidy(q[:-1]) + "?" for q in asked], answer, "svo-time"
        return
    if _words(obj) <= _ANSWER_MAX_WORDS:
        yield [f"What {aux} {subject_q} {base}{tail}?", *wording.svo_object(subject_q, base, tail)], obj, "svo-object"
    if _words(subject) <= _ANSWER_MAX_WORDS:
        who = words[i - 1].lower().rstrip("s") in _AGENTS
        yield ([f"{'Who' if who else 'What'} {_third_person(verb) if verb in _BASE_VERBS else verb} {obj}{tail}?",
                *wording.svo_subject(obj, base, who, tail)], subject, "svo-subject")


def _copula(sentence: str, names: set[str]) -> Iterator[Found]:
    match = _COPULA.match(sentence.strip())
    if not match:
        return
    subject, verb, comp = match.group("subj"), match.group("verb"), match.group("comp").strip()
    first = subject.split()[0].lower()
    if first in _PRONOUNS or _words(subject) > 10 or not comp:
        return
    comp_first = comp.split()[0].lower()
    subject = _lower_first(subject, names)
    if comp_first in _PARTICIPLES or comp_first.endswith("ed"):
        place = re.match(r"^(?P<part>\w+)\s+in\s+(?P<place>(?:the\s+)?[A-Z][\w'’-]*(?:\s+[A-Z][\w'’-]*)*)$", comp)
        if place:
            part = place.group("part")
            yield ([f"Where {verb} {subject} {part}?", *wording.copula_where(verb, subject, part)], place.group("place"),
                   "copula-where")
        return
    if comp_first in ("not", "also", "often", "usually", "generally", "very", "too", "more", "less", "still"):
        return
    single_plain = _words(comp) == 1 and comp.islower() and not (_TIME.search(comp) or _QUANTITY.search(comp))
    if _words(comp) > _ANSWER_MAX_WORDS or single_plain:
        return
    yield [f"What {verb} {subject}?", *wording.copula(verb, subject)], comp, "copula"


def _cloze_spans(sentence: str) -> Iterator[tuple[int, int]]:
    """Candidate answer spans, most salient first."""
    for match in _TIME.finditer(sentence):
        yield match.start("time"), match.end("time")
    for match in _FREQUENCY.finditer(sentence):
        yield match.span()
    for match in _QUANTITY.finditer(sentence):
        if any(c.isdigit() for c in match.group(0)) or _words(match.group(0)) > 1:
            yield match.span()
    for match in _NAME.finditer(sentence):
        if match.group(0).lower() not in STOPWORDS:
            yield match.span()
    body = _strip_end(sentence)
    tail = re.search(r"((?:[\w'’-]+\s+)?[\w'’-]+)$", body)
    if tail:
        words = tail.group(1).split()
        while words and words[0].lower() in STOPWORDS:
            words.pop(0)
        if words:
            yield body.rindex(" ".join(words)), len(body)


def _blank(sentence: str, start: int, end: int, prefix: str) -> str | None:
    """The fill-in-the-blank question with ``sentence[start:end]`` blanked (None: nothing left to ask)."""
    if start == 0 and _words(sentence[end:]) < 3:
        return None
    return f"{prefix} {_tidy(sentence[:start] + ' ____ ' + sentence[end:])}".strip()


def _cloze(sentence: str, taken: set[str], prefix: str) -> Iterator[Found]:
    for start, end in _cloze_spans(sentence):
        answer = sentence[start:end].strip(" ,;:.")
        padded = f" {normalize_text(answer)} "
        if not answer.strip() or _words(answer) > _ANSWER_MAX_WORDS or any(
                f" {t} " in padded or padded in f" {t} " for t in taken):
            continue
        question = _blank(sentence, start, end, prefix)
        if question:
            yield [question], answer, "cloze"
            return


def _blank_answer(sentence: str, answer: str, prefix: str) -> list[str]:
    """The rule's own answer blanked in its sentence: one more wording of the rule's question."""
    start = sentence.lower().find(answer.lower())
    question = _blank(sentence, start, start + len(answer), prefix) if answer and start >= 0 else None
    return [question] if question else []


class ExtractiveGenerator:
    """Rule-based questions; ``max_per_sentence`` caps the questions per sentence (rule + cloze),
    ``phrasings`` the wordings of each (the paraphrase split trains on some and asks another)."""

    name = "extractive"

    def __init__(self, max_per_sentence: int = 2, cloze: bool = True, cloze_prefix: str = "Fill in the blank:",
                 context: bool = True, context_format: str = "{title} — {question}", phrasings: int = 3):
        self.max_per_sentence = max(1, max_per_sentence)
        self.phrasings = check_phrasings(phrasings)
        self.cloze = cloze
        self.cloze_prefix = cloze_prefix
        self.context = context
        self.context_format = context_format

    def with_context(self, question: str, title: str) -> str:
        """Name the document when the question names under half of its title's content words:
        "When should you sow maize?" alone does not say where (the study's facts are local)."""
        wanted = set(content_tokens(title)) if self.context and title.strip() else set()
        if not wanted or len(wanted & set(tokens(question))) * 2 >= len(wanted):
            return question
        return self.context_format.format(title=title.strip()[:1].upper() + title.strip()[1:], question=question)

    def questions(self, sentence: str, names: set[str]) -> list[Found]:
        """Up to ``max_per_sentence`` questions about one sentence, each as its wordings (the rule's
        templates, then the answer blanked in the sentence), its answer and its rule."""
        if sentence.rstrip().endswith("?") or not _SENTENCE_MIN_WORDS <= _words(sentence) <= _SENTENCE_MAX_WORDS:
            return []
        found: list[Found] = []
        for rule in (_imperative, _subject_verb, _copula):
            found.extend(rule(sentence, names))
            if found:
                break
        if self.cloze:
            found = [(w + _blank_answer(sentence, a.strip(" ,;:."), self.cloze_prefix), a, r) for w, a, r in found]
        if self.cloze and len(found) < self.max_per_sentence:
            taken = {normalize_text(a) for _, a, _ in found}
            found.extend(_cloze(sentence, taken, self.cloze_prefix))
            if not found:  # no other span: blank the rule's answer after all
                found.extend(_cloze(sentence, set(), self.cloze_prefix))
        return [([_tidy(q[:1].upper() + q[1:]) for q in wordings], a.strip(" ,;:."), rule)
                for wordings, a, rule in found[: self.max_per_sentence]]

    def phrased(self, wordings: list[str], title: str) -> list[str]:
        """Up to ``phrasings`` wordings with the document's title where needed, skipping one that is
        a near duplicate of an earlier one (the dedup would drop it, and a later template may not)."""
        kept: list[str] = []
        for text in wordings:
            text = self.with_context(text, title)
            words = set(tokens(text))
            if all(jaccard(words, set(tokens(k))) < DISTINCT_WORDINGS for k in kept):
                kept.append(text)
            if len(kept) == self.phrasings:
                break
        return kept

    def generate(self, sections: list[Section]) -> Generated:
        result = Generated()
        for section in sections:
            names = _proper_words(section)
            for index, sentence in enumerate(section.sentences):
                result.outputs += 1
                made = self.questions(sentence, names)
                result.skipped += not made
                for wordings, answer, rule in made:
                    for question in self.phrased(wordings, section.title or section.heading):
                        result.pairs.append(QAPair(question, answer, section.id, index, rule))
        return result


def from_config(cfg: Mapping[str, Any], prompt: Mapping[str, Any]) -> ExtractiveGenerator:
    """``generator.kind: extractive`` (``prompt`` is for LLM generators; the rules take none)."""
    return ExtractiveGenerator(max_per_sentence=int(cfg.get("max_per_sentence", 2)),
                               cloze=bool(cfg.get("cloze", True)),
                               cloze_prefix=str(cfg.get("cloze_prefix", "Fill in the blank:")),
                               context=bool(cfg.get("context", True)),
                               context_format=str(cfg.get("context_format", "{title} — {question}")),
                               phrasings=cfg.get("phrasings", 3))
