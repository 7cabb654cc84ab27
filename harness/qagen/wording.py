"""Second and third wordings of an extractive question: the same fact, asked in other words.

The paraphrase split (``split.unit=paraphrase``) trains on some phrasings of a fact and asks a
held-out one in eval, so the extractive rules must say each question more than one way. A
rewording is only useful if it is not a near duplicate of the first one: the dedup (question
token Jaccard ≥ ``filters.near_duplicate``, 0.8) would drop it, and a held-out question that
shares nearly every word with its training phrasing measures recall of a string, not of a fact.
So the templates here change the frame of the question (different question words, passive
voice, the context moved to the front), not just its word order, which token Jaccard ignores.

Each function takes the pieces a rule already found and returns the extra wordings, best first;
the rule's own question stays the first phrasing, so ``generator.phrasings=1`` reproduces the
single-phrasing output exactly.
"""

from __future__ import annotations

import re

from harness.qagen.lexical import STOPWORDS

# Past participles the passive wordings need that "+ed" gets wrong (the base verbs of the rules).
_IRREGULAR = {"grow": "grown", "sow": "sown", "feed": "fed", "spread": "spread", "breed": "bred", "buy": "bought",
              "sell": "sold", "keep": "kept", "cut": "cut", "prefer": "preferred", "control": "controlled",
              "thin": "thinned", "top": "topped", "plan": "planned"}


def participle(base: str) -> str:
    """The past participle of a base-form verb: "need" → "needed", "apply" → "applied"."""
    base = base.lower()
    if base in _IRREGULAR:
        return _IRREGULAR[base]
    if base.endswith("e"):
        return base + "d"
    if re.search(r"[^aeiou]y$", base):
        return base[:-1] + "ied"
    return base + "ed"


def plural(phrase: str) -> bool:
    """Whether a noun phrase reads as plural ("bee hives", "the greatest losses here"): one of its
    first content words ends in a plural s. A heuristic for "is"/"are", right on the rules' objects."""
    words = [w for w in re.findall(r"[\w'’-]+", phrase)[:4] if w.lower() not in STOPWORDS]
    return any(re.search(r"[^su's]s$", w) for w in words)


def imperative_frequency(action: str, tail: str, lead: str) -> list[str]:
    """After "How often should you <action><tail>?"."""
    front = f"{lead}, how frequently do you need to {action}" if lead else f"How frequently do you need to {action}"
    return [f"At what interval is it recommended to {action}{tail}?", f"{front}?"]


def imperative_time(action: str, tail: str) -> list[str]:
    """After "When should you <action><tail>?"."""
    return [f"At what time of year is it recommended to {action}{tail}?", f"When is the right moment to {action}{tail}?"]


def svo_time(aux: str, subject: str, base: str, rest: str, tail: str) -> list[str]:
    """After "When <aux> <subject> <base> <rest><tail>?"."""
    return [f"At what time of year {aux} {subject} {base} {rest}{tail}?"]


def svo_object(subject: str, base: str, tail: str) -> list[str]:
    """After "What do/does <subject> <base><tail>?": the passive ("What is needed by blueberries?")."""
    return [f"What is {participle(base)} by {subject}{tail}?"]


def svo_subject(obj: str, base: str, who: bool, tail: str) -> list[str]:
    """After "What/Who <verb> <obj><tail>?": the object in front, passive ("Acidic soil is needed
    by what?")."""
    return [f"{obj} {'are' if plural(obj) else 'is'} {participle(base)} by {'whom' if who else 'what'}{tail}?"]


def copula(verb: str, subject: str) -> list[str]:
    """After "What is <subject>?"."""
    return [f"What does the text give as {subject}?", f"Which answer does the document give for {subject}?"]


def copula_where(verb: str, subject: str, part: str) -> list[str]:
    """After "Where is <subject> <part>?"."""
    return [f"In which place {verb} {subject} {part}?"]


__all__ = ["copula", "copula_where", "imperative_frequency", "imperative_time", "participle", "plural", "svo_object",
           "svo_subject", "svo_time"]
