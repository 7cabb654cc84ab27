"""LLM question generation: a prompt per section, a chat backend, ``parse_pairs`` on the output.

The chat clients (an in-process transformers model, an OpenAI-compatible endpoint) are
:mod:`harness.models.chat`'s, shared with the LLM judge; ``generator.backend`` picks one.
A reply that does not parse is counted (``Generated.unparsable``), never fatal.

The prompt asks for ``generator.phrasings`` wordings of every question (``{phrasings}``), for the
paraphrase split to train on some and hold one out. Wordings of one reply with matching answers
are tied to the source sentence of the first of them, so they form one fact whatever words each
wording shares with the text.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import Any

from harness.errors import HarnessError
from harness.models.chat import ChatBackend, Conversation, backend_from_config
from harness.qagen.generators import Generated, QAPair, check_phrasings, parse_pairs, source_sentence
from harness.qagen.lexical import same_answer
from harness.qagen.sections import Section

log = logging.getLogger(__name__)


def from_config(cfg: Mapping[str, Any], prompt: Mapping[str, Any]) -> LLMGenerator:
    """``generator.kind: llm``: the chat backend ``generator.backend`` names, prompted per section."""
    return LLMGenerator(backend_from_config(cfg), prompt, int(cfg.get("questions_per_section", 3)),
                        int(cfg.get("batch_size", 4)), cfg.get("phrasings", 3))


class LLMGenerator:
    """Prompts a chat backend once per section and parses the questions out of each reply."""

    def __init__(self, backend: ChatBackend, prompt: Mapping[str, Any], per_section: int = 3, batch_size: int = 4,
                 phrasings: int = 3):
        self.backend = backend
        self.name = f"llm[{backend.name}]"
        self.system = str(prompt.get("system") or "")
        self.user = str(prompt.get("user") or "")
        self.per_section = max(1, per_section)
        self.batch_size = max(1, batch_size)
        self.phrasings = check_phrasings(phrasings)
        try:
            self.user.format(text="", title="", heading="", n=1, phrasings=1)
            self.system.format(text="", title="", heading="", n=1, phrasings=1)
        except (KeyError, IndexError, ValueError) as err:
            raise HarnessError(f"prompt.user/prompt.system: bad placeholder {err}; available: {{text}}, {{title}}, "
                               f"{{heading}}, {{n}}, {{phrasings}} (write literal braces as {{{{ }}}})") from err
        if "{text}" not in self.user:
            raise HarnessError("prompt.user must contain {text}, where the section goes")

    def messages(self, section: Section) -> Conversation:
        fields = {"text": section.text, "title": section.title, "heading": section.heading or section.title,
                  "n": self.per_section, "phrasings": self.phrasings}
        out = [{"role": "system", "content": self.system.format(**fields)}] if self.system else []
        return [*out, {"role": "user", "content": self.user.format(**fields)}]

    @staticmethod
    def located(section: Section, pairs: list[tuple[str, str]]) -> list[QAPair]:
        """The parsed pairs of one reply with their source sentence; a pair whose answer matches an
        earlier pair's is another wording of it and gets that pair's sentence."""
        out: list[QAPair] = []
        for question, answer in pairs:
            earlier = next((p.sentence for p in out if same_answer(p.answer, answer)), None)
            sentence = source_sentence(section, question, answer) if earlier is None else earlier
            out.append(QAPair(question, answer, section.id, sentence, "llm"))
        return out

    def generate(self, sections: list[Section]) -> Generated:
        result = Generated()
        started = time.perf_counter()
        for first in range(0, len(sections), self.batch_size):
            batch = sections[first:first + self.batch_size]
            replies = self.backend.chat([self.messages(s) for s in batch])
            for section, reply in zip(batch, replies):
                result.outputs += 1
                pairs = parse_pairs(reply)
                if not pairs:
                    result.add_unparsable(reply)
                    continue
                result.pairs.extend(self.located(section, pairs[: 2 * self.per_section * self.phrasings]))
            done = first + len(batch)
            log.info("generated questions for %d/%d sections (%.1fs)", done, len(sections),
                     time.perf_counter() - started)
        return result
