"""`python -m harness build-suite <documents> <Q&A file> --out <suite>`: bring your own domain.

From a folder of documents (PDF, Markdown, text, JSONL — read by ``harness.suites.ingest``,
so ids are the same as for retrieval) and a file of questions you wrote (JSONL or CSV), write a
suite in the documented format (docs/suite-format.md) that every verb accepts.

Q&A rows (JSONL objects, or CSV with a header; in CSV a list is a JSON list or ``a|b|c``):

| field | meaning |
|---|---|
| ``question`` | required |
| ``answer`` | open questions: required; MC: the correct choice's text may stand for ``label`` |
| ``split`` | ``train`` or ``eval`` (``test`` = eval; default eval) |
| ``gold_id`` / ``gold_ids`` / ``doc_id`` | corpus id(s) holding the answer (retrieval metrics) |
| ``choices`` + ``label`` | multiple choice; label = 0-based index, letter (A, B, …) or choice text |
| ``label`` without choices | classification; the label set is ``--labels`` or the labels seen |
| ``aliases`` | other accepted answers (open questions) |
| ``id`` | optional; generated from the line number when absent |
| ``kind`` | optional: ``open_qa`` / ``multiple_choice`` / ``classification`` (else inferred) |

Every problem is reported against the Q&A file's line and field — missing answer, unknown
label, duplicate id, gold id not in the corpus, an eval question that is also a training
question — using the same checks ``load_suite`` applies to a suite. The suite is written under a
temporary name, validated with ``load_suite`` and only then renamed into place.
"""

from __future__ import annotations

import argparse
import csv
import json
import string
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.errors import HarnessError
from harness.jsonl import write_jsonl
from harness.suites import checks, writer
from harness.suites.checks import show
from harness.suites.ingest import ingest_folder, write_corpus
from harness.suites.loader import SUITE_FILE, Suite
from harness.suites.writer import (
    BUILD_MARKER,
    PROMPT,
    Manifest,
    ManifestTask,
    suite_name,
)

SPLITS = {"train": "train", "eval": "eval", "test": "eval", "": "eval"}
# kind -> (task suffix and eval file stem, primary metric)
KINDS = {"open_qa": ("qa", "correct"), "multiple_choice": ("mc", "acc"), "classification": ("cls", "macro_f1")}
GOLD_FIELDS = ("gold_ids", "gold_id", "doc_id")
LIST_FIELDS = ("choices", "aliases") + GOLD_FIELDS


@dataclass
class QARow:
    line: int
    split: str  # train | eval
    kind: str
    row: dict[str, Any]


# ---------------------------------------------------------------- reading the Q&A file


def _csv_rows(path: Path) -> list[tuple[int, dict[str, Any]]]:
    """(first line of the record, row) with empty cells dropped."""
    try:
        handle = path.open(encoding="utf-8-sig", newline="")
    except OSError as err:
        raise HarnessError(f"{show(path)}: cannot be read ({err.strerror or err})") from err
    rows = []
    with handle:
        reader = csv.DictReader(handle)
        if not reader.fieldnames or "question" not in [f.strip() for f in reader.fieldnames]:
            raise HarnessError(f"{show(path)} line 1: the CSV header needs a 'question' column "
                               f"(got {reader.fieldnames})")
        start = reader.line_num + 1
        for raw in reader:
            if None in raw:
                raise HarnessError(f"{show(path)} line {start}: more cells than header columns")
            row = {k.strip(): v.strip() for k, v in raw.items() if k and v is not None and v.strip()}
            if row:
                rows.append((start, row))
            start = reader.line_num + 1
    if not rows:
        raise HarnessError(f"{show(path)}: no rows (the file is empty)")
    return rows


def read_qa(path: Path) -> list[tuple[int, dict[str, Any]]]:
    """(line, raw row) from a ``.jsonl`` or ``.csv`` Q&A file."""
    if not path.is_file():
        raise HarnessError(f"{show(path)}: Q&A file not found")
    if path.suffix.lower() == ".csv":
        return _csv_rows(path)
    if path.suffix.lower() in (".jsonl", ".json"):
        return checks.read_rows(path)
    raise HarnessError(f"{show(path)}: Q&A file must be .jsonl or .csv")


