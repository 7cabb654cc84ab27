"""Reproduction configs: the paper's published numbers beside the run's own (paper_vs_ours.md).

A row may only print ours − paper when both sides measure the same task format and the same
contrast; these tests compute the table on small synthetic run data (and on a stored run
folder) and check the verdicts, the CIs, the chance floors and that a contrast is the same two
conditions on both sides.
"""

from __future__ import annotations

import math
import shutil

import pandas as pd
import pytest
import yaml

from harness.errors import HarnessError
from harness.records import N_CHOICES
from harness.report import paper
from harness.scoring import stats
from tests.conftest import REPO, harness, run_folders

FIXTURE = REPO / "tests" / "fixtures" / "agri-run"
REPRO = sorted((REPO / "conf" / "exp").glob("repro_*.yaml"))
EMPTY = pd.DataFrame()


def block(fmt: str, rows: list[dict], *, compare_levels: bool = False) -> dict:
    return {"source": "A 2024, arXiv 0000.00000", "metric": "accuracy", "format": fmt,
            "compare_levels": compare_levels, "rows": rows}


def scores(pattern: str, choices: int | None = None) -> dict[str, dict[str, float]]:
    """One task's per-question records from a 0/1 string ('1101…'), with choices for MC."""
    extra = {N_CHOICES: float(choices)} if choices else {}
    return {f"q{i:02d}": {"acc": float(c), "contains": float(c), "correct": float(c), **extra} for i, c in enumerate(pattern)}


def compose(exp: str) -> dict:
    from hydra import compose as hydra_compose, initialize_config_dir
    from omegaconf import OmegaConf

    with initialize_config_dir(version_base="1.3", config_dir=str(REPO / "conf")):
        return OmegaConf.to_container(hydra_compose(config_name="config", overrides=[f"+exp={exp}"]), resolve=True)


def test_every_repro_config_names_its_source_and_valid_rows():
    assert len(REPRO) >= 3
    for path in REPRO:
        found = yaml.safe_load(path.read_text())["paper"]
        assert "arXiv" in found["source"], path.name
        assert found["format"] in paper.FORMATS and found["metric"], path.name
        assert paper._rows(found)


@pytest.mark.parametrize("path", REPRO, ids=lambda p: p.stem)
def test_the_lookup_works_for_every_condition_of_each_repro_experiment(path):
    """Every row's condition and ``vs`` are conditions of the experiment's grid, and on records
    in the suite's own formats every row finds the paper's number and ours (the FT row of the
    knowledge-injection config printed "—" when the reference was looked up by label)."""
    from harness import spec
    from harness.suites import load_suite

    cfg = compose(path.stem)
    names = [c.name for c in spec.from_config(cfg).conditions]
    suite = load_suite(cfg["suite"]["name"], tasks_root=REPO / "tasks")
    found = yaml.safe_load(path.read_text())["paper"]
    tasks = {str(r["ours"]).split("/")[0] for r in found["rows"]}
    choices = {t: len(suite.task(t).rows[0]["choices"]) if suite.task(t).kind == "multiple_choice" else None
               for t in tasks}
    samples = {name: {t: scores("0110100110"[i:] + "0110100110"[:i], choices[t]) for t in tasks}
               for i, name in enumerate(names)}
    for row in found["rows"]:
        assert row["condition"] in names and row.get("vs", names[0]) in names, (path.stem, row)
    for row, got in zip(found["rows"], paper.compare(found, EMPTY, samples)):
        assert not math.isnan(got.paper) and not math.isnan(got.ours.estimate), (path.stem, row)
        assert not got.verdict.startswith("not measured"), (path.stem, got.verdict)
        if row.get("vs"):
            ref = next(r for r in found["rows"] if r["condition"] == row["vs"] and r["ours"] == row["ours"])
            assert got.paper == pytest.approx(float(row["paper"]) - float(ref["paper"]))


