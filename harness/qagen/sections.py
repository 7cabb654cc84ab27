"""Documents → structured sections (heading + whole sentences) for question generation.

Reading is ``harness.suites.ingest``'s (PDF via pypdf, Markdown, text, JSONL rows), so a
folder that ingests as a retrieval corpus generates questions, and one that does not fails
with the same message. On top of the plain text this module recovers structure:

* headings — Markdown ``#`` lines; in PDFs and text files a short title-like line with no
  closing punctuation followed by a capitalised line;
* paragraphs — blank-line separated; hard-wrapped lines (PDF) are rejoined, hyphenated line
  breaks mended; Markdown list items, table rows and emphasis/link markup are flattened;
* sentences — split on ``.!?`` before a capital or digit, except after common abbreviations
  and initials.

Sentences under one heading are packed into sections of at most ``max_words`` words (a
sentence is never cut). A section's id is ``<document id>#<n>``, stable while the document is.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from harness.suites.ingest import MARKDOWN_SUFFIXES

_MD_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+(.+?)\s*#*\s*$")
_FENCE = re.compile(r"^\s{0,3}(```|~~~)")
_LIST_ITEM = re.compile(r"^\s*(?:[-*+]|\d{1,3}[.)])\s+")
_TABLE_RULE = re.compile(r"^\s*\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)*\|?\s*$")
_IMAGE = re.compile(r"!\[[^\]]*\]\([^)]*\)")
_LINK = re.compile(r"\[([^\]]+)\]\([^)]*\)")
_EMPHASIS = re.compile(r"(\*\*|__|\*|`)")
_HTML_TAG = re.compile(r"<[^>]{1,200}>")
_SENTENCE_END = re.compile(r"[.!?][\"')\]]*\s+(?=[\"'(\[]?[A-Z0-9])")
_ABBREVIATIONS = frozenset(
    "e.g i.e etc vs approx fig cf no nos dr mr mrs ms st mt prof inc ltd co jan feb mar apr jun jul aug "
    "sep sept oct nov dec ca al".split()
)


@dataclass(frozen=True)
class Section:
    """A run of whole sentences from one document under one heading."""

    id: str
    doc_id: str
    title: str
    heading: str
    sentences: tuple[str, ...]

    @property
    def text(self) -> str:
        return " ".join(self.sentences)

    @property
    def n_words(self) -> int:
        return len(self.text.split())


def split_sentences(text: str) -> list[str]:
    """Sentences of one paragraph (whitespace already collapsed)."""
    out: list[str] = []
    start = 0
    for match in _SENTENCE_END.finditer(text):
        before = text[start:match.start()].split()
        last = before[-1].lower().rstrip(".") if before else ""
        if last in _ABBREVIATIONS or (len(last) == 1 and last.isalpha()):
            continue
        out.append(text[start:match.end()].strip())
        start = match.end()
    tail = text[start:].strip()
    if tail:
        out.append(tail)
    return [s for s in out if any(c.isalnum() for c in s)]


def _clean_markdown(line: str) -> str:
    line = _IMAGE.sub("", line)
    line = _LINK.sub(r"\1", line)
    line = _HTML_TAG.sub("", line)
    return _EMPHASIS.sub("", line)


def _looks_like_heading(line: str, following: str | None) -> bool:
    """Plain text / PDF: a short title-like line with no closing punctuation, then a capital."""
    words = line.split()
    if not 1 <= len(words) <= 8 or line.rstrip()[-1] in ".!?:;,\"'" or following is None:
        return False
    if not following[:1].isupper() and not following[:1].isdigit():
        return False
    capitals = sum(1 for w in words if w[:1].isupper() or w[:1].isdigit())
    return words[0][:1].isupper() and capitals >= max(1, (len(words) + 1) // 2)


def _joined(lines: list[str]) -> str:
    """A paragraph's lines as one line: "irri-\ngation" mended, other wrapped lines joined by a space."""
    joined = ""
    for part in lines:
        if joined.endswith("-") and part[:1].islower() and joined[-2:-1].isalpha():
            joined = joined[:-1] + part
        else:
            joined = f"{joined} {part}" if joined else part
    return " ".join(joined.split())


