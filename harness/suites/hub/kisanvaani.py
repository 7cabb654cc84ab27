"""KisanVaani agriculture QA, English (KisanVaani/agriculture-qa-english-only; Apache-2.0): farmers'
questions with short advisory answers (columns ``question``, ``answers``; one train split).

No corpus ships. Decision: the corpus is the training pairs themselves (title the question, text
the answer), so RAG retrieves answered questions and fine-tuning trains on the same pairs — equal
knowledge for both arms. Rows are split by a hash of the question (``eval_fraction``); an eval
row's gold ids are the training pairs with the same answer (normalised), when there are any.
Answers are sentences, so the primary metric is token F1 (``contains`` is reported too).
"""

from __future__ import annotations

from typing import Any

from harness.errors import HarnessError
from harness.suites.hub import rows as R
from harness.suites.hub.source import HubSource, RawData, read_table
from harness.suites.hub.tasks import QA_PROMPT, TaskSpec, context_block
from harness.suites.hub.writer import Converted, HubConverter
from harness.suites.text import normalize_text

SOURCE = HubSource(repos={"main": "KisanVaani/agriculture-qa-english-only"},
                   parts={"train": ("main", ["data/train-*", "train.*"])},
                   licence="Apache-2.0", homepage="https://huggingface.co/datasets/KisanVaani/agriculture-qa-english-only")
OPTIONS = {"eval_fraction": 0.1}
TASK = TaskSpec("kisanvaani_qa", "open_qa", "f1", context_block() + QA_PROMPT, "eval/qa.jsonl", max_gen_toks=64)


def convert(raw: RawData, opts: dict[str, Any]) -> Converted:
    seed, items = int(opts["seed"]), []
    for n, rec in enumerate(read_table(raw.files["train"]), start=1):
        question, answer = str(rec.get("question") or "").strip(), str(rec.get("answers") or "").strip()
        if "question" not in rec or "answers" not in rec:
            raise HarnessError(f"{raw.files['train'][0]} row {n}: expected columns question and answers "
                               f"(got {sorted(rec)})")
        if question and answer:
            items.append({"id": f"kisan-{n:05d}", "question": question, "answer": answer, "aliases": [],
                          "gold_ids": []})
    items = R.unique_by(items, lambda r: normalize_text(r["question"]))
    train, evals = R.hash_split(items, lambda r: normalize_text(r["question"]), float(opts["eval_fraction"]), seed)
    train = R.cap(train, opts["max_train"], lambda r: r["id"], seed)
    pairs = R.train_rows(TASK, train)
    corpus = R.pair_corpus(train, lambda r: r["answer"])
    by_answer: dict[str, list[str]] = {}
    for pair in pairs:
        pair["doc_id"] = f"doc-{pair['id']}"
        by_answer.setdefault(normalize_text(pair["answer"]), []).append(pair["doc_id"])
    evals = R.cap(evals, opts["max_eval"], lambda r: r["id"], seed)
    evals = [dict(r, gold_ids=by_answer.get(normalize_text(r["answer"]), [])) for r in evals]
    notes = [f"{len(items)} distinct questions split by hash of the question: {len(pairs)} train, {len(evals)} eval "
             f"(eval_fraction {opts['eval_fraction']}, seed {seed}); "
             f"{sum(bool(r['gold_ids']) for r in evals)} eval rows have a training pair with the same answer (gold)",
             "corpus = the training pairs (no corpus ships with the dataset); primary metric token F1",
             "eval prompt: the shipped open-QA prompt (no lm-eval task for KisanVaani)"]
    desc = ("KisanVaani agriculture QA (KisanVaani/agriculture-qa-english-only, Apache-2.0): farmers' questions "
            "with advisory answers; the corpus is the training pairs.")
    return Converted(desc, corpus, pairs, [(TASK, evals)], notes)


CONVERTER = HubConverter(SOURCE, OPTIONS, convert)
