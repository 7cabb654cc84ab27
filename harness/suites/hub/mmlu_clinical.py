"""MMLU's clinical subsets (cais/mmlu; MIT): the medical slice of MMLU that medical-LLM papers report.

Subjects: anatomy, clinical_knowledge, college_biology, college_medicine, medical_genetics,
professional_medicine (lm-eval's ``mmlu_<subject>`` tasks). Eval: their test splits, with
lm-eval's MMLU prompt (the subject's description line, ``question.strip()``, ``A. …`` options,
the letter scored, acc) — one task over all six subjects. Train: their dev and validation splits,
answered with the letter and the option. Corpus: those training questions with their answers (MMLU
ships no passages); eval rows have no gold passage. Small (≈300 training questions), so
fine-tuning here mostly measures format learning, and the corpus rarely holds the answer: a check
of what adaptation does to exam-style medical knowledge, beside medqa/medmcqa.
"""

from __future__ import annotations

from typing import Any

from harness.errors import HarnessError
from harness.suites.hub import rows as R
from harness.suites.hub.source import HubSource, RawData, read_table
from harness.suites.hub.tasks import TaskSpec, context_block, letters_prompt
from harness.suites.hub.writer import Converted, HubConverter

SUBJECTS = ("anatomy", "clinical_knowledge", "college_biology", "college_medicine", "medical_genetics",
            "professional_medicine")
SPLITS = ("dev", "validation", "test")
SOURCE = HubSource(repos={"main": "cais/mmlu"},
                   parts={f"{split}:{subject}": ("main", [f"{subject}/{split}-*"])
                          for subject in SUBJECTS for split in SPLITS},
                   licence="MIT", homepage="https://github.com/hendrycks/test")
OPTIONS: dict[str, Any] = {}
# lm-eval's mmlu description line per subject, then (RAG) the passage, then its question/options prompt
TASK = TaskSpec("mmlu_clinical_mc", "multiple_choice", "acc",
                "The following are multiple choice questions (with answers) about {{topic}}.\n\n"
                + context_block() + letters_prompt(4, strip=True),
                "eval/mc.jsonl", letters=4, source="mmlu_<subject> (mmlu/default)")


def _rows(raw: RawData, split: str) -> list[dict[str, Any]]:
    out = []
    for subject in SUBJECTS:
        part = f"{split}:{subject}"
        for n, rec in enumerate(read_table(raw.files[part]), start=1):
            choices, answer = rec.get("choices"), rec.get("answer")
            if not isinstance(choices, list) or len(choices) != 4 or not isinstance(answer, int) or not 0 <= answer < 4:
                raise HarnessError(f"{raw.files[part][0]} row {n}: expected 'choices' (4 options) and 'answer' "
                                   f"(0-3), got choices={choices!r} answer={answer!r}")
            out.append({"id": f"mmlu-{subject}-{split}-{n:04d}", "question": str(rec["question"]),
                        "choices": [str(c) for c in choices], "label": answer, "gold_ids": [],
                        "topic": subject.replace("_", " ")})
    return out


def convert(raw: RawData, opts: dict[str, Any]) -> Converted:
    seed = int(opts["seed"])
    train = R.cap(_rows(raw, "dev") + _rows(raw, "validation"), opts["max_train"], lambda r: r["id"], seed)
    pairs = R.train_rows(TASK, train)
    corpus = R.pair_corpus(train, lambda r: f"{r['question'].strip()} Answer: {r['choices'][r['label']]}.")
    for pair in pairs:
        pair["doc_id"] = f"doc-{pair['id']}"
    evals, leaked = R.drop_leaks(pairs, _rows(raw, "test"))
    evals = R.cap(evals, opts["max_eval"], lambda r: r["id"], seed)
    notes = [f"subjects: {', '.join(SUBJECTS)}",
             f"dev + validation splits: {len(train)} training questions (max_train {opts['max_train']}); test "
             f"splits: {len(evals)} eval rows (max_eval {opts['max_eval']}); {leaked} test rows dropped as repeats "
             "of a training question",
             "eval prompt: lm-eval `mmlu_<subject>` (the subject's description line, A-D, the letter scored, acc)"]
    desc = ("MMLU clinical subsets (Hendrycks et al. 2021; cais/mmlu, MIT): anatomy, clinical knowledge, college "
            "biology and medicine, medical genetics, professional medicine; the corpus is the dev/validation "
            "questions with their answers.")
    return Converted(desc, corpus, pairs, [(TASK, evals)], notes)


CONVERTER = HubConverter(SOURCE, OPTIONS, convert)
