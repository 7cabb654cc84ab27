"""Reproduction configs: the paper's published numbers beside the run's own (paper_vs_ours.md)."""

from __future__ import annotations

import shutil

import pytest
import yaml

from harness.errors import HarnessError
from harness.report import paper
from tests.conftest import REPO, harness, run_folders

FIXTURE = REPO / "tests" / "fixtures" / "agri-run"
REPRO = sorted((REPO / "conf" / "exp").glob("repro_*.yaml"))


def test_every_repro_config_names_its_source_and_valid_rows():
    assert len(REPRO) >= 3
    for path in REPRO:
        block = yaml.safe_load(path.read_text())["paper"]
        assert "arXiv" in block["source"], path.name
        assert paper._rows(block)


def test_table_from_a_stored_run(tmp_path):
    from harness.report.run_report import report_run

    run = tmp_path / "run"
    shutil.copytree(FIXTURE, run)
    block = {"source": "A 2024, arXiv 0000.00000", "note": "levels differ",
             "rows": [{"condition": "base", "label": "acc", "paper": 0.5, "ours": "mean"},
                      {"condition": "ft+dense", "label": "acc", "paper": 0.7, "ours": "mean"},
                      {"condition": "ft", "label": "mc", "paper": 0.6, "ours": "no/such"}]}
    (run / "config.yaml").write_text(yaml.safe_dump({"paper": block}))
    markdown = report_run(run, similarity=False)
    table = (run / "paper_vs_ours.md").read_text()
    assert "Paper vs ours" in markdown and "arXiv 0000.00000" in table
    ft_dense = next(line for line in table.splitlines() if line.startswith("| ft+dense"))
    assert "0.700" in ft_dense and "+20.0 pp" in ft_dense  # the paper's own delta vs base
    assert next(line for line in table.splitlines() if line.startswith("| ft |")).count("—") >= 2


@pytest.mark.parametrize("rows, message", [
    ([], "expected a list"),
    ([{"condition": "base", "paper": 0.5}], "missing field"),
    ([{"condition": "base", "paper": 0.5, "ours": "mean", "extra": 1}], "unknown field"),
])
def test_malformed_paper_blocks_are_named(rows, message):
    with pytest.raises(HarnessError, match=message):
        paper._rows({"rows": rows})


def test_a_repro_experiment_runs_and_prints_paper_vs_ours(tmp_path, session_cache, smollm2):
    args = ["run", "+exp=repro_finetunebench", "eval.limit=4", "finetune.epochs=1",
            f"results_dir={tmp_path}", "history_db="]
    proc = harness(*args, cache=session_cache, timeout=1200)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Paper vs ours" in proc.stdout and "arXiv 2411.05059" in proc.stdout and "knowledge_gen/contains" in proc.stdout
    runs = run_folders(tmp_path / "repro_finetunebench")
    assert (runs[0] / "paper_vs_ours.md").is_file()