def _next_nonblank(lines: list[str]) -> list[str | None]:
    """The next non-blank line (stripped) after each line, None after the last one."""
    following: list[str | None] = [None] * len(lines)
    upcoming: str | None = None
    for i in range(len(lines) - 1, -1, -1):
        following[i] = upcoming
        upcoming = lines[i].strip() or upcoming
    return following


def _blocks(text: str, markdown: bool) -> list[tuple[str, list[str]]]:
    """(heading, paragraphs) in document order; the text before the first heading has heading ''."""
    blocks: list[tuple[str, list[str]]] = [("", [])]
    paragraph: list[str] = []
    in_fence = False
    header: list[str] = []  # the current Markdown table's column names

    def flush() -> None:
        if paragraph:
            blocks[-1][1].append(_joined(paragraph))
            paragraph.clear()

    lines = text.splitlines()
    following = _next_nonblank(lines)
    for i, raw in enumerate(lines):
        line = raw.strip()
        if markdown and _FENCE.match(raw):
            flush()
            in_fence = not in_fence
            continue
        if in_fence:
            continue
        if not line:
            flush()
            continue
        heading = None
        if markdown:
            match = _MD_HEADING.match(raw)
            heading = _clean_markdown(match.group(1)).strip() if match else None
        elif (not paragraph or paragraph[-1][-1:] in ".!?:") and _looks_like_heading(line, following[i]):
            heading = line
        if heading is not None:
            flush()
            blocks.append((heading, []))
            continue
        if markdown:
            if _TABLE_RULE.match(line):
                continue
            if line.startswith("|"):  # a table row → "header: cell; header: cell."
                cells = [_clean_markdown(c.strip()) for c in line.strip("|").split("|")]
                nxt = lines[i + 1] if i + 1 < len(lines) else ""
                flush()
                if _TABLE_RULE.match(nxt):
                    header = cells
                    continue
                named = [f"{h}: {c}" if h else c for h, c in zip(header + [""] * len(cells), cells) if c]
                paragraph.append("; ".join(named) + ".")
                flush()
                continue
            header = []
            if _LIST_ITEM.match(line):  # each item is its own paragraph, hence its own sentence(s)
                flush()
                line = _LIST_ITEM.sub("", line)
            line = _clean_markdown(line)
        paragraph.append(line)
    flush()
    return [(h, paras) for h, paras in blocks if paras]


def _pack(sentences: list[str], max_words: int) -> list[list[str]]:
    groups: list[list[str]] = []
    words = 0
    for sentence in sentences:
        n = len(sentence.split())
        if groups and words + n <= max_words:
            groups[-1].append(sentence)
            words += n
        else:
            groups.append([sentence])
            words = n
    return groups


def _is_markdown(row: dict) -> bool:
    """Markdown files get Markdown parsing; text, PDF and JSONL rows (source ``file:line``) do not."""
    return Path(str(row.get("source", ""))).suffix.lower() in MARKDOWN_SUFFIXES


def document_sections(row: dict, max_words: int = 180, min_words: int = 6) -> tuple[list[Section], int]:
    """Sections of one ingested corpus row, and how many too-short blocks were left out."""
    markdown = _is_markdown(row)
    sections: list[Section] = []
    skipped = 0
    for heading, paragraphs in _blocks(row["text"], markdown):
        sentences = [s for p in paragraphs for s in split_sentences(p)]
        for group in _pack(sentences, max_words):
            if sum(len(s.split()) for s in group) < min_words:
                skipped += 1
                continue
            sections.append(Section(id=f"{row['id']}#{len(sections) + 1}", doc_id=row["id"],
                                    title=row.get("title") or "", heading=heading, sentences=tuple(group)))
    return sections, skipped


def split_corpus(rows: list[dict], max_words: int = 180, min_words: int = 6) -> tuple[list[Section], int]:
    """Sections of every corpus row in order, and the number of too-short blocks skipped."""
    out: list[Section] = []
    skipped = 0
    for row in rows:
        found, short = document_sections(row, max_words, min_words)
        out.extend(found)
        skipped += short
    return out, skipped
