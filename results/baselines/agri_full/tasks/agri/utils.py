"""lm-eval hooks for the agri tasks: dataset loaders and the open-QA scorer.

Self-contained (stdlib + datasets) so that plain ``lm_eval --include_path tasks/`` runs these
tasks with no harness installed. ``normalize`` mirrors ``harness.suites.text.normalize_text``;
a test keeps the two in step.
"""

from __future__ import annotations

import json
import re
import string
import unicodedata
from collections import Counter
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
_PUNCT = re.compile("[" + re.escape(string.punctuation) + "\u2010-\u2015\u2018-\u201f\u2026]")
_ARTICLES = re.compile(r"\b(a|an|the)\b")


def _load(data_file: str | None, default: Path) -> Any:
    """``DatasetDict({"test": ...})`` from a JSON-lines file.

    lm-eval calls ``custom_dataset(**metadata, **dataset_kwargs)``: a derived (RAG) task passes
    ``dataset_kwargs: {data_file: /abs/path.jsonl}``; other keyword arguments are ignored.
    Relative paths resolve against the working directory, so prefer absolute ones.
    """
    import datasets

    path = Path(data_file).expanduser() if data_file else default
    if not path.is_file():
        raise FileNotFoundError(f"agri task data not found: {path} (pass an absolute data_file)")
    with path.open(encoding="utf-8") as handle:
        rows = [json.loads(line) for line in handle if line.strip()]
    for row in rows:
        row.setdefault("context", "")
    return datasets.DatasetDict({"test": datasets.Dataset.from_list(rows)})


def load_qa(data_file: str | None = None, **kwargs: Any) -> Any:
    return _load(data_file, HERE / "eval" / "qa.jsonl")


def load_mc(data_file: str | None = None, **kwargs: Any) -> Any:
    return _load(data_file, HERE / "eval" / "mc.jsonl")


def normalize(text: str) -> str:
    """Lowercase, punctuation → space, drop articles, collapse whitespace."""
    text = unicodedata.normalize("NFKC", text).lower()
    text = _PUNCT.sub(" ", text)
    text = _ARTICLES.sub(" ", text)
    return " ".join(text.split())


def token_f1(prediction: str, reference: str) -> float:
    """SQuAD-style token F1 between two normalised strings."""
    pred, ref = prediction.split(), reference.split()
    if not pred or not ref:
        return float(pred == ref)
    common = sum((Counter(pred) & Counter(ref)).values())
    if common == 0:
        return 0.0
    precision, recall = common / len(pred), common / len(ref)
    return 2 * precision * recall / (precision + recall)


_CLAUSE_END = re.compile(r"(?<=[.!?;])\s+|\n")


def first_clause(text: str) -> str:
    """The answer proper: the output up to its first sentence end (". ", "!", "?", ";" or a
    newline). Judging this part only means a correct value buried after a wrong one, or copied
    along with a passage, is not credited."""
    return _CLAUSE_END.split(text.strip(), maxsplit=1)[0] if text.strip() else ""


def _occurs(phrase: str, text: str) -> bool:
    return bool(phrase) and f" {phrase} " in f" {text} "


def _without(text: str, phrases: list[str]) -> str:
    """``text`` with every word-bounded occurrence of ``phrases`` blanked out."""
    padded = f" {text} "
    for phrase in sorted(phrases, key=len, reverse=True):
        while f" {phrase} " in padded:
            padded = padded.replace(f" {phrase} ", " | ")
    return padded


def asserted_candidates(output: str, refs: list[str], candidates: list[str], question: str = "") -> list[str]:
    """The other candidate values of the asked attribute that the (normalised) output states.

    A candidate inside a reference (a shorter name within the gold one) only counts outside the
    gold mentions; a candidate the question itself names (the person asked about, in a
    "who was X's mentor" question) never counts."""
    blanked = _without(output, refs)
    found = []
    for cand in dict.fromkeys(candidates):
        if not cand or cand in refs or _occurs(cand, question):
            continue
        inside_ref = any(_occurs(cand, r) for r in refs)
        if (f" {cand} " in blanked) if inside_ref else _occurs(cand, output):
            found.append(cand)
    return found


def score_answer(output: str, references: list[str], candidates: list[str] | None = None,
                 question: str = "") -> dict[str, float]:
    """Open-answer scores; ``correct`` is the primary one.

    - ``correct``: a reference occurs (on word boundaries) in the answer's first clause and the
      whole output asserts no other candidate value of the asked attribute, so a hedged list of
      every regional value, or a copied passage naming other values, scores 0;
    - ``contains``: a reference occurs anywhere (the lenient scorer of earlier versions, kept
      for comparison: listing every candidate scores 1 on it);
    - ``exact_match`` (whole output) and SQuAD token ``f1``.
    """
    out = normalize(output)
    refs = [r for r in (normalize(x) for x in references) if r]
    cands = [c for c in (normalize(x) for x in candidates or []) if c]
    head = normalize(first_clause(output))
    hedged = asserted_candidates(out, refs, cands, normalize(question))
    return {
        "correct": float(any(_occurs(r, head) for r in refs) and not hedged),
        "contains": float(any(_occurs(r, out) for r in refs)),
        "exact_match": float(any(out == r for r in refs)),
        "f1": max((token_f1(out, r) for r in refs), default=0.0),
    }


def process_qa(doc: dict[str, Any], results: list[str]) -> dict[str, float]:
    references = [doc["answer"], *(doc.get("aliases") or [])]
    return score_answer(results[0] if results else "", references, doc.get("candidates") or [],
                        doc.get("question") or "")
