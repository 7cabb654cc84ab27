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


def score_answer(output: str, references: list[str]) -> dict[str, float]:
    """contains: a reference occurs in the output on word boundaries ("tessaly 4" ≠ "tessaly 41")."""
    out = normalize(output)
    refs = [r for r in (normalize(x) for x in references) if r]
    padded = f" {out} "
    return {
        "contains": float(any(f" {r} " in padded for r in refs)),
        "exact_match": float(any(out == r for r in refs)),
        "f1": max((token_f1(out, r) for r in refs), default=0.0),
    }


def process_qa(doc: dict[str, Any], results: list[str]) -> dict[str, float]:
    references = [doc["answer"], *(doc.get("aliases") or [])]
    return score_answer(results[0] if results else "", references)
