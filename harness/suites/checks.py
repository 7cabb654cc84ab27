"""The row checks of the suite format, shared by the suite loader and ``build-suite``.

``load_suite`` applies them to a suite's files; ``build-suite`` applies the same ones to the
lines of the user's Q&A file, so its errors point at the line the user wrote. Every failure is
a HarnessError naming file, line and field.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from harness.errors import HarnessError
from harness.jsonl import iter_numbered
from harness.suites.text import normalize_text

Numbered = Sequence[tuple[int, dict[str, Any]]]  # (line number, row)


def show(path: Path) -> str:
    """Path as the user would type it: relative to the CWD when below it."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def read_rows(path: Path) -> list[tuple[int, dict[str, Any]]]:
    """(line number, row) for each non-blank line; a bad line, or no rows at all, is a HarnessError."""
    rows = list(iter_numbered(path, show=show(path)))
    if not rows:
        raise HarnessError(f"{show(path)}: no rows (the file is empty)")
    return rows


# ----------------------------------------------------------------------------- row checks

TYPE_NAMES = {str: "a string", int: "an integer", list: "a list"}


def typed_field(row: Mapping[str, Any], name: str, kind: type, where: str, *, required: bool = True) -> Any:
    if name not in row:
        if required:
            raise HarnessError(f"{where}: missing required field '{name}'")
        return None
    value = row[name]
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise HarnessError(f"{where}: field '{name}' must be {TYPE_NAMES[kind]}, got {type(value).__name__}")
    if kind is str and required and not value.strip():
        raise HarnessError(f"{where}: field '{name}' is empty")
    return value


def str_list(row: Mapping[str, Any], name: str, where: str, *, required: bool) -> list[str]:
    value = typed_field(row, name, list, where, required=required)
    if value is None:
        return []
    for i, item in enumerate(value):
        if not isinstance(item, str) or not item.strip():
            raise HarnessError(f"{where}: field '{name}[{i}]' must be a non-empty string, got {item!r}")
    return value


def unique_ids(path: Path, rows: Numbered) -> None:
    seen: dict[str, int] = {}
    for lineno, row in rows:
        rid = typed_field(row, "id", str, f"{show(path)} line {lineno}")
        if rid in seen:
            raise HarnessError(f"{show(path)} line {lineno}: duplicate id '{rid}' (first on line {seen[rid]})")
        seen[rid] = lineno


def check_corpus(path: Path, rows: Numbered) -> None:
    unique_ids(path, rows)
    for lineno, row in rows:
        where = f"{show(path)} line {lineno}"
        typed_field(row, "text", str, where)
        typed_field(row, "title", str, where, required=False)


def check_gold(where: str, ids: Sequence[str], corpus_ids: set[str], name: str) -> None:
    for doc_id in ids:
        if doc_id not in corpus_ids:
            raise HarnessError(f"{where}: field '{name}' names '{doc_id}', which is not a corpus document id")


def check_train(path: Path, rows: Numbered, corpus_ids: set[str], fmt: Mapping[str, str]) -> None:
    unique_ids(path, rows)
    for lineno, row in rows:
        where = f"{show(path)} line {lineno}"
        typed_field(row, "question", str, where)
        typed_field(row, "answer", str, where)
        doc_id = typed_field(row, "doc_id", str, where, required=False)
        if doc_id is not None:
            check_gold(where, [doc_id], corpus_ids, "doc_id")
        for part in ("prompt", "completion"):
            try:
                fmt[part].format_map(row)
            except KeyError as err:
                raise HarnessError(f"{where}: train_format.{part} uses field {err}, which this row lacks") from err


def check_task_rows(
    path: Path, kind: str, rows: Numbered, corpus_ids: set[str], labels: Sequence[str] = ()
) -> None:
    unique_ids(path, rows)
    for lineno, row in rows:
        where = f"{show(path)} line {lineno}"
        typed_field(row, "question", str, where)
        typed_field(row, "context", str, where, required=False)
        check_gold(where, str_list(row, "gold_ids", where, required=True), corpus_ids, "gold_ids")
        if kind == "open_qa":
            typed_field(row, "answer", str, where)
            str_list(row, "aliases", where, required=False)
        elif kind == "classification":
            label = typed_field(row, "label", str, where)
            if label not in labels:
                raise HarnessError(
                    f"{where}: field 'label' is {label!r}, which is not in the task's label set ({', '.join(labels)})"
                )
            if "choices" in row:
                raise HarnessError(f"{where}: field 'choices' is not allowed in a classification row (the label set is)")
        else:
            choices = str_list(row, "choices", where, required=True)
            if len(choices) < 2:
                raise HarnessError(f"{where}: field 'choices' needs at least 2 options, got {len(choices)}")
            label = typed_field(row, "label", int, where)
            if not 0 <= label < len(choices):
                raise HarnessError(f"{where}: field 'label' is {label}, out of range for {len(choices)} choices")


def check_leakage(train_path: Path, train: Numbered, path: Path, rows: Numbered) -> None:
    """An eval question seen verbatim (after normalisation) in training measures recall, not skill."""
    seen = {normalize_text(row["question"]): lineno for lineno, row in train}
    for lineno, row in rows:
        hit = seen.get(normalize_text(row["question"]))
        if hit is not None:
            raise HarnessError(
                f"{show(path)} line {lineno}: field 'question' leaks: it equals the question on "
                f"{show(train_path)} line {hit} after normalisation ({row['question']!r})"
            )
