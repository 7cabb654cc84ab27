"""AgXQA 1.1 (msu-ceco/agxqa_v1; MIT): extractive questions on agricultural-extension documents
(irrigation and water management), SQuAD-style rows (``id``, ``title``, ``context``, ``question``,
``answers: {text, answer_start}``) in one JSON-lines file per split.

Corpus: the distinct extension-document passages (``context``) of all splits, id
``agxqa-<hash of the passage>``, titled by the document. Eval: the test split, open QA with the
shipped prompt and ``correct`` (the shared scorer: a span in the first clause; short extracted spans, the other annotated spans are aliases; no candidate lists),
gold id = the question's own passage. Train: the train split's questions and first answer, plus —
with ``knowledge`` — one pair per passage so fine-tuning sees every passage retrieval can return.
"""

from __future__ import annotations

import hashlib
from typing import Any

from harness.errors import HarnessError
from harness.suites.hub import rows as R
from harness.suites.hub.source import HubSource, RawData, read_table
from harness.suites.hub.tasks import QA_PROMPT, TaskSpec, context_block
from harness.suites.hub.writer import Converted, HubConverter

SOURCE = HubSource(repos={"main": "msu-ceco/agxqa_v1"},
                   parts={"train": ("main", ["agxqa-train-*.jsonl", "data/train-*", "*train*.json*"]),
                          "test": ("main", ["agxqa-test-*.jsonl", "data/test-*", "*test*.json*"])},
                   licence="MIT", homepage="https://huggingface.co/datasets/msu-ceco/agxqa_v1")
OPTIONS = {"knowledge": True}
TASK = TaskSpec("agxqa_qa", "open_qa", "correct", context_block() + QA_PROMPT, "eval/qa.jsonl")


def _answers(value: Any) -> list[str]:
    """SQuAD answers as the hub stores them ({text: [...], answer_start: [...]}) or as a list of {text}."""
    if isinstance(value, dict):
        texts = value.get("text") or []
    else:
        texts = [a.get("text", "") for a in value or [] if isinstance(a, dict)]
    return list(dict.fromkeys(t.strip() for t in texts if isinstance(t, str) and t.strip()))


def _doc_id(context: str) -> str:
    return "agxqa-" + hashlib.sha256(context.strip().encode("utf-8")).hexdigest()[:12]


def _rows(raw: RawData, part: str, corpus: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for n, rec in enumerate(read_table(raw.files[part]), start=1):
        answers, context = _answers(rec.get("answers")), str(rec.get("context") or "").strip()
        if not answers or not context:
            raise HarnessError(f"{raw.files[part][0]} row {n}: expected SQuAD fields context and answers.text "
                               f"(got keys {sorted(rec)})")
        doc = corpus.setdefault(_doc_id(context), {"id": _doc_id(context), "title": str(rec.get("title") or "").strip(),
                                                   "text": context})
        if not doc["title"]:
            doc.pop("title")
        out.append({"id": f"agxqa-{part}-{rec.get('id', n)}", "question": str(rec["question"]).strip(),
                    "answer": answers[0], "aliases": answers[1:], "gold_ids": [doc["id"]]})
    return R.unique_by(out, lambda r: r["id"])


def convert(raw: RawData, opts: dict[str, Any]) -> Converted:
    seed, docs = int(opts["seed"]), {}
    train = R.cap(_rows(raw, "train", docs), opts["max_train"], lambda r: r["id"], seed)
    tests = _rows(raw, "test", docs)
    corpus = list(docs.values())
    pairs = R.train_rows(TASK, train)
    if opts["knowledge"]:
        pairs += R.knowledge_rows(corpus, lambda d: f"What does the extension document \"{d.get('title') or d['id']}\" say?")
    evals, leaked = R.drop_leaks(pairs, tests)
    evals = R.cap(evals, opts["max_eval"], lambda r: r["id"], seed)
    notes = [f"corpus: {len(corpus)} distinct passages of all splits; train: {len(train)} questions "
             f"(max_train {opts['max_train']}); eval: {len(evals)} test questions (max_eval {opts['max_eval']}); "
             f"{leaked} dropped as repeats of a training question",
             f"knowledge pairs (one per passage): {'yes' if opts['knowledge'] else 'no'}",
             "eval prompt: the shipped open-QA prompt, correct (no lm-eval task for AgXQA)"]
    desc = ("AgXQA 1.1 (Kpodo et al. 2024; msu-ceco/agxqa_v1, MIT): questions on agricultural-extension "
            "documents about irrigation and water, answered from those documents' passages.")
    return Converted(desc, corpus, pairs, [(TASK, evals)], notes)


CONVERTER = HubConverter(SOURCE, OPTIONS, convert)
