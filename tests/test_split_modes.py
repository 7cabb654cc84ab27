"""Every suite names its split mode (paraphrase, transfer, mixed), and the leaderboard says it.

A paraphrase suite asks trained facts in new words (does fine-tuning inject facts?); a transfer
suite asks facts never trained (does it help on unseen ones?). ``Suite.split_mode`` reads
suite.yaml's ``split.mode`` or, without one, the rows' ``fact_id``s. Fast: no model.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from harness.errors import HarnessError
from harness.report.subset import split_line
from harness.suites import load_suite, subset_suite
from harness.suites.loader import infer_split_mode
from tests.conftest import REPO

TASKS = REPO / "tasks"
# what each shipped suite's fact ids say: agri, finance, knowledge and medical ask every eval fact
# in other words than its training rows; general trains on facts it never asks
SHIPPED = {"agri": "paraphrase", "finance": "paraphrase", "general": "transfer", "knowledge": "paraphrase",
           "medical": "paraphrase"}
LINES = {"paraphrase": "**Split**: paraphrase (every eval question asks a trained fact in new words).",
         "transfer": "**Split**: transfer (eval facts were never trained)."}


@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_shipped_suites_infer_their_mode_from_fact_ids(name: str) -> None:
    suite = load_suite(name, TASKS)
    assert suite.split == {} and suite.split_mode == SHIPPED[name]  # no split: in their suite.yaml


def test_inference_rules() -> None:
    train = [{"fact_id": "a"}, {"fact_id": "b"}]
    assert infer_split_mode(train, [{"fact_id": "a"}, {"fact_id": "b"}]) == "paraphrase"
    assert infer_split_mode(train, [{"fact_id": "c"}]) == "transfer"
    assert infer_split_mode(train, [{"fact_id": "a"}, {"fact_id": "c"}]) == "mixed"
    assert infer_split_mode(train, [{"id": "x"}]) is None and infer_split_mode([{"id": "t"}], [{"fact_id": "a"}]) is None


def test_a_subset_infers_its_own_rows() -> None:
    assert subset_suite(load_suite("agri", TASKS), 6).split_mode == "paraphrase"


def _copy_with_split(tmp_path: Path, split: str) -> Path:
    folder = Path(shutil.copytree(TASKS / "agri", tmp_path / "agri"))  # a suite with no code outside it
    spec = (folder / "suite.yaml").read_text()
    (folder / "suite.yaml").write_text(spec.replace("\ntasks:", f"\nsplit: {split}\ntasks:", 1))
    return folder


def test_suite_yaml_split_mode_wins_and_is_checked(tmp_path: Path) -> None:
    folder = _copy_with_split(tmp_path, "{mode: mixed, unit: fact}")
    suite = load_suite(folder, tmp_path)
    assert suite.split_mode == "mixed" and suite.split == {"mode": "mixed", "unit": "fact"}
    folder = _copy_with_split(tmp_path / "bad", "{mode: paraphrased}")
    with pytest.raises(HarnessError, match=r"suite\.yaml line \d+: field 'split\.mode' is 'paraphrased'; expected "
                                           r"one of paraphrase, transfer, mixed"):
        load_suite(folder, tmp_path / "bad")


@pytest.mark.parametrize("name", ["agri", "general"])
def test_leaderboard_names_the_split_mode(name: str) -> None:
    folder = REPO / "results" / "baselines" / name
    manifest = json.loads((folder / "manifest.json").read_text())
    line = LINES[SHIPPED[name]]
    assert split_line(manifest) == line
    board = (folder / "leaderboard.md").read_text()
    assert board.startswith("## Decision\n")  # the Decision stays on top; the mode closes the head
    assert f"\n\n{line}\n\n## Leaderboard\n" in board
    hub = {"spec": {"suite": {"hub": "pubmedqa", "name": "pubmedqa"}}}
    assert split_line(hub) == "" and split_line(None) == ""  # unknown: no line (a hub suite is not converted for it)
