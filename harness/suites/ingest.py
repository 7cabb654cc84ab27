"""A folder of documents (PDF, Markdown, plain text, JSONL) → the corpus rows of a suite.

It lives with the suites because only suite writers read documents: ``build-suite`` and
``generate-qa`` turn a folder into ``corpus.jsonl``, which retrieval then reads like any suite's.

Ids are the file's path relative to the folder (POSIX form, extension kept so ``a.md`` and
``a.txt`` never collide), so they stay stable when the folder moves or files are added.
JSONL rows keep their own ``id`` (suites' gold ids name them). Every problem — an unreadable
PDF, a document without text, a malformed JSONL line, a duplicate id, a symbolic link that
leads out of the folder — stops ingestion with a HarnessError naming the file (and line),
rather than silently indexing less (or more) than the user thinks.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from harness.errors import HarnessError
from harness.jsonl import iter_numbered, write_jsonl

log = logging.getLogger(__name__)

TEXT_SUFFIXES = (".txt", ".text")
MARKDOWN_SUFFIXES = (".md", ".markdown")
PDF_SUFFIXES = (".pdf",)
JSONL_SUFFIXES = (".jsonl",)
SUFFIXES = TEXT_SUFFIXES + MARKDOWN_SUFFIXES + PDF_SUFFIXES + JSONL_SUFFIXES

_MD_TITLE = re.compile(r"^\s{0,3}#\s+(.+?)\s*#*\s*$", re.MULTILINE)


def _title_from_name(path: Path) -> str:
    return re.sub(r"[_\-]+", " ", path.stem).strip() or path.name


def _read_utf8(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as err:
        raise HarnessError(f"{path}: not UTF-8 text (byte {err.start}); re-save it as UTF-8") from err
    except OSError as err:
        raise HarnessError(f"{path}: cannot be read ({err.strerror or err})") from err


def _require_text(path: Path, text: str, what: str = "document") -> str:
    if not text.strip():
        raise HarnessError(f"{path}: the {what} has no text to index (empty, or a scanned PDF without a "
                           f"text layer — OCR it first)")
    return text


def read_pdf(path: Path) -> tuple[str, str]:
    """(title, text) with pages joined by blank lines; the title from the PDF's metadata."""
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    try:
        reader = PdfReader(str(path))
        if reader.is_encrypted and not reader.decrypt(""):
            raise HarnessError(f"{path}: the PDF is encrypted with a password; decrypt it first")
        pages = [(page.extract_text() or "").strip() for page in reader.pages]
        meta_title = (reader.metadata.title if reader.metadata else None) or ""
    except HarnessError:
        raise
    except (PyPdfError, OSError, ValueError, KeyError, TypeError, AttributeError) as err:
        raise HarnessError(f"{path}: unreadable PDF ({type(err).__name__}: {err})") from err
    text = _require_text(path, "\n\n".join(p for p in pages if p), "PDF")
    return str(meta_title).strip() or _title_from_name(path), text


def read_markdown(path: Path) -> tuple[str, str]:
    """(title, text): the first ``# heading`` names the document, else the file name."""
    text = _require_text(path, _read_utf8(path))
    match = _MD_TITLE.search(text)
    return (match.group(1).strip() if match else _title_from_name(path)), text


def read_text(path: Path) -> tuple[str, str]:
    return _title_from_name(path), _require_text(path, _read_utf8(path))


_BAD_LINE = re.compile(r" line (?P<n>\d+): (?:invalid JSON \((?P<msg>.*), column (?P<col>\d+)\)"
                       r"|expected a JSON object, got (?P<type>\w+))")


