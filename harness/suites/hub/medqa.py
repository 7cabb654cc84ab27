"""MedQA-USMLE, 4 options (GBaker/MedQA-USMLE-4-options-hf; MIT as the MedQA release): USMLE-style
vignettes. The hub copy ships no textbook corpus, so the corpus is the training vignettes with
their correct answers: retrieval finds solved similar cases, fine-tuning trains on the same
cases (eval rows have no gold passage). Eval: the test split with lm-eval's ``medqa_4options``
prompt (``Question: …\\nA. …\\nD. …\\nAnswer:``, letters scored, acc).
"""

from __future__ import annotations

from typing import Any

from harness.errors import HarnessError
from harness.suites.hub import rows as R
from harness.suites.hub.source import HubSource, RawData, read_table
from harness.suites.hub.tasks import TaskSpec, context_block, letters_prompt
from harness.suites.hub.writer import Converted, HubConverter

SOURCE = HubSource(repos={"main": "GBaker/MedQA-USMLE-4-options-hf"},
                   parts={"train": ("main", ["data/train-*", "train.*", "*train*"]),
                          "test": ("main", ["data/test-*", "test.*", "*test*"])},
                   licence="MIT (MedQA, Jin et al. 2021)", homepage="https://github.com/jind11/MedQA")
OPTIONS: dict[str, Any] = {}
TASK = TaskSpec("medqa_mc", "multiple_choice", "acc", context_block() + letters_prompt(4), "eval/mc.jsonl",
                letters=4, source="medqa_4options")


def _rows(raw: RawData, part: str) -> list[dict[str, Any]]:
    out = []
    for n, rec in enumerate(read_table(raw.files[part]), start=1):
        label = rec.get("label")
        if not isinstance(label, int) or not 0 <= label < 4:
            raise HarnessError(f"{raw.files[part][0]} row {n}: label {label!r} is not 0-3 "
                               "(expected the SWAG-style columns sent1, ending0-3, label)")
        question = " ".join(str(rec.get(k) or "").strip() for k in ("sent1", "sent2")).strip()
        out.append({"id": f"medqa-{part}-{rec.get('id', n)}", "question": question,
                    "choices": [str(rec[f"ending{i}"]).strip() for i in range(4)], "label": label, "gold_ids": []})
    return R.unique_by(out, lambda r: r["id"])


def convert(raw: RawData, opts: dict[str, Any]) -> Converted:
    seed = int(opts["seed"])
    train = R.cap(_rows(raw, "train"), opts["max_train"], lambda r: r["id"], seed)
    pairs = R.train_rows(TASK, train)
    corpus = R.pair_corpus(train, lambda r: f"{r['question']} Answer: {r['choices'][r['label']]}")
    for pair in pairs:
        pair["doc_id"] = f"doc-{pair['id']}"
    evals, leaked = R.drop_leaks(pairs, _rows(raw, "test"))
    evals = R.cap(evals, opts["max_eval"], lambda r: r["id"], seed)
    notes = [f"train split: {len(train)} vignettes (max_train {opts['max_train']}); test split: {len(evals)} eval "
             f"rows (max_eval {opts['max_eval']}); {leaked} test rows dropped as repeats of a training question",
             "corpus = the training vignettes with their correct answers (the hub copy has no textbooks); "
             "eval rows have no gold passage",
             "eval prompt: lm-eval `medqa_4options` (options listed A-D, the letter scored, acc)"]
    desc = ("MedQA-USMLE 4-options (Jin et al. 2021; GBaker/MedQA-USMLE-4-options-hf): USMLE-style clinical "
            "vignettes; the corpus is the training vignettes with their answers.")
    return Converted(desc, corpus, pairs, [(TASK, evals)], notes)


CONVERTER = HubConverter(SOURCE, OPTIONS, convert)
