"""``suite.docs`` (issue #23): a suite cut to some documents keeps what makes it hard — the
near-duplicate guides, the catalogue entries its two-document questions need, the indirect
questions — and both arms keep the same knowledge. No model."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from harness.errors import HarnessError
from harness.sections import SuiteRef
from harness.suites import load, load_suite, subset_suite
from harness.suites.subset import subset_by_docs

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def agri():
    return load_suite("agri", REPO / "tasks")


def test_one_region_keeps_every_kind_of_difficulty(agri):
    small = subset_by_docs(agri, ["*Velmora*"])
    titles = [d["title"] for d in small.corpus]
    assert sum("Velmora Plateau" in t for t in titles) == 5       # the asked guides
    assert sum("Velmora Lowlands" in t for t in titles) == 2      # their near-duplicate neighbours
    assert sum(t.startswith("Seed catalogue") for t in titles) == 5  # what the two-document questions need
    qa = next(t for t in small.tasks if t.kind == "open_qa")
    assert Counter(r["variant"] for r in qa.rows) == {"direct": 15, "indirect": 5, "two_doc": 5}
    # same knowledge for both arms: every kept document's training rows, no other document's
    kept = {d["id"] for d in small.corpus}
    assert {r["doc_id"] for r in small.train} == kept
    assert len(small.train) == sum(r["doc_id"] in kept for r in agri.train) == 62
    # every question's gold documents are in the corpus, and every question is about a matched one
    for task in small.tasks:
        assert task.rows and all(set(r["gold_ids"]) <= kept for r in task.rows)
    # the first-N cut drops all of that: no neighbours, no catalogue, no two-document questions
    first = subset_suite(agri, 6)
    assert not any(t.startswith("Seed catalogue") for t in (d["title"] for d in first.corpus))
    assert "two_doc" not in Counter(r["variant"] for r in next(t for t in first.tasks if t.kind == "open_qa").rows)


def test_patterns_match_ids_or_titles_and_name_the_suite_in_the_hash(agri):
    by_id = subset_by_docs(agri, ["agri-doc-001"])
    assert {d["id"] for d in by_id.corpus} == {"agri-doc-001", "agri-doc-043"}  # + the catalogue entry
    assert subset_by_docs(agri, ["*VELMORA*"]).content_hash == subset_by_docs(agri, ["*Velmora*"]).content_hash
    assert by_id.content_hash not in (agri.content_hash, subset_by_docs(agri, ["*Velmora*"]).content_hash)


@pytest.mark.parametrize("patterns, message", [(["*Atlantis*"], "matches no document"),
                                               ([], "empty list")])
def test_bad_patterns_are_one_clear_error(agri, patterns, message):
    with pytest.raises(HarnessError, match=message):
        subset_by_docs(agri, patterns)


def test_the_config_section(agri):
    ref = SuiteRef.from_dict({"name": "agri", "path": "tasks/agri", "n_docs": None, "docs": ["*Velmora*"]})
    assert len(load(ref).train) == 62
    # unset, the section is what it was before the option existed (spec hashes unchanged)
    assert "docs" not in SuiteRef.from_dict({"name": "agri", "path": "tasks/agri", "n_docs": None, "docs": None}).raw
    with pytest.raises(HarnessError, match="suite.docs='Velmora'"):
        SuiteRef.from_dict({"name": "agri", "path": "tasks/agri", "docs": "Velmora"})
    # both: the matching documents first, then the first n_docs of those (quick runs of +exp=agri)
    both = load(SuiteRef.from_dict({"name": "agri", "path": "tasks/agri", "n_docs": 1, "docs": ["*Velmora*"]}))
    assert [d["id"] for d in both.corpus] == ["agri-doc-001"] and both.content_hash != agri.content_hash