def _as_list(value: Any, where: str, name: str) -> list[str]:
    if isinstance(value, list):
        items = value
    elif isinstance(value, str) and value.lstrip().startswith("["):
        try:
            items = json.loads(value)
        except ValueError as err:
            raise HarnessError(f"{where}: field '{name}' is not a valid JSON list ({err})") from err
    elif isinstance(value, (str, int)):
        items = str(value).split("|")
    else:
        raise HarnessError(f"{where}: field '{name}' must be a list or a string, got {type(value).__name__}")
    out = [str(x).strip() for x in items]
    if any(not x for x in out):
        raise HarnessError(f"{where}: field '{name}' has an empty entry ({value!r})")
    return out


def _mc_label(row: dict[str, Any], choices: list[str], where: str) -> int:
    """0-based index from an index, a letter or the correct choice's text (label or answer)."""
    if "label" not in row:
        if "answer" in row and str(row["answer"]) in choices:
            return choices.index(str(row["answer"]))
        raise HarnessError(f"{where}: missing required field 'label' (index, letter or text of the correct "
                           f"choice; or an 'answer' equal to one of the choices)")
    label = row["label"]
    text = str(label).strip()
    if isinstance(label, int) and not isinstance(label, bool) or text.isdigit():
        index = int(text)
    elif len(text) == 1 and text.upper() in string.ascii_uppercase:
        index = string.ascii_uppercase.index(text.upper())
    elif text in choices:
        index = choices.index(text)
    else:
        raise HarnessError(f"{where}: field 'label' is {label!r}: not an index, a letter or the text of one of "
                           f"the {len(choices)} choices")
    if not 0 <= index < len(choices):
        raise HarnessError(f"{where}: field 'label' is {label!r}, out of range for {len(choices)} choices")
    return index


def _kind(row: dict[str, Any], where: str) -> str:
    if "kind" in row:
        if row["kind"] not in KINDS:
            raise HarnessError(f"{where}: field 'kind' is {row['kind']!r}; expected one of {', '.join(KINDS)}")
        return str(row["kind"])
    if "choices" in row:
        return "multiple_choice"
    return "classification" if "label" in row else "open_qa"


def normalize_row(path: Path, line: int, raw: dict[str, Any], name: str) -> QARow:
    """A raw Q&A row → the suite's row format for its split and kind (ids filled in later)."""
    where = f"{show(path)} line {line}"
    split = str(raw.get("split", "")).strip().lower()
    if split not in SPLITS:
        raise HarnessError(f"{where}: field 'split' is {raw['split']!r}; expected train or eval")
    kind = _kind(raw, where)
    row: dict[str, Any] = {}
    if "id" in raw:
        row["id"] = str(raw["id"])
    row["question"] = raw.get("question")
    lists = {f: _as_list(raw[f], where, f) for f in LIST_FIELDS if f in raw}
    gold = list(dict.fromkeys(g for f in GOLD_FIELDS for g in lists.get(f, [])))
    if kind == "multiple_choice":
        choices = lists.get("choices")
        if choices is None:
            raise HarnessError(f"{where}: missing required field 'choices' (kind multiple_choice)")
        label = _mc_label(raw, choices, where)
        row.update(choices=choices, label=label)
        answer = choices[label]
    elif kind == "classification":
        if "label" not in raw:
            raise HarnessError(f"{where}: missing required field 'label' (kind classification)")
        row["label"] = answer = str(raw["label"]).strip()
    else:
        answer = raw.get("answer")
        if answer is None or not str(answer).strip():
            raise HarnessError(f"{where}: missing required field 'answer'")
        answer = str(answer).strip()
        row.update(answer=answer, aliases=lists.get("aliases", []))
    if SPLITS[split] == "train":
        train = {k: v for k, v in row.items() if k in ("id", "question")}
        train["answer"] = str(raw.get("answer") or answer)
        if gold:
            train["doc_id"] = gold[0]
        return QARow(line, "train", kind, train)
    row.update(gold_ids=gold, context="")
    return QARow(line, "eval", kind, row)


