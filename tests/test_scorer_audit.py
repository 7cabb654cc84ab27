"""The scorer audit: hand-checked answers per open-QA task, the error rates every card states.

Fast (no model): the audit files are read, every audited answer is re-scored by the suite's
current scorer (a scorer change that moves a verdict fails here until the audit is redone) and
each card must carry the rates table computed from its file.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.errors import HarnessError
from harness.scoring import audit

REPO = Path(__file__).resolve().parents[1]
TASKS = REPO / "tasks"
AUDITED = tuple(sorted(p.parent.name for p in TASKS.glob(f"*/{audit.AUDIT_FILE}")))


def test_every_shipped_open_qa_suite_is_audited() -> None:
    """A suite with a free-text task (lm-eval ``generate_until``) ships its audit; one whose
    tasks are all multiple choice has no free text to audit and its card says so."""
    open_qa = {p.parent.name for p in TASKS.glob("*/*.yaml") if "output_type: generate_until" in p.read_text()}
    assert open_qa and open_qa <= set(AUDITED), sorted(open_qa - set(AUDITED))
    for suite in sorted(p.name for p in TASKS.iterdir() if (p / "suite.yaml").is_file()):
        card = (TASKS / suite / "README.md").read_text(encoding="utf-8")
        assert "## Scorer audit" in card, f"tasks/{suite}/README.md has no scorer audit section"


@pytest.mark.parametrize("suite", AUDITED)
def test_audit_is_complete_current_and_in_the_card(suite: str) -> None:
    path = TASKS / suite / audit.AUDIT_FILE
    rows = audit.read_audit(path)  # every row has a verdict
    tasks = {r["task"] for r in rows}
    assert all(sum(r["task"] == t for r in rows) >= 90 for t in tasks), "about 100 answers per open task"
    now = audit.rescore(rows, TASKS / suite / "utils.py")
    moved = [(r["task"], r["condition"], r["id"]) for r, v in zip(rows, now, strict=True) if v != r["scorer"]]
    assert not moved, f"the scorer's verdict changed on {len(moved)} audited answers: redo the audit ({moved[:3]})"
    card = (TASKS / suite / "README.md").read_text(encoding="utf-8")
    assert audit.rates_markdown(audit.audit_rates(rows)) in card, "the card's audit table is stale"


def _run(tmp: Path) -> Path:
    run = tmp / "run"
    rows = [{"id": f"q{i}", "question": f"Q{i}?", "answer": f"v{i}", "aliases": [], "candidates": ["x"]} for i in range(6)]
    (run / "tasks").mkdir(parents=True)
    (run / "tasks" / "t_qa__closed.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    for cond, right in (("base", {0}), ("ft", {0, 1, 2, 3})):
        folder = run / "samples" / cond
        folder.mkdir(parents=True)
        recs = [{"condition": cond, "task": "t_qa", "id": r["id"], "output": r["answer"] if i in right else "no",
                 "scores": {"correct": float(i in right)}} for i, r in enumerate(rows)]
        (folder / "t_qa.jsonl").write_text("".join(json.dumps(r) + "\n" for r in recs))
    return run


def test_sample_is_balanced_between_credited_and_refused_answers(tmp_path: Path) -> None:
    sample = audit.draw_sample(_run(tmp_path), per_task=6)
    assert len(sample) == 6 and sum(r["scorer"] for r in sample) == 3
    assert {r["condition"] for r in sample} == {"base", "ft"}
    assert sample == audit.draw_sample(_run(tmp_path / "again"), per_task=6)  # deterministic


def test_rates_count_false_positives_over_wrong_and_false_negatives_over_right() -> None:
    rows = [{"task": "t", "scorer": s, "verdict": v} for s, v in
            [(1.0, "right")] * 8 + [(1.0, "wrong")] * 1 + [(0.0, "wrong")] * 9 + [(0.0, "right")] * 2]
    (rates,) = audit.audit_rates(rows)
    assert (rates.false_positive.k, rates.false_positive.n) == (1, 10)
    assert (rates.false_negative.k, rates.false_negative.n) == (2, 10)
    assert "10.0% (1/10; 95% CI" in audit.rates_markdown([rates])


def test_unchecked_rows_and_overwriting_verdicts_are_refused(tmp_path: Path) -> None:
    run = _run(tmp_path)
    out = tmp_path / "audit.jsonl"
    assert audit.write_sample(run, out, per_task=4) == 4
    with pytest.raises(HarnessError, match=r"line 1: field 'verdict' is None"):
        audit.read_audit(out)
    checked = [{**json.loads(line), "verdict": "right"} for line in out.read_text().splitlines()]
    out.write_text("".join(json.dumps(r) + "\n" for r in checked))
    with pytest.raises(HarnessError, match="already holds verdicts"):
        audit.write_sample(run, out)
