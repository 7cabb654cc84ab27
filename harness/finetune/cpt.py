"""Continued pre-training data: the suite's corpus as token chunks of plain text.

Why this shape: "just train it on our documents" is the first thing teams try (Ovadia et al.'s
unsupervised fine-tuning). The documents are tokenized without any chat template, joined by the
end-of-text token and cut into ``max_length``-token windows, so every token of the corpus is
trained on exactly once per epoch and no window carries padding. ``augment: reorder`` adds
copies of each document with its sentences in seeded other orders: the facts stay, the
positions and neighbours of each statement change (an offline stand-in for the model-written
paraphrases knowledge-injection studies use; the card says which was used).
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from typing import Any

from harness import cache
from harness.finetune.arm_settings import CptSettings
from harness.qagen.sections import split_sentences


def corpus_texts(corpus: Sequence[Mapping[str, Any]], settings: CptSettings) -> list[str]:
    """Each document's title and text, plus its reordered copies when ``augment`` asks."""
    texts = []
    for doc in corpus:
        title, body = str(doc.get("title") or "").strip(), str(doc.get("text") or "").strip()
        texts.append(f"{title}\n\n{body}" if title else body)
        if settings.augment == "reorder":
            texts += [f"{title}\n\n{text}" if title else text for text in _reordered(body, settings, str(doc.get("id")))]
    return [t for t in texts if t.strip()]


def _reordered(body: str, settings: CptSettings, doc_id: str) -> list[str]:
    """``augment_n`` sentence orders of ``body`` different from the original (fewer if it has too
    few sentences to give that many)."""
    sentences = split_sentences(body)
    rng = random.Random(f"cpt-reorder:{settings.seed}:{doc_id}")
    seen = {tuple(sentences)}
    out = []
    for _ in range(settings.augment_n * 10):
        if len(out) == settings.augment_n:
            break
        order = sentences[:]
        rng.shuffle(order)
        if tuple(order) not in seen:
            seen.add(tuple(order))
            out.append(" ".join(order))
    return out


def token_chunks(tokenizer: Any, texts: Sequence[str], max_length: int) -> list[list[int]]:
    """The texts tokenized (no special tokens but one end-of-text between documents), joined and
    cut into windows of ``max_length`` tokens; the last window keeps what is left."""
    eos = tokenizer.eos_token_id
    stream: list[int] = []
    for text in texts:
        stream += tokenizer(text, add_special_tokens=False)["input_ids"]
        if eos is not None:
            stream.append(int(eos))
    return [stream[i:i + max_length] for i in range(0, len(stream), max_length) if stream[i:i + max_length]]


def cpt_chunks(corpus: Sequence[Mapping[str, Any]], settings: CptSettings, tokenizer: Any) -> tuple[list[list[int]], str]:
    """The training chunks and their hash (the adapter's data identity)."""
    chunks = token_chunks(tokenizer, corpus_texts(corpus, settings), settings.max_length)
    return chunks, cache.hash_json({"cpt": settings.to_dict(), "chunks": chunks})