def _with_ids(rows: list[QARow], name: str) -> None:
    for item in rows:
        if "id" not in item.row:
            prefix = "train" if item.split == "train" else KINDS[item.kind][0]
            item.row = {"id": f"{name}-{prefix}-L{item.line:05d}", **item.row}


# ---------------------------------------------------------------- validation (on the input's lines)


def label_set(rows: list[QARow], given: list[str] | None, path: Path) -> list[str]:
    """The classification labels: ``given`` (each row's label must be in it), else as they occur."""
    seen = list(dict.fromkeys(r.row["label"] for r in rows if r.kind == "classification" and r.split == "eval"))
    if given is None:
        return seen
    for item in rows:
        if item.kind == "classification" and item.split == "eval" and item.row["label"] not in given:
            raise HarnessError(f"{show(path)} line {item.line}: field 'label' is {item.row['label']!r}, "
                               f"an unknown label (--labels: {', '.join(given)})")
    return list(given)


def validate(path: Path, rows: list[QARow], corpus: list[dict[str, Any]], labels: list[str]) -> None:
    """``load_suite``'s checks, applied to the Q&A file's own lines."""
    pairs = [(r.line, r.row) for r in rows]
    checks.unique_ids(path, pairs)  # one id space across the file: a repeated id is a mistake
    corpus_ids = {str(d["id"]) for d in corpus}
    train = [(r.line, r.row) for r in rows if r.split == "train"]
    if not train:
        raise HarnessError(f"{show(path)}: no row has split 'train'; fine-tuning needs at least one")
    if not any(r.split == "eval" for r in rows):
        raise HarnessError(f"{show(path)}: no row has split 'eval' (the default); a suite needs questions "
                           "to evaluate on")
    try:
        checks.check_train(path, train, corpus_ids, {"prompt": PROMPT, "completion": " {answer}"})
        for kind in KINDS:
            evals = [(r.line, r.row) for r in rows if r.split == "eval" and r.kind == kind]
            if evals:
                checks.check_task_rows(path, kind, evals, corpus_ids, labels)
                checks.check_leakage(path, train, path, evals)
    except HarnessError as err:
        if "not a corpus document id" in str(err):
            sample = ", ".join(repr(i) for i in sorted(corpus_ids)[:3])
            raise HarnessError(f"{err} (the documents' ids are their paths relative to the folder, or JSONL "
                               f"ids: {sample}, …)") from err
        raise
    if len(labels) == 1:
        raise HarnessError(f"{show(path)}: classification needs at least 2 labels, got {labels}")


# ---------------------------------------------------------------- writing the suite


def _manifest(name: str, description: str, kinds: list[str], labels: list[str]) -> Manifest:
    tasks = [ManifestTask(f"{name}_{KINDS[kind][0]}", f"eval/{KINDS[kind][0]}.jsonl", kind, KINDS[kind][1],
                          tuple(labels) if kind == "classification" else ()) for kind in kinds]
    return Manifest(name, description, tasks, header=f"{BUILD_MARKER}; rebuild it rather than editing by hand.")


def _card(name: str, docs: Path, qa: Path, corpus: list[dict], rows: list[QARow]) -> str:
    counts = {k: sum(r.split == "eval" and r.kind == k for r in rows) for k in KINDS}
    shown = ", ".join(f"{KINDS[k][0]} {n}" for k, n in counts.items() if n)
    return (f"# {name}\n\nBuilt by `python -m harness build-suite {docs} {qa}`: {len(corpus)} documents, "
            f"{sum(r.split == 'train' for r in rows)} training pairs, eval questions: {shown}.\n\n"
            "Provenance and licence: those of the source documents and questions (fill in).\n\n"
            "Leakage: no eval question equals a training question after normalisation (checked); "
            "paraphrases of a training question are not detected — keep facts disjoint if you want to "
            "measure generalisation.\n")


