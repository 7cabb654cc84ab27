"""PubMedQA (qiaojin/PubMedQA, config pqa_labeled; MIT): yes/no/maybe research questions.

Corpus: every labelled abstract without its conclusion (``context.contexts``, with the section
labels), id ``pubmed-<pubid>``. The 1,000 labelled rows are split by a hash of the PubMed id
(``eval_fraction``; the official 500-question test list is not part of the hub copy). Eval:
lm-eval's ``pubmedqa`` prompt and choices (``Abstract: …\\nQuestion: …\\nAnswer:`` over
yes/no/maybe, acc), with the retrieved abstracts as the Abstract. Train: the other rows' questions
answered with the decision and the long answer (the abstract's conclusion), plus — with
``knowledge`` — one pair per abstract, so fine-tuning sees the abstracts retrieval draws on.
"""

from __future__ import annotations

from typing import Any

from harness.errors import HarnessError
from harness.suites.hub import rows as R
from harness.suites.hub.source import HubSource, RawData, read_table
from harness.suites.hub.tasks import QA_PROMPT, TaskSpec, context_block
from harness.suites.hub.writer import Converted, HubConverter

SOURCE = HubSource(repos={"main": "qiaojin/PubMedQA"},
                   parts={"labeled": ("main", ["pqa_labeled/train-*", "pqa_labeled/*.parquet"])},
                   licence="MIT", homepage="https://pubmedqa.github.io/")
OPTIONS = {"eval_fraction": 0.5, "knowledge": True}
CHOICES = ["yes", "no", "maybe"]
TASK = TaskSpec("pubmedqa_mc", "multiple_choice", "acc", context_block("Abstract:") + QA_PROMPT, "eval/mc.jsonl",
                source="pubmedqa")


def _abstract(context: dict[str, Any]) -> str:
    texts, labels = list(context.get("contexts") or []), list(context.get("labels") or [])
    parts = [f"{lab.title()}: {txt}" if i < len(labels) and lab else txt
             for i, (txt, lab) in enumerate(zip(texts, labels + [""] * len(texts)))]
    return " ".join(p.strip() for p in parts if p.strip())


def convert(raw: RawData, opts: dict[str, Any]) -> Converted:
    corpus, items = [], []
    for n, rec in enumerate(read_table(raw.files["labeled"]), start=1):
        decision = str(rec.get("final_decision", "")).strip().lower()
        if decision not in CHOICES:
            raise HarnessError(f"{raw.files['labeled'][0]} row {n}: final_decision {decision!r} is not one of "
                               f"{', '.join(CHOICES)} (is this the pqa_labeled config?)")
        doc_id = f"pubmed-{rec['pubid']}"
        corpus.append({"id": doc_id, "text": _abstract(rec.get("context") or {})})
        items.append({"id": f"pubmedqa-{rec['pubid']}", "question": str(rec["question"]).strip(),
                      "choices": CHOICES, "label": CHOICES.index(decision), "gold_ids": [doc_id],
                      "long_answer": str(rec.get("long_answer") or "").strip()})
    corpus, items = R.unique_by(corpus, lambda d: d["id"]), R.unique_by(items, lambda r: r["id"])
    train, evals = R.hash_split(items, lambda r: r["id"], float(opts["eval_fraction"]), int(opts["seed"]))
    train = R.cap(train, opts["max_train"], lambda r: r["id"], int(opts["seed"]))
    pairs = R.train_rows(TASK, train, explain=lambda r: r["long_answer"])
    if opts["knowledge"]:
        asked = {r["gold_ids"][0]: r["question"] for r in items}
        pairs += R.knowledge_rows(corpus, lambda d: f"What did the study \"{asked[d['id']]}\" report?")
    evals, leaked = R.drop_leaks(pairs, evals)
    evals = R.cap(evals, opts["max_eval"], lambda r: r["id"], int(opts["seed"]))
    notes = [f"{len(items)} labelled questions split by hash of the PubMed id: {len(train)} train, {len(evals)} eval "
             f"(eval_fraction {opts['eval_fraction']}, seed {opts['seed']}); {leaked} eval rows dropped as repeats "
             "of a training question",
             "eval prompt and choices: lm-eval `pubmedqa` (Abstract / Question / Answer, yes-no-maybe, acc); "
             "closed book drops the Abstract",
             f"knowledge pairs (one per abstract): {'yes' if opts['knowledge'] else 'no'}"]
    desc = ("PubMedQA (Jin et al. 2019; qiaojin/PubMedQA pqa_labeled, MIT): answer biomedical research questions "
            "yes/no/maybe; the corpus is the labelled abstracts without their conclusions.")
    return Converted(desc, corpus, pairs, [(TASK, [{k: v for k, v in r.items() if k != "long_answer"} for r in evals])],
                     notes)


CONVERTER = HubConverter(SOURCE, OPTIONS, convert)
