"""Financial PhraseBank v1.0 (takala/financial_phrasebank; Malo et al. 2014). Licence: CC BY-NC-SA
3.0 — non-commercial use only; results and converted copies inherit that.

Sentiment of financial-news sentences from an investor's view (negative / neutral / positive, the
hub copy's label order), scored like the finance suite's classification task (the label set as
choices, macro-F1 primary, acc). The release is one file per annotator-agreement level
(``Sentences_AllAgree.txt`` …, lines ``sentence@label``, Latin-1) inside
``FinancialPhraseBank-v1.0.zip``; the hub repository keeps that zip under ``data/`` (its loading
script no longer runs in ``datasets``, so the harness reads the zip itself). One split only: rows
are split by a hash of the sentence (``eval_fraction``). No corpus ships: the corpus is the
training sentences with their labels, so retrieval shows labelled neighbours and fine-tuning
trains on the same ones; eval rows have no gold passage.
"""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any

from harness.errors import HarnessError
from harness.suites.hub import rows as R
from harness.suites.hub.source import HubSource, RawData
from harness.suites.hub.tasks import QA_PROMPT, TaskSpec, context_block
from harness.suites.hub.writer import Converted, HubConverter

SOURCE = HubSource(repos={"main": "takala/financial_phrasebank"},
                   parts={"release": ("main", ["data/FinancialPhraseBank-v1.0.zip", "FinancialPhraseBank-v1.0.zip",
                                               "FinancialPhraseBank-v1.0/Sentences_*.txt", "Sentences_*.txt"])},
                   licence="CC BY-NC-SA 3.0 (non-commercial)",
                   homepage="https://www.researchgate.net/publication/251231364_FinancialPhraseBank-v10")
OPTIONS = {"agreement": "allagree", "eval_fraction": 0.3}
LABELS = ("negative", "neutral", "positive")
FILES = {"allagree": "Sentences_AllAgree.txt", "75agree": "Sentences_75Agree.txt",
         "66agree": "Sentences_66Agree.txt", "50agree": "Sentences_50Agree.txt"}
TASK = TaskSpec("phrasebank_cls", "classification", "macro_f1", context_block() + QA_PROMPT, "eval/cls.jsonl",
                labels=LABELS, source="tasks/finance/finance_cls.yaml")
QUESTION = 'Is this financial news sentence negative, neutral or positive for investors? "{}"'


def _text(files: list[Path], agreement: str) -> tuple[str, str]:
    """(text of the agreement level's file, where it came from)."""
    if agreement not in FILES:
        raise HarnessError(f"suite.agreement={agreement!r}: expected one of {', '.join(FILES)}")
    wanted = FILES[agreement]
    for path in files:
        if path.suffix == ".zip":
            with zipfile.ZipFile(path) as archive:
                inner = next((n for n in archive.namelist() if n.rsplit("/", 1)[-1] == wanted), None)
                if inner:
                    return archive.read(inner).decode("latin-1"), f"{path.name}:{inner}"
        elif path.name == wanted:
            return path.read_bytes().decode("latin-1"), str(path)
    raise HarnessError(f"Financial PhraseBank: no {wanted} in {', '.join(str(p) for p in files)} "
                       f"(suite.agreement={agreement})")


def convert(raw: RawData, opts: dict[str, Any]) -> Converted:
    seed = int(opts["seed"])
    text, where = _text(raw.files["release"], str(opts["agreement"]))
    items = []
    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        sentence, sep, label = line.rpartition("@")
        if not sep or label.strip() not in LABELS:
            raise HarnessError(f"{where} line {n}: expected 'sentence@label' with label in {', '.join(LABELS)}, "
                               f"got {line[:80]!r}")
        items.append({"id": f"fpb-{n:05d}", "question": QUESTION.format(sentence.strip()), "label": label.strip(),
                      "gold_ids": [], "sentence": sentence.strip()})
    items = R.unique_by(items, lambda r: r["question"])
    train, evals = R.hash_split(items, lambda r: r["question"], float(opts["eval_fraction"]), seed)
    train = R.cap(train, opts["max_train"], lambda r: r["id"], seed)
    pairs = R.train_rows(TASK, train)
    corpus = R.pair_corpus(train, lambda r: f"{r['sentence']} Sentiment: {r['label']}.", titled=False)
    for pair in pairs:
        pair["doc_id"] = f"doc-{pair['id']}"
    evals = [{k: v for k, v in r.items() if k != "sentence"} for r in R.cap(evals, opts["max_eval"], lambda r: r["id"], seed)]
    notes = [f"{len(items)} distinct sentences ({FILES[str(opts['agreement'])]}) split by hash of the sentence: "
             f"{len(pairs)} train, {len(evals)} eval (eval_fraction {opts['eval_fraction']}, seed {seed})",
             "labels in the hub copy's order: negative, neutral, positive; scored as tasks/finance/finance_cls.yaml",
             "corpus = the training sentences with their labels; eval rows have no gold passage",
             "licence CC BY-NC-SA 3.0: non-commercial use only"]
    desc = ("Financial PhraseBank v1.0 (Malo et al. 2014; takala/financial_phrasebank, CC BY-NC-SA 3.0, "
            "non-commercial): sentiment of financial-news sentences for investors, macro-F1.")
    return Converted(desc, corpus, pairs, [(TASK, evals)], notes)


CONVERTER = HubConverter(SOURCE, OPTIONS, convert)