def _check_out(out: Path, overwrite: bool) -> None:
    if not out.exists():
        return
    if not overwrite:
        raise HarnessError(f"{out} already exists; choose another --out or pass --overwrite to replace it")
    spec = out / SUITE_FILE
    if not spec.is_file() or not spec.read_text(encoding="utf-8").startswith(BUILD_MARKER):
        raise HarnessError(f"{out} was not written by build-suite; refusing to replace it — choose another --out")


def build_suite(docs: Path, qa: Path, out: Path, *, name: str | None = None, labels: list[str] | None = None,
                overwrite: bool = False) -> Suite:
    """Ingest, convert, validate against the Q&A file, write, validate the suite; returns it."""
    docs, qa, out = Path(docs).expanduser().resolve(), Path(qa).expanduser().resolve(), Path(out).expanduser().resolve()
    if out == docs or out.is_relative_to(docs):
        raise HarnessError(f"--out {out} lies inside the documents folder {docs}; its files would be read as "
                           "documents next time — write it elsewhere")
    _check_out(out, overwrite)
    name = suite_name(out, name)
    corpus = ingest_folder(docs)
    rows = [normalize_row(qa, line, raw, name) for line, raw in read_qa(qa)]
    _with_ids(rows, name)
    classes = label_set(rows, labels, qa)
    validate(qa, rows, corpus, classes)
    kinds = [k for k in KINDS if any(r.split == "eval" and r.kind == k for r in rows)]
    description = f"Documents from {docs.name}/ and questions from {qa.name}, built with harness build-suite."

    def fill(staging: Path) -> None:
        write_corpus(corpus, staging / "corpus.jsonl")
        write_jsonl(staging / "train.jsonl", [r.row for r in rows if r.split == "train"])
        for kind in kinds:
            suffix = KINDS[kind][0]
            write_jsonl(staging / "eval" / f"{suffix}.jsonl", [r.row for r in rows if r.split == "eval" and r.kind == kind])
            (staging / f"{name}_{suffix}.yaml").write_text(writer.derived_task_yaml(kind, f"{name}_{suffix}"),
                                                           encoding="utf-8")
        writer.write_manifest(staging, _manifest(name, description, kinds, classes))
        cls_task = f"{name}_cls" if "classification" in kinds else None
        (staging / "utils.py").write_text(writer.task_utils(cls_task), encoding="utf-8")
        (staging / "README.md").write_text(_card(name, docs, qa, corpus, rows), encoding="utf-8")

    return writer.validate(writer.publish(out, fill))


# ---------------------------------------------------------------- CLI


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m harness build-suite",
                                description="Build a suite from your documents and your questions (docs/suite-format.md).")
    p.add_argument("docs", type=Path, help="folder of documents (PDF, Markdown, text, JSONL)")
    p.add_argument("qa", type=Path, help="questions: .jsonl or .csv (question, answer, split, gold_id, choices, label)")
    p.add_argument("--out", type=Path, required=True, help="suite folder to write (e.g. tasks/mydomain)")
    p.add_argument("--name", default=None, help="suite name (default: the --out folder's name)")
    p.add_argument("--labels", default=None, help="classification label set, comma-separated, in choice order")
    p.add_argument("--overwrite", action="store_true", help="replace a suite build-suite wrote before")
    return p


def main(argv: list[str], out: Any = None) -> int:
    out = out or sys.stdout
    args = parser().parse_args(argv)
    labels = [x.strip() for x in args.labels.split(",") if x.strip()] if args.labels else None
    suite = build_suite(args.docs, args.qa, args.out, name=args.name, labels=labels, overwrite=args.overwrite)
    tasks = ", ".join(f"{t.name} ({t.kind}, {len(t.rows)} questions)" for t in suite.tasks)
    print(f"wrote suite '{suite.name}' to {suite.root}: {len(suite.corpus)} documents, {len(suite.train)} "
          f"training pairs; tasks: {tasks}", file=out)
    print(f"run it: python -m harness run suite.path={suite.root}   (results land in results/{suite.name}/)", file=out)
    return 0


__all__ = ["build_suite", "main", "normalize_row", "read_qa", "validate"]
