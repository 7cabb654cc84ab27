"""The README fits on a screen and every link in it and in docs/ lands (issue #21). Fast, no model."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
PAGES = [README, *sorted((ROOT / "docs").glob("*.md"))]

FENCE = re.compile(r"^(```|~~~)")
INLINE_CODE = re.compile(r"`[^`\n]*`")
LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\[\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
HEADING = re.compile(r"^ {0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
EXTERNAL = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")  # http:, https:, mailto:, …


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: markup dropped, lowercase, punctuation other than '-' and
    '_' removed, each space a '-'."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link in a heading: its text
    text = text.strip().lower()
    kept = "".join(ch for ch in text if ch.isalnum() or ch in " -_")
    return kept.replace(" ", "-")


def _prose_lines(path: Path) -> list[str]:
    """The file's lines outside fenced code blocks."""
    out, fenced = [], False
    for line in path.read_text(encoding="utf-8").splitlines():
        if FENCE.match(line.strip()):
            fenced = not fenced
            continue
        if not fenced:
            out.append(line)
    return out


def anchors(path: Path) -> set[str]:
    """Every heading anchor of a markdown file, duplicates numbered as GitHub does (-1, -2, …)."""
    seen: dict[str, int] = {}
    result = set()
    for line in _prose_lines(path):
        m = HEADING.match(line)
        if not m:
            continue
        base = slug(m.group(2))
        n = seen.get(base, 0)
        seen[base] = n + 1
        result.add(base if n == 0 else f"{base}-{n}")
    return result


def links(path: Path) -> list[str]:
    """The relative link targets of a markdown file (code spans and fenced blocks skipped)."""
    found = []
    for line in _prose_lines(path):
        for m in LINK.finditer(INLINE_CODE.sub("", line)):
            target = m.group(1)
            if not EXTERNAL.match(target):
                found.append(target)
    return found


def test_slug_matches_github():
    assert slug("What `run +exp=agri` does") == "what-run-expagri-does"
    assert slug("Index scale: flat vs HNSW vs IVF-PQ at 10k / 100k / 1M passages") == \
        "index-scale-flat-vs-hnsw-vs-ivf-pq-at-10k--100k--1m-passages"
    assert slug("Harness overhead and cached reruns (`bench/bench_overhead.py`)") == \
        "harness-overhead-and-cached-reruns-benchbench_overheadpy"
    assert slug("The Decision: which condition to ship, what it costs") == \
        "the-decision-which-condition-to-ship-what-it-costs"


def test_readme_fits_on_a_screen():
    size = len(README.read_bytes())
    assert size < 8192, f"README.md is {size} bytes; move reference material into docs/"


def test_readme_keeps_the_two_commands_ci_reads():
    text = README.read_text(encoding="utf-8")
    for command in ("bash scripts/setup.sh && .venv/bin/python -m harness run +exp=agri",
                    "bash scripts/setup.sh && .venv/bin/python -m pytest -q"):
        assert f"```bash\n{command}\n```" in text, command


def test_readme_links_into_docs():
    targets = {t.split("#")[0] for t in links(README)}
    assert any(t.startswith("docs/") for t in targets)


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_resolves(page: Path):
    problems = []
    for target in links(page):
        file_part, _, anchor = target.partition("#")
        dest = (page.parent / file_part).resolve() if file_part else page
        if not dest.exists():
            problems.append(f"{target}: no file {dest.relative_to(ROOT) if dest.is_relative_to(ROOT) else dest}")
            continue
        if anchor and dest.suffix == ".md" and anchor.lower() not in anchors(dest):
            problems.append(f"{target}: no heading '#{anchor}' in {dest.relative_to(ROOT)}")
    assert not problems, f"{page.relative_to(ROOT)}:\n" + "\n".join(problems)


TEST_REF = re.compile(r"(tests/test_\w+\.py)|::(test_\w+)")


def test_every_test_a_page_names_exists():
    """A promise that points to a test points to one that exists: ``tests/x.py`` is a file and
    ``::name`` (after the last file named) a test function in it."""
    problems = []
    for page in PAGES:
        current = None
        for m in TEST_REF.finditer(page.read_text(encoding="utf-8")):
            if m.group(1):
                current = ROOT / m.group(1)
                if not current.is_file():
                    problems.append(f"{page.name}: {m.group(1)} does not exist")
            elif current is not None and current.is_file() and \
                    f"def {m.group(2)}(" not in current.read_text(encoding="utf-8"):
                problems.append(f"{page.name}: {current.name} has no {m.group(2)}")
    assert not problems, "\n".join(problems)