@pytest.mark.parametrize("exp, expected", [
    ("repro_agri", ["not comparable", "comparable", "comparable"]),  # GPT-4's level; the two gains
    ("repro_finetunebench", ["comparable", "comparable"]),  # open levels of the fine-tuned model
    ("repro_finetunebench_update", ["not comparable"]),  # open-ended figure vs our 4-way MC
    ("repro_knowledge_injection", ["not comparable"] * 3),  # MC vs our open QA
])
def test_each_repro_config_gets_the_verdicts_its_formats_allow(exp, expected):
    from harness.suites import load_suite

    found = yaml.safe_load((REPO / "conf" / "exp" / f"{exp}.yaml").read_text())["paper"]
    suite = load_suite(compose(exp)["suite"]["name"], tasks_root=REPO / "tasks")
    samples: dict = {}
    for row in found["rows"]:
        task = suite.task(str(row["ours"]).split("/")[0])
        k = len(task.rows[0]["choices"]) if task.kind == "multiple_choice" else None
        for cond in (row["condition"], row.get("vs")):
            if cond:
                samples.setdefault(cond, {})[task.name] = scores("1001", k)
    verdicts = [c.verdict.split(":")[0] for c in paper.compare(found, EMPTY, samples)]
    assert verdicts == expected


def test_an_mc_result_against_an_open_ended_figure_is_not_comparable():
    """The FineTuneBench update figure (open-ended) against our 4-way MC below chance."""
    rows = [{"condition": "ft", "label": "updated", "paper": 0.19, "ours": "upd/acc"}]
    samples = {"ft": {"upd": scores("10000", choices=4)}}
    (got,) = paper.compare(block("open", rows, compare_levels=True), EMPTY, samples)
    assert got.verdict == "not comparable: the paper's open-ended answers vs our multiple choice"
    assert got.chance == pytest.approx(0.25) and got.our_format.startswith("4-way multiple choice")
    line = next(x for x in paper.paper_vs_ours(block("open", rows), EMPTY, samples).splitlines() if x.startswith("| updated"))
    cells = [c.strip() for c in line.strip("|").split("|")]
    assert cells[-1] == "—" and cells[6] == "0.250" and "(below chance)" in cells[5]
    (reverse,) = paper.compare(block("mc", [{**rows[0], "ours": "upd/contains"}]), EMPTY,
                               {"ft": {"upd": scores("10000")}})
    assert reverse.verdict == "not comparable: the paper's multiple choice vs our open-ended answers"


def test_a_matched_pairing_shows_our_ci_the_chance_floor_and_the_difference():
    rows = [{"condition": "ft", "label": "acc", "paper": 0.5, "ours": "mc/acc"}]
    pattern = "1110111011"  # 8 of 10
    samples = {"ft": {"mc": scores(pattern, choices=4)}}
    (got,) = paper.compare(block("mc", rows, compare_levels=True), EMPTY, samples)
    low, high = stats.wilson(8, 10)
    assert got.comparable and got.ours.estimate == pytest.approx(0.8)
    assert (got.ours.low, got.ours.high) == pytest.approx((low, high))
    line = next(x for x in paper.paper_vs_ours(block("mc", rows, compare_levels=True), EMPTY, samples).splitlines()
                if x.startswith("| acc"))
    assert f"0.800 [{low:.3f}, {high:.3f}]" in line and "| 0.250 |" in line and "| comparable |" in line
    assert f"+30.0 pp [{100 * (low - 0.5):+.1f}, {100 * (high - 0.5):+.1f}]" in line
    (level,) = paper.compare(block("mc", rows), EMPTY, samples)  # a level of another model: no claim
    assert level.verdict.startswith("not comparable: a level")


