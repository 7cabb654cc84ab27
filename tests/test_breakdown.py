"""The breakdown tables (harness.report.breakdown) on a small synthetic run folder whose answers
are chosen so every number is known: per attribute with the spread over templates, stale
answers with the paired delta (from the stored score and, for older folders, from the chosen
index), recall@k per question variant, and nothing at all when the rows lack the fields.

Fast: no model, no embedder (``similarity=False``)."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import pytest

from harness.jsonl import write_jsonl
from harness.records import load_records, load_samples
from harness.report import breakdown, leaderboard, run_report
from harness.retrieval.metrics import context_metrics, context_metrics_by
from harness.scoring import stats

TASK = "toy_mc"
N = 12  # ids 0-5 ask about pest (templates pest/0: 0-2, pest/1: 3-5), 6-11 about irrigation
CONDITIONS = ("base", "base+dense", "ft", "ft+dense")


def _label(i: int) -> int:
    return i % 4


def _stale_label(i: int) -> int:
    return (i + 1) % 4


def _output(condition: str, i: int) -> int:
    """base: every pest question right, irrigation wrong (6 and 7 with the superseded answer);
    ft: right on the first pest phrasing only, stale on 3-10; base+dense: all right;
    ft+dense: right on even ids, stale on odd ones."""
    right, stale, neither = _label(i), _stale_label(i), (_label(i) + 2) % 4
    if condition == "base":
        return right if i < 6 else (stale if i in (6, 7) else neither)
    if condition == "ft":
        return right if i < 3 else (stale if i <= 10 else neither)
    if condition == "base+dense":
        return right
    return right if i % 2 == 0 else stale


def _row(i: int, fields: bool, dense: bool) -> dict:
    attribute = "pest" if i < 6 else "irrigation"
    row = {"id": f"toy-{i:03d}", "question": f"question {i}", "choices": [f"c{i}-{k}" for k in range(4)],
           "label": _label(i), "gold_ids": [f"doc-{i}"], "stale_label": _stale_label(i), "context": ""}
    if fields:
        row.update(attribute=attribute, template=f"{attribute}/{(i % 6) // 3}",
                   variant="direct" if i % 2 == 0 else "indirect")
    if dense:  # a direct question retrieves its document, an indirect one another
        found = i % 2 == 0
        row.update(retrieved_doc_ids=[f"doc-{i}" if found else "doc-other"],
                   context=f"[1] the answer is c{i}-{_label(i)}" if found else "[1] nothing useful")
    return row


def make_run(root: Path, *, fields: bool = True, stale_scores: bool = True) -> Path:
    """A run folder: metrics.json, samples/<condition>/toy_mc.jsonl and tasks/toy_mc__{closed,dense}.jsonl."""
    run = root / "20260101-000000-toy"
    closed, dense = [_row(i, fields, False) for i in range(N)], [_row(i, fields, True) for i in range(N)]
    write_jsonl(run / "tasks" / f"{TASK}__closed.jsonl", closed)
    write_jsonl(run / "tasks" / f"{TASK}__dense.jsonl", dense)
    conditions = {}
    for condition in CONDITIONS:
        records = []
        for i in range(N):
            out = _output(condition, i)
            scores = {"acc": float(out == _label(i))}
            if stale_scores:
                scores["stale"] = float(out == _stale_label(i))
            records.append({"condition": condition, "task": TASK, "doc_id": i, "id": f"toy-{i:03d}",
                            "target": _label(i), "output": out, "scores": scores, "choices": closed[i]["choices"]})
        write_jsonl(run / "samples" / condition / f"{TASK}.jsonl", records)
        acc = sum(r["scores"]["acc"] for r in records) / N
        conditions[condition] = {TASK: {"acc": acc, "acc_stderr": math.sqrt(acc * (1 - acc) / (N - 1)), "n": N}}
    metrics = {"conditions": conditions, "primary": {TASK: "acc"}, "reference": "base",
               "retrieval_metrics": {f"{TASK}__dense": context_metrics(dense, 1)}}
    (run / "metrics.json").write_text(json.dumps(metrics))
    return run


def ci_text(k: int, n: int) -> str:
    low, high = stats.wilson(k, n)
    return f"{k / n:.3f} [{low:.3f}, {high:.3f}]"


def _tables(run: Path) -> dict[str, object]:
    got = breakdown.breakdown_tables(run, load_samples(run), load_records(run), {TASK: "acc"}, "base",
                                     list(CONDITIONS))
    return {title.split(":")[0]: table for title, table in got}


def test_per_attribute_scores_with_the_spread_over_templates(tmp_path: Path):
    table = _tables(make_run(tmp_path))["Per attribute"]
    assert list(table.columns) == ["irrigation (n=6)", "pest (n=6)"]
    assert list(table.index) == list(CONDITIONS)
    # base: 1.00 on pest, 0.00 on irrigation; both pest phrasings alike
    assert table.loc["base", "pest (n=6)"] == ci_text(6, 6) + " · phrasings 1.00–1.00"
    assert table.loc["base", "irrigation (n=6)"] == ci_text(0, 6) + " · phrasings 0.00–0.00"
    # ft: 0.5 on pest because one phrasing is always right and the other always wrong
    assert table.loc["ft", "pest (n=6)"] == ci_text(3, 6) + " · phrasings 0.00–1.00"
    assert table.loc["ft+dense", "irrigation (n=6)"] == ci_text(3, 6) + " · phrasings 0.33–0.67"


def test_stale_share_and_paired_delta(tmp_path: Path):
    table = _tables(make_run(tmp_path))["Stale answers"]
    shares = {"base": 2, "base+dense": 0, "ft": 8, "ft+dense": 6}
    for condition, k in shares.items():
        assert table.loc[condition, f"{TASK} stale share"] == ci_text(k, N)
    delta = table[f"Δ {TASK} vs base"]
    assert delta["base"] == "(reference)"
    base = [float(_output("base", i) == _stale_label(i)) for i in range(N)]
    raw = {}
    for condition in ("base+dense", "ft", "ft+dense"):
        got = stats.paired_delta(base, [float(_output(condition, i) == _stale_label(i)) for i in range(N)])
        raw[condition] = got.p_value
        assert delta[condition].startswith(f"{100 * got.estimate:+.1f} pp [")
        assert f"p={got.p_value:.3f}" in delta[condition] or (got.p_value < 0.001 and "p<0.001" in delta[condition])
    adjusted = dict(zip(raw, stats.holm_adjust(list(raw.values()))))
    for condition, p in adjusted.items():
        assert f"(Holm p={p:.3f})" in delta[condition]
        assert delta[condition].endswith(" *" if p < 0.05 else " ns")
    assert "+50.0 pp" in delta["ft"]  # 8 of 12 stale against 2 of 12


def test_stale_from_the_chosen_index_when_the_run_did_not_score_it(tmp_path: Path):
    scored = _tables(make_run(tmp_path / "a"))["Stale answers"]
    derived = _tables(make_run(tmp_path / "b", stale_scores=False))["Stale answers"]
    assert scored.equals(derived)


def test_recall_per_variant(tmp_path: Path):
    run = make_run(tmp_path)
    rows = breakdown.retrieval_by_variant(run, json.loads((run / "metrics.json").read_text())["retrieval_metrics"])
    overall = rows[f"{TASK}__dense"]
    assert overall["recall@1"] == 0.5 and overall["n"] == N
    assert rows[f"{TASK}__dense · variant=direct"]["recall@1"] == 1.0
    assert rows[f"{TASK}__dense · variant=indirect"]["recall@1"] == 0.0
    assert rows[f"{TASK}__dense · variant=direct"]["answer_in_context"] == 1.0
    assert rows[f"{TASK}__dense · variant=indirect"]["n"] == N / 2
    assert context_metrics_by([{"gold_ids": ["a"], "retrieved_doc_ids": ["a"]}], 1) == {}  # no variant: no row
    dense = run / "tasks" / f"{TASK}__dense.jsonl"  # one variant only: it would repeat the overall row
    write_jsonl(dense, [dict(json.loads(line), variant="direct") for line in dense.read_text().splitlines()])
    assert set(breakdown.retrieval_by_variant(run, {f"{TASK}__dense": overall})) == {f"{TASK}__dense"}


def test_the_report_shows_every_breakdown(tmp_path: Path):
    run = make_run(tmp_path)
    markdown = run_report.report_run(run, similarity=False)
    assert markdown == (run / "leaderboard.md").read_text().rstrip("\n")
    assert "**Per attribute: toy_mc/acc (95% CI as in the leaderboard; · phrasings" in markdown
    assert "**Stale answers: share that picked the superseded fact (lower is better;" in markdown
    assert re.search(r"\| toy_mc__dense · variant=indirect \|\s+0\.000 \|", markdown)
    # the retrieval table first, then the breakdowns, then the scoring tables
    assert markdown.index("**Retrieval") < markdown.index("**Per attribute") < markdown.index("**Stale answers") \
        < markdown.index("**Cost")
    page = (run / "report.html").read_text()
    assert "<h3>Per attribute: toy_mc/acc" in page and "<h3>Stale answers: share" in page
    assert "toy_mc__dense · variant=direct" in page
    for name in ("leaderboard.html", "leaderboard.tex"):
        assert "Stale answers" in (run / name).read_text() and "Per attribute" in (run / name).read_text()
    assert leaderboard.rebuild(run) == markdown.split("## Leaderboard\n\n", 1)[1].split("\n\n**Cost")[0]


@pytest.mark.parametrize("stale", [True, False])
def test_rows_without_the_fields_show_nothing(tmp_path: Path, stale: bool):
    run = make_run(tmp_path, fields=False, stale_scores=stale)
    for path in (run / "tasks").glob("*.jsonl"):  # no stale_label either
        rows = [json.loads(line) for line in path.read_text().splitlines()]
        write_jsonl(path, [{k: v for k, v in r.items() if k != "stale_label"} for r in rows])
    titles = set(_tables(run))
    assert titles == ({"Stale answers"} if stale else set())  # a stored stale score still shows
    stored = json.loads((run / "metrics.json").read_text())["retrieval_metrics"]
    assert breakdown.retrieval_by_variant(run, stored) == stored
    markdown = leaderboard.rebuild(run)
    assert "Per attribute" not in markdown and "variant=" not in markdown
