"""FiQA-2018 in BEIR (BeIR/fiqa + BeIR/fiqa-qrels; CC BY-SA 4.0 per BEIR): opinion questions on
personal finance answered by StackExchange posts.

Corpus: the BEIR corpus (``_id``, ``title``, ``text``). Eval: the test queries with their qrels as
gold ids; the reference answer is the first relevant post (other relevant posts are aliases).
Train: the train queries answered with their first relevant post (cut to ``answer_chars``).
Answers are long posts, so the primary metric is token F1 and generation gets 128 tokens; the
retrieval metrics against the qrels are the sharper signal. Files are read in the hub layout
(``corpus.jsonl.gz``, ``queries.jsonl.gz``, ``test.tsv``) or BEIR's own zip layout
(``corpus.jsonl``, ``queries.jsonl``, ``qrels/test.tsv``) under ``suite.data_dir``.
"""

from __future__ import annotations

from typing import Any

from harness.errors import HarnessError
from harness.suites.hub import rows as R
from harness.suites.hub.source import HubSource, RawData, read_table
from harness.suites.hub.tasks import QA_PROMPT, TaskSpec, context_block
from harness.suites.hub.writer import Converted, HubConverter

SOURCE = HubSource(repos={"main": "BeIR/fiqa", "qrels": "BeIR/fiqa-qrels"},
                   parts={"corpus": ("main", ["corpus.jsonl*", "fiqa/corpus.jsonl*"]),
                          "queries": ("main", ["queries.jsonl*", "fiqa/queries.jsonl*"]),
                          "qrels_train": ("qrels", ["train.tsv", "qrels/train.tsv", "fiqa/qrels/train.tsv"]),
                          "qrels_test": ("qrels", ["test.tsv", "qrels/test.tsv", "fiqa/qrels/test.tsv"])},
                   licence="CC BY-SA 4.0 (BEIR distribution of FiQA-2018)", homepage="https://sites.google.com/view/fiqa/")
OPTIONS = {"answer_chars": 1000}
TASK = TaskSpec("fiqa_qa", "open_qa", "f1", context_block() + QA_PROMPT, "eval/qa.jsonl", max_gen_toks=128)


def _qrels(raw: RawData, part: str) -> dict[str, list[str]]:
    """query id -> relevant corpus ids (score > 0), in file order."""
    out: dict[str, list[str]] = {}
    for n, rec in enumerate(read_table(raw.files[part]), start=2):
        if "query-id" not in rec or "corpus-id" not in rec:
            raise HarnessError(f"{raw.files[part][0]} line {n}: expected the BEIR columns query-id, corpus-id, score")
        if int(rec.get("score", 1)) > 0:
            out.setdefault(str(rec["query-id"]), []).append(str(rec["corpus-id"]))
    return out


def convert(raw: RawData, opts: dict[str, Any]) -> Converted:
    seed, limit = int(opts["seed"]), int(opts["answer_chars"])
    corpus = [{"id": str(d["_id"]), "text": str(d["text"]).strip()} | ({"title": d["title"]} if d.get("title") else {})
              for d in read_table(raw.files["corpus"]) if str(d.get("text") or "").strip()]
    corpus = R.unique_by(corpus, lambda d: d["id"])
    text = {d["id"]: d["text"] for d in corpus}
    queries = {str(q["_id"]): str(q["text"]).strip() for q in read_table(raw.files["queries"])}

    def rows(part: str, prefix: str) -> list[dict[str, Any]]:
        out = []
        for qid, gold in _qrels(raw, part).items():
            gold = [g for g in gold if g in text]
            if qid in queries and gold:
                out.append({"id": f"fiqa-{prefix}-{qid}", "question": queries[qid], "answer": R.shorten(text[gold[0]], limit),
                            "aliases": [R.shorten(text[g], limit) for g in gold[1:]], "gold_ids": gold})
        return out

    train = R.cap(rows("qrels_train", "train"), opts["max_train"], lambda r: r["id"], seed)
    pairs = R.train_rows(TASK, train)
    evals, leaked = R.drop_leaks(pairs, rows("qrels_test", "test"))
    evals = R.cap(evals, opts["max_eval"], lambda r: r["id"], seed)
    notes = [f"corpus: {len(corpus)} posts; train: {len(pairs)} queries with qrels (max_train {opts['max_train']}); "
             f"eval: {len(evals)} test queries (max_eval {opts['max_eval']}); {leaked} dropped as repeats of a "
             "training query",
             f"answers are the first relevant post, cut to {limit} characters; primary metric token F1",
             "eval prompt: the shipped open-QA prompt (no lm-eval task for FiQA)"]
    desc = ("FiQA-2018 (Maia et al. 2018) in BEIR (BeIR/fiqa, BeIR/fiqa-qrels; CC BY-SA 4.0): personal-finance "
            "opinion questions answered from a corpus of StackExchange posts; gold ids from the BEIR qrels.")
    return Converted(desc, corpus, pairs, [(TASK, evals)], notes)


CONVERTER = HubConverter(SOURCE, OPTIONS, convert)
