"""Split a document's text into passage spans (character offsets), as configured.

Sizes count whitespace-separated words, not model tokens: the split then needs no model,
is identical for BM25 and every embedder, and cache keys do not depend on a tokenizer.
English averages ~1.3 WordPiece tokens per word, so keep ``size`` <= ~190 for MiniLM's
256-token window (longer passages are silently truncated by the embedder).
"""

from __future__ import annotations

import re

from harness.retrieval.config import ChunkParams

Span = tuple[int, int]  # [start, end) into the document text

_WORD = re.compile(r"\S+")
_PARAGRAPH_BREAK = re.compile(r"\n[ \t\r\f\v]*\n")


def word_spans(text: str, offset: int = 0) -> list[Span]:
    return [(offset + m.start(), offset + m.end()) for m in _WORD.finditer(text)]


def windows(words: list[Span], size: int, overlap: int) -> list[Span]:
    """Windows of ``size`` words, each starting ``size - overlap`` words after the previous;
    the last window ends at the last word (no tail is dropped, none is repeated)."""
    spans: list[Span] = []
    step = size - overlap
    start = 0
    while start < len(words):
        stop = min(start + size, len(words))
        spans.append((words[start][0], words[stop - 1][1]))
        if stop == len(words):
            break
        start += step
    return spans


def paragraphs(text: str) -> list[list[Span]]:
    """Word spans of each blank-line-separated paragraph that has any words."""
    out: list[list[Span]] = []
    begin = 0
    for brk in [*_PARAGRAPH_BREAK.finditer(text), None]:
        end = brk.start() if brk else len(text)
        words = word_spans(text[begin:end], begin)
        if words:
            out.append(words)
        if brk:
            begin = brk.end()
    return out


def pack_paragraphs(paras: list[list[Span]], size: int, overlap: int) -> list[Span]:
    """Whole consecutive paragraphs up to ``size`` words per chunk; a paragraph longer than
    ``size`` is cut into overlapping windows of its own. Overlap applies only to those cuts:
    paragraph boundaries are natural breaks that need none."""
    spans: list[Span] = []
    group: list[Span] = []  # words of the paragraphs being packed
    for words in paras:
        if group and len(group) + len(words) > size:
            spans.append((group[0][0], group[-1][1]))
            group = []
        if len(words) > size:
            spans.extend(windows(words, size, overlap))
        else:
            group.extend(words)
    if group:
        spans.append((group[0][0], group[-1][1]))
    return spans


def chunk_spans(text: str, params: ChunkParams) -> list[Span]:
    """Spans covering ``text`` per ``params``; at least one, even for a text without words."""
    if params.mode == "none":
        return [(0, len(text))]
    if params.mode == "tokens":
        spans = windows(word_spans(text), params.size, params.overlap)
    elif params.mode == "paragraph":
        spans = pack_paragraphs(paragraphs(text), params.size, params.overlap)
    else:
        raise ValueError(f"unknown chunking mode {params.mode!r}")
    return spans or [(0, len(text))]
