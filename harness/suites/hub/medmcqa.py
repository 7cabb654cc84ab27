"""MedMCQA (openlifescienceai/medmcqa; Apache-2.0): Indian medical entrance exam questions.

Eval: the validation split (the test split has no answers), as lm-eval's ``medmcqa`` does, with its
prompt (``Question: …\\nChoices:\\nA. …\\nAnswer:``, letters scored, acc). Train: the train split,
answered with the letter, the option and the dataset's explanation (``exp``). Corpus: those
training questions with answer and explanation — the knowledge fine-tuning gets; eval rows have no
gold passage.
"""

from __future__ import annotations

from typing import Any

from harness.errors import HarnessError
from harness.suites.hub import rows as R
from harness.suites.hub.source import HubSource, RawData, read_table
from harness.suites.hub.tasks import TaskSpec, context_block, letters_prompt
from harness.suites.hub.writer import Converted, HubConverter

SOURCE = HubSource(repos={"main": "openlifescienceai/medmcqa"},
                   parts={"train": ("main", ["data/train-*", "train.*"]),
                          "validation": ("main", ["data/validation-*", "dev.*", "validation.*"])},
                   licence="Apache-2.0", homepage="https://medmcqa.github.io/")
OPTIONS = {"explanation_chars": 600}
TASK = TaskSpec("medmcqa_mc", "multiple_choice", "acc", context_block() + letters_prompt(4, choices_line=True),
                "eval/mc.jsonl", letters=4, source="medmcqa")


def _rows(raw: RawData, part: str) -> list[dict[str, Any]]:
    out = []
    for n, rec in enumerate(read_table(raw.files[part]), start=1):
        cop = rec.get("cop")
        if not isinstance(cop, int) or not 0 <= cop < 4:
            raise HarnessError(f"{raw.files[part][0]} row {n}: cop {cop!r} is not 0-3 (the correct option index; "
                               "the test split has none — use train and validation)")
        out.append({"id": f"medmcqa-{rec['id']}", "question": str(rec["question"]).strip(),
                    "choices": [str(rec[k] or "").strip() for k in ("opa", "opb", "opc", "opd")], "label": cop,
                    "gold_ids": [], "exp": str(rec.get("exp") or "").strip(),
                    "subject": str(rec.get("subject_name") or "")})
    return R.unique_by(out, lambda r: r["id"])


def convert(raw: RawData, opts: dict[str, Any]) -> Converted:
    seed, limit = int(opts["seed"]), int(opts["explanation_chars"])
    train = R.cap(_rows(raw, "train"), opts["max_train"], lambda r: r["id"], seed)
    pairs = R.train_rows(TASK, train, explain=lambda r: R.shorten(r["exp"], limit, " …"))
    corpus = R.pair_corpus(train, lambda r: " ".join(
        x for x in (r["question"], f"Answer: {r['choices'][r['label']]}.", R.shorten(r["exp"], limit, " …")) if x))
    for pair in pairs:
        pair["doc_id"] = f"doc-{pair['id']}"
    evals, leaked = R.drop_leaks(pairs, _rows(raw, "validation"))
    evals = R.cap(evals, opts["max_eval"], lambda r: r["id"], seed)
    evals = [{k: v for k, v in r.items() if k != "exp"} for r in evals]
    notes = [f"train split: {len(train)} questions (max_train {opts['max_train']}); validation split: {len(evals)} "
             f"eval rows (max_eval {opts['max_eval']}); {leaked} validation rows dropped as repeats of a training "
             "question (MedMCQA repeats many)",
             f"training answers and corpus documents carry the explanation (exp), cut to {limit} characters",
             "eval prompt: lm-eval `medmcqa` (Choices: A-D, the letter scored, acc)"]
    desc = ("MedMCQA (Pal et al. 2022; openlifescienceai/medmcqa, Apache-2.0): medical entrance exam questions; "
            "the corpus is the training questions with answers and explanations.")
    return Converted(desc, corpus, pairs, [(TASK, evals)], notes)


CONVERTER = HubConverter(SOURCE, OPTIONS, convert)
