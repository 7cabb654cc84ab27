"""Reading scores out of a judge's reply: tolerant of form, strict about values.

The rubric asks for ``{"correctness": N, "succinctness": N}``. Models answer with that, or
with code fences, single quotes, prose around it, ``Correctness: 4/5``, ``**Succinctness** - 3``
and the like; all of those parse. What does not parse is *refused* with a reason — never
read as a low score: a missing criterion, a value outside the scale (no clamping: a 7 on a
1–5 scale means the judge did not follow the rubric), a score out of another total (8/10),
or an echo of the rubric itself (``5 = fully correct`` lines and ``1-5`` ranges are skipped).
A JSON object wins over key: value text; among several matches the last one counts (models
that think aloud give their verdict last).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from harness.scoring.judge.config import CRITERIA

ALIASES = {
    "correctness": "correctness", "correct": "correctness", "accuracy": "correctness", "accurate": "correctness",
    "succinctness": "succinctness", "succinct": "succinctness", "conciseness": "succinctness",
    "concise": "succinctness", "brevity": "succinctness",
}
WORDS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10}
_NUMBER = r"\d+(?:\.\d+)?|" + "|".join(WORDS)
_VALUE = re.compile(rf"^\s*(?P<value>{_NUMBER})\s*(?:(?:/|out\s+of)\s*(?P<den>\d+))?\s*$", re.IGNORECASE)
# a number word only where it ends the phrase ("is four." but not "is one of the criteria")
_LOOSE_NUMBER = r"\d+(?:\.\d+)?|(?:" + "|".join(WORDS) + r")(?=[ \t]*(?:[.,;!/)\n]|$|out\b))"
_KEY_VALUE = re.compile(
    r"\b(?P<key>" + "|".join(sorted(ALIASES, key=len, reverse=True)) + r")\b[*_\"']*"
    r"(?:[ \t]*(?:score|rating))?"
    r"(?:[ \t]*\([^)\n]{0,20}\))?"  # "(1-5)"
    r"[ \t]*[*_\"']*[ \t]*(?:(?:[:=\-–—]|\bis\b)[ \t]*(?:\n[ \t]*)?)?[*_\"']*[ \t]*"
    rf"(?P<value>{_LOOSE_NUMBER})\b"
    r"(?![ \t]*(?:=|[-–][ \t]*\d))"  # a rubric line ("5 = fully correct") or a range ("1-5")
    r"(?:[ \t]*(?:/|out[ \t]+of)[ \t]*(?P<den>\d+))?",
    re.IGNORECASE,
)
_OBJECT = re.compile(r"\{[^{}]*\}")


@dataclass(frozen=True)
class Judgment:
    """Scores on the rubric's scale, or ``reason`` saying why the reply could not be read."""

    correctness: float | None
    succinctness: float | None
    reason: str = ""

    @property
    def ok(self) -> bool:
        return not self.reason


def _criterion(key: Any) -> str | None:
    word = re.sub(r"[^a-z]", "", str(key).lower())
    for suffix in ("score", "rating"):
        if word.endswith(suffix) and word != suffix:
            word = word[: -len(suffix)]
    return ALIASES.get(word)


def _number(text: str) -> float:
    return float(WORDS.get(text.lower(), text))


def _value(raw: Any) -> tuple[float, int | None] | None:
    """(value, denominator if written as N/D) of a JSON value, or None."""
    if isinstance(raw, bool):
        return None
    if isinstance(raw, (int, float)):
        return float(raw), None
    found = _VALUE.match(str(raw))
    if not found:
        return None
    return _number(found["value"]), int(found["den"]) if found["den"] else None


def _json_objects(text: str) -> list[dict[str, Any]]:
    out = []
    for match in _OBJECT.finditer(text):
        chunk = match.group(0)
        for attempt in (chunk, re.sub(r",\s*}", "}", chunk.replace("'", '"'))):
            try:
                obj = json.loads(attempt)
            except ValueError:
                continue
            if isinstance(obj, dict):
                out.append(obj)
            break
    return out


def _found(text: str) -> dict[str, tuple[float, int | None]]:
    """criterion -> (value, denominator) as written, JSON first, then key: value text."""
    got: dict[str, tuple[float, int | None]] = {}
    for obj in _json_objects(text):
        for key, raw in obj.items():
            name, value = _criterion(key), _value(raw)
            if name and value is not None:
                got[name] = value  # a later object overrides an earlier one
    from_json = set(got)
    for match in _KEY_VALUE.finditer(text):
        name = ALIASES[match["key"].lower()]
        if name not in from_json:
            got[name] = (_number(match["value"]), int(match["den"]) if match["den"] else None)
    return got


def parse_judgment(text: Any, scale: tuple[int, int] = (1, 5)) -> Judgment:
    """The rubric scores in a judge's reply, or a Judgment with ``reason`` set (never a zero)."""
    text = str(text or "")
    if not text.strip():
        return Judgment(None, None, "empty reply")
    low, high = scale
    got = _found(text)
    values: dict[str, float | None] = {}
    problems = []
    for name in CRITERIA:
        if name not in got:
            values[name] = None
            problems.append(f"no {name} score")
            continue
        value, den = got[name]
        values[name] = None
        if den is not None and den != high:
            problems.append(f"{name} given as {value:g}/{den}, expected a score on {low}–{high}")
        elif not low <= value <= high:
            problems.append(f"{name} {value:g} is outside {low}–{high}")
        else:
            values[name] = value
    if problems:
        return Judgment(None, None, "; ".join(problems))
    return Judgment(values["correctness"], values["succinctness"])