def test_a_contrast_is_the_same_two_conditions_on_both_sides():
    """The paper's FT+RAG − FT is met by our FT+RAG − FT, paired per question, not by
    FT+RAG − RAG (which these records make different) nor by the run's reference (base)."""
    samples = {"base": {"qa": scores("0000000000")}, "base+dense": {"qa": scores("1111110000")},
               "ft": {"qa": scores("1000000000")}, "ft+dense": {"qa": scores("1111111100")}}
    rows = [{"condition": "ft", "paper": 0.81, "ours": "qa/contains"},
            {"condition": "ft+dense", "vs": "ft", "label": "RAG on FT", "paper": 0.86, "ours": "qa/contains"}]
    got = paper.compare(block("open", rows), EMPTY, samples)[1]
    expected = stats.paired_delta([1] + [0] * 9, [1] * 8 + [0] * 2)
    assert got.contrast == "ft+dense − ft" and got.comparable
    assert got.paper == pytest.approx(0.05)
    assert got.ours.estimate == pytest.approx(0.7) and got.ours.estimate != pytest.approx(0.8 - 0.6)
    assert (got.ours.low, got.ours.high) == pytest.approx((expected.low, expected.high))
    line = next(x for x in paper.paper_vs_ours(block("open", rows), EMPTY, samples).splitlines()
                if x.startswith("| RAG on FT"))
    assert "| ft+dense − ft |" in line and "+5.0 pp" in line and "+65.0 pp" in line and "≈0 (open answer)" in line


def test_table_from_a_stored_run(tmp_path):
    """report_run writes paper_vs_ours.md from a stored run folder's records (no model)."""
    from harness.report.run_report import report_run

    run = tmp_path / "run"
    shutil.copytree(FIXTURE, run)
    found = yaml.safe_load((REPO / "conf" / "exp" / "repro_agri.yaml").read_text())["paper"]
    for row in found["rows"]:  # the fixture's records predate the `correct` scorer
        row["ours"] = row["ours"].replace("/correct", "/contains")
    found["rows"].append({"condition": "ft", "label": "mc", "paper": 0.9, "ours": "agri_mc/acc"})
    (run / "config.yaml").write_text(yaml.safe_dump({"paper": found}, allow_unicode=True))
    markdown = report_run(run, similarity=False)
    table = (run / "paper_vs_ours.md").read_text()
    assert "Paper vs ours" in markdown and "arXiv 2401.08406" in table
    rag_on_ft = next(line for line in table.splitlines() if line.startswith("| RAG on top of FT"))
    assert "| ft+dense − ft |" in rag_on_ft and "+5.0 pp" in rag_on_ft and "| comparable |" in rag_on_ft
    mc = next(line for line in table.splitlines() if line.startswith("| mc |"))
    assert "not comparable: the paper's open-ended answers vs our multiple choice" in mc and mc.rstrip(" |").endswith("—")
    assert "choices not recorded" in mc  # the fixture's MC records predate stored choices: floor unknown


@pytest.mark.parametrize("rows, message", [
    ([], "expected a list"),
    ([{"condition": "base", "paper": 0.5}], "missing field"),
    ([{"condition": "base", "paper": 0.5, "ours": "a/acc", "extra": 1}], "unknown field"),
    ([{"condition": "base", "paper": 0.5, "ours": "mean"}], "one task's column"),
    ([{"condition": "ft", "vs": "base", "paper": 0.5, "ours": "a/acc"}], "no row gives the paper's number"),
])
def test_malformed_paper_blocks_are_named(rows, message):
    with pytest.raises(HarnessError, match=message):
        paper._rows({"rows": rows})


@pytest.mark.parametrize("change, message", [({"format": "judge"}, "paper.format"), ({"metric": ""}, "paper.metric"),
                                             ({"levels": True}, "unknown field")])
def test_a_block_must_say_what_its_numbers_measure(change, message):
    with pytest.raises(HarnessError, match=message):
        paper.compare({**block("mc", [{"condition": "ft", "paper": 0.5, "ours": "a/acc"}]), **change}, EMPTY)


def test_a_repro_experiment_runs_and_prints_paper_vs_ours(tmp_path, session_cache, smollm2):
    args = ["run", "+exp=repro_finetunebench", "eval.limit=4", "finetune.epochs=1",
            f"results_dir={tmp_path}", "history_db="]
    proc = harness(*args, cache=session_cache, timeout=1200)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Paper vs ours" in proc.stdout and "arXiv 2411.05059" in proc.stdout and "knowledge_gen/correct" in proc.stdout
    runs = run_folders(tmp_path / "repro_finetunebench")
    assert (runs[0] / "paper_vs_ours.md").is_file()