def _numbered(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """``harness.jsonl``'s reader, with bad lines named as ingestion names them (``file:line``)."""
    try:
        yield from iter_numbered(path, show=str(path))
    except UnicodeDecodeError as err:
        raise HarnessError(f"{path}: not UTF-8 text (byte {err.start}); re-save it as UTF-8") from err
    except OSError as err:
        raise HarnessError(f"{path}: cannot be read ({err.strerror or err})") from err
    except HarnessError as err:
        bad = _BAD_LINE.fullmatch(str(err).removeprefix(str(path)))
        if bad is None:
            raise
        where = f"{path}:{bad['n']}"
        if bad["type"]:
            raise HarnessError(f"{where}: expected a JSON object with 'id' and 'text', got {bad['type']}") from err
        raise HarnessError(f"{where}: malformed JSON ({bad['msg']} at column {bad['col']})") from err


def read_jsonl_documents(path: Path) -> Iterator[dict[str, Any]]:
    """``{"id", "title"?, "text"}`` rows; blank lines are skipped, anything else must parse."""
    for number, row in _numbered(path):
        where = f"{path}:{number}"
        for field in ("id", "text"):
            if field not in row or not isinstance(row[field], (str, int)) or str(row[field]).strip() == "":
                raise HarnessError(f"{where}: field '{field}' is missing or empty")
        if not isinstance(row.get("title", ""), (str, type(None))):
            raise HarnessError(f"{where}: field 'title' must be a string")
        yield {"id": str(row["id"]), "title": row.get("title") or "", "text": str(row["text"]),
               "source": where}


def _check_inside(path: Path, root: Path, inside: Path) -> None:
    """Refuse a symbolic link under ``root`` (``inside``: resolved) whose target lies outside it:
    it would index files the folder does not hold. A link to a file inside the folder is read."""
    if not path.is_symlink():
        return
    try:
        target = path.resolve()
    except (OSError, RuntimeError) as err:  # a link loop
        raise HarnessError(f"{path}: a symbolic link that cannot be followed ({err})") from err
    if not target.is_relative_to(inside):
        raise HarnessError(f"{path}: a symbolic link to {target}, outside the documents folder {root}; "
                           "copy the file into the folder (links out of it are not followed)")


def document_files(folder: Path) -> list[Path]:
    """Supported files under ``folder`` in sorted relative-path order (hidden ones skipped); a
    symbolic link leading out of ``folder`` is a HarnessError naming the link and its target."""
    files, skipped = [], []
    inside = folder.resolve()
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder)
        if any(part.startswith(".") for part in rel.parts):
            continue
        _check_inside(path, folder, inside)
        if not path.is_file():
            continue
        (files if path.suffix.lower() in SUFFIXES else skipped).append(path)
    if skipped:
        log.warning("ingest skipped %d file(s) of unsupported types (%s), e.g. %s", len(skipped),
                    ", ".join(sorted({p.suffix or "<none>" for p in skipped})), skipped[0])
    return files


def ingest_folder(folder: str | Path) -> list[dict[str, Any]]:
    """Corpus rows ``{"id", "title", "text", "source"}`` for every document under ``folder``."""
    root = Path(folder).expanduser()
    if not root.is_dir():
        raise HarnessError(f"corpus folder {root} does not exist or is not a folder")
    rows: list[dict[str, Any]] = []
    seen: dict[str, str] = {}
    for path in document_files(root):
        suffix = path.suffix.lower()
        if suffix in JSONL_SUFFIXES:
            found = list(read_jsonl_documents(path))
        else:
            reader = read_pdf if suffix in PDF_SUFFIXES else read_markdown if suffix in MARKDOWN_SUFFIXES else read_text
            title, text = reader(path)
            found = [{"id": path.relative_to(root).as_posix(), "title": title, "text": text, "source": str(path)}]
        for row in found:
            if row["id"] in seen:
                raise HarnessError(f"{row['source']}: document id '{row['id']}' already used by {seen[row['id']]}")
            seen[row["id"]] = row["source"]
            rows.append(row)
    if not rows:
        raise HarnessError(f"corpus folder {root} holds no documents ({', '.join(SUFFIXES)})")
    return rows


def write_corpus(rows: list[dict[str, Any]], path: str | Path) -> Path:
    """Write rows as a suite-style ``corpus.jsonl`` (id, title, text)."""
    return write_jsonl(Path(path), ({"id": r["id"], "title": r.get("title", ""), "text": r["text"]} for r in rows))
