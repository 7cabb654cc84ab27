"""Corpus ingestion: a folder of PDF / Markdown / text / JSONL files → corpus rows.

The PDF is written by hand (a one-page file with a text object and a correct xref table),
so the test needs no PDF-writing library and checks that pypdf really extracts the text.
"""

from __future__ import annotations

import json

import pytest

from harness.errors import HarnessError
from harness.retrieval import RetrieverConfig, retrieve
from harness.suites.ingest import ingest_folder, write_corpus


def make_pdf(lines: list[str], title: str | None = None) -> bytes:
    """A minimal valid PDF 1.4: one page, Helvetica, one text line per entry."""
    ops = ["BT", "/F1 12 Tf", "14 TL", "72 720 Td"]
    for line in lines:
        escaped = line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
        ops.append(f"({escaped}) Tj T*")
    ops.append("ET")
    stream = "\n".join(ops).encode("latin-1")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    if title is not None:
        objects.append(b"<< /Title (" + title.encode("latin-1") + b") >>")
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % off for off in offsets)
    info = b" /Info %d 0 R" % len(objects) if title is not None else b""
    out += b"trailer\n<< /Size %d /Root 1 0 R%s >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, info, xref)
    return bytes(out)


@pytest.fixture
def folder(tmp_path):
    root = tmp_path / "docs"
    (root / "guides").mkdir(parents=True)
    (root / "guides" / "tomato_blight.pdf").write_bytes(
        make_pdf(["Late blight browns tomato leaves.", "Copper sprays slow the disease."], title="Tomato blight"))
    (root / "guides" / "drip.pdf").write_bytes(make_pdf(["Drip lines water the roots directly."]))
    (root / "soil.md").write_text("intro line\n\n# Soil pH\n\nBlueberries need acidic soil, pH 4.5 to 5.5.\n")
    (root / "bees.txt").write_text("Growers rent bee hives each February to pollinate almonds.\n")
    (root / "extra.jsonl").write_text(
        json.dumps({"id": "d09", "title": "Rice paddies", "text": "Flooded rice fields release methane."}) + "\n\n"
        + json.dumps({"id": "d10", "text": "Merino sheep yield five kilograms of wool."}) + "\n")
    (root / ".hidden.txt").write_text("never indexed")
    (root / "image.png").write_bytes(b"\x89PNG")
    return root


def test_folder_becomes_corpus_rows(folder, caplog):
    rows = ingest_folder(folder)
    by_id = {r["id"]: r for r in rows}
    assert [r["id"] for r in rows] == ["bees.txt", "d09", "d10", "guides/drip.pdf", "guides/tomato_blight.pdf",
                                       "soil.md"]
    pdf = by_id["guides/tomato_blight.pdf"]
    assert pdf["title"] == "Tomato blight"  # from the PDF's /Info
    assert "Late blight browns tomato leaves." in pdf["text"] and "Copper sprays slow the disease." in pdf["text"]
    assert by_id["guides/drip.pdf"]["title"] == "drip"  # no metadata: the file name
    assert by_id["soil.md"]["title"] == "Soil pH" and "acidic soil" in by_id["soil.md"]["text"]
    assert by_id["bees.txt"]["title"] == "bees"
    assert by_id["d09"]["title"] == "Rice paddies" and by_id["d10"]["title"] == ""
    assert by_id["d10"]["source"].endswith("extra.jsonl:3")
    assert ".png" in caplog.text  # unsupported files are reported, not silently dropped


def test_ingested_corpus_is_retrievable(folder, tmp_path):
    rows = ingest_folder(folder)
    hits = retrieve(rows, ["tomato leaves disease copper"], RetrieverConfig(kind="bm25", top_k=1))
    assert hits[0][0].doc_id == "guides/tomato_blight.pdf"
    out = write_corpus(rows, tmp_path / "corpus.jsonl")
    assert [json.loads(line)["id"] for line in out.read_text().splitlines()] == [r["id"] for r in rows]


def test_ids_are_stable_when_the_folder_moves(folder, tmp_path):
    moved = tmp_path / "elsewhere"
    folder.rename(moved)
    assert [r["id"] for r in ingest_folder(moved)][-1] == "soil.md"


@pytest.mark.parametrize(
    ("name", "content", "match"),
    [
        ("broken.pdf", b"%PDF-1.4\nthis is not really a pdf", r"broken\.pdf: unreadable PDF"),
        ("blank.pdf", None, r"blank\.pdf: the PDF has no text"),
        ("empty.md", b"  \n\n", r"empty\.md: the document has no text"),
        ("latin1.txt", "café".encode("latin-1"), r"latin1\.txt: not UTF-8"),
        ("bad.jsonl", b'{"id": "a", "text": "ok"}\n{"id": "b", "text": \n', r"bad\.jsonl:2: malformed JSON"),
        ("noid.jsonl", b'{"text": "x"}\n', r"noid\.jsonl:1: field 'id'"),
        ("notext.jsonl", b'{"id": "a", "text": ""}\n', r"notext\.jsonl:1: field 'text'"),
        ("list.jsonl", b"[1, 2]\n", r"list\.jsonl:1: expected a JSON object"),
    ],
)
def test_bad_documents_name_the_file(tmp_path, name, content, match):
    root = tmp_path / "docs"
    root.mkdir()
    (root / name).write_bytes(make_pdf([]) if content is None else content)
    with pytest.raises(HarnessError, match=match):
        ingest_folder(root)


def test_duplicate_ids_and_empty_folders_rejected(tmp_path):
    root = tmp_path / "docs"
    root.mkdir()
    with pytest.raises(HarnessError, match="holds no documents"):
        ingest_folder(root)
    with pytest.raises(HarnessError, match="does not exist"):
        ingest_folder(tmp_path / "missing")
    (root / "a.jsonl").write_text('{"id": "x", "text": "one"}\n')
    (root / "b.jsonl").write_text('{"id": "x", "text": "two"}\n')
    with pytest.raises(HarnessError, match=r"b\.jsonl:1: document id 'x' already used by .*a\.jsonl:1"):
        ingest_folder(root)
