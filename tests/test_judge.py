"""The optional LLM judge: parsing, configuration, and real passes with the embedded model.

The end-to-end tests judge a copy of the committed default run (results/baselines/agri) with
the real SmolLM2-135M-Instruct in process, a couple of answers per condition so the file stays
near a minute: judgments stored in the run folder, the judge cache reused on a rerun without
loading the model, another judge never reading those entries, the report rebuilt without a
model with the judge columns and the unparsable count, the judge's identity in the manifest.
"""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import pandas as pd
import pytest
import yaml

from harness.errors import HarnessError
from harness.scoring.judge import config as judge_config
from harness.scoring.judge.parse import parse_judgment
from tests.conftest import REPO, harness

BASELINE = REPO / "results" / "baselines" / "agri"
CONDITIONS = ("base", "base+dense", "ft", "ft+dense")


def embedded(**overrides) -> dict:
    """The ``+judge=embedded`` section as Hydra composes it (rubric from its YAML)."""
    section = yaml.safe_load((REPO / "conf" / "judge" / "embedded.yaml").read_text())
    section.pop("defaults")
    section["rubric"] = yaml.safe_load((REPO / "conf" / "judge" / "rubric" / "default.yaml").read_text())
    return section | overrides


def judge_lines(run_dir: Path) -> list[dict]:
    return [json.loads(line) for path in sorted((run_dir / "judge").glob("*/*.jsonl"))
            for line in path.read_text().splitlines()]


# ------------------------------------------------------------------ parsing


@pytest.mark.parametrize("reply, expected", [
    ('{"correctness": 4, "succinctness": 5}', (4, 5)),
    ('{"correctness": 1, "succinctness": 1}\n', (1, 1)),
    ('```json\n{"Correctness": "4", "Succinctness": 3}\n```', (4, 3)),
    ("Here is my grade: {'correctness': 2, 'succinctness': 5,} Hope this helps.", (2, 5)),
    ('{"correctness_score": 5, "succinctness_rating": 2}', (5, 2)),
    ('{"accuracy": 3, "conciseness": "4/5"}', (3, 4)),
    ("Correctness: 4/5\nSuccinctness: 3/5", (4, 3)),
    ("**Correctness**: 5\n**Succinctness** - 2", (5, 2)),
    ("correctness score (1-5): 3, succinctness score (1-5): 4", (3, 4)),
    ("CORRECTNESS = 2; SUCCINCTNESS = 2", (2, 2)),
    ("The answer is correct. Correctness is 4 out of 5 and conciseness is four.", (4, 4)),
    ("Correctness:\n5\nSuccinctness:\n4", (5, 4)),
    ("Correctness: 4.5\nSuccinctness: 5", (4.5, 5)),
    ('{"correctness": 3}  Succinctness: 2', (3, 2)),
    ("First thoughts: Correctness: 2, Succinctness: 3. On reflection: Correctness: 4, Succinctness: 4", (4, 4)),
    ("Correctness is one of two criteria. Correctness: 2. Succinctness: five", (2, 5)),
])
def test_parse_reads_the_scores_in_many_forms(reply, expected):
    got = parse_judgment(reply)
    assert got.ok, got.reason
    assert (got.correctness, got.succinctness) == expected


@pytest.mark.parametrize("reply, reason", [
    ("", "empty reply"),
    ("   \n", "empty reply"),
    ("I think the answer is good.", "no correctness score"),
    ('{"correctness": <1-5>, "succinctness": <1-5>}', "no correctness score"),  # the format, echoed
    ("Correctness (1-5): 5 = states the fact\nSuccinctness (1-5): 5 = only the answer", "no correctness score"),
    ('{"correctness": 7, "succinctness": 3}', "correctness 7 is outside 1–5"),
    ('{"correctness": 0, "succinctness": 3}', "correctness 0 is outside 1–5"),
    ("Correctness: 8/10, Succinctness: 9/10", "given as 8/10"),
    ('{"correctness": 4}', "no succinctness score"),
    ('{"correctness": true, "succinctness": 2}', "no correctness score"),
    ("The correct answer is: Sileth-9.", "no correctness score"),
])
def test_parse_refuses_garbage_with_a_reason_never_a_zero(reply, reason):
    got = parse_judgment(reply)
    assert not got.ok and got.correctness is None and got.succinctness is None
    assert reason in got.reason


def test_parse_follows_the_configured_scale():
    assert parse_judgment('{"correctness": 9, "succinctness": 10}', (0, 10)).correctness == 9
    assert "outside 0–10" in parse_judgment("Correctness: 11 Succinctness: 3", (0, 10)).reason


# ------------------------------------------------------------------ configuration


@pytest.mark.parametrize("change, message", [
    ({"backend": "llamacpp"}, "judge.backend='llamacpp'"),
    ({"temprature": 0}, "unknown setting(s) ['temprature']"),
    ({"model": None}, "judge.model is empty"),
    ({"batch_size": 0}, "judge.batch_size=0"),
    ({"rubric": {"user": "Rate {answer}", "scale": [1, 5]}}, "{question}, {reference}"),
    ({"rubric": {"user": "{question} {reference} {answer} {score}"}}, "bad placeholder 'score'"),
    ({"rubric": {"user": "{question} {reference} {answer}", "scale": [5, 1]}}, "low must be below high"),
    ({"model": "wheel:no-such-model"}, "judge.model 'wheel:no-such-model' is not a wheel-shipped model"),
    ({"model": "/nonexistent/judge"}, "judge.model '/nonexistent/judge' is not a local transformers model folder"),
])
def test_bad_judge_config_is_one_clear_error(change, message):
    from harness.scoring.judge import prepare

    with pytest.raises(HarnessError) as err:
        prepare(embedded(**change))
    assert message in str(err.value)


def test_prompt_and_identity_are_what_the_cache_is_keyed_by():
    one = judge_config.from_dict(embedded())
    messages = one.messages("When to sow maize?", "mid-October", "In March.")
    assert messages[0]["role"] == "system" and "mid-October" in messages[1]["content"]
    assert '{"correctness": N, "succinctness": N}' in messages[1]["content"]  # literal braces survive
    other = judge_config.from_dict(embedded(reply_prefix=None))
    assert one.prompt_sha256() != other.prompt_sha256()
    assert one.decoding() == {"greedy": True, "max_new_tokens": 48}


def test_endpoint_key_variable_must_be_set_and_is_never_in_the_identity(monkeypatch):
    from harness.scoring.judge.runner import make_backend

    section = yaml.safe_load((REPO / "conf" / "judge" / "endpoint.yaml").read_text())
    section.pop("defaults")
    section |= {"rubric": embedded()["rubric"], "model": "judge-model", "api_key_env": "JUDGE_TEST_KEY_UNSET"}
    monkeypatch.delenv("JUDGE_TEST_KEY_UNSET", raising=False)
    with pytest.raises(HarnessError, match="JUDGE_TEST_KEY_UNSET, which is not set"):
        make_backend(judge_config.from_dict(section))
    monkeypatch.setenv("JUDGE_TEST_KEY_UNSET", "sk-judge-secret")
    config = judge_config.from_dict(section)
    who = judge_config.identity(config, make_backend(config))
    assert who["base_url"] == "http://localhost:8000/v1" and who["model"] == "judge-model"
    assert "sk-judge-secret" not in json.dumps(who)


# ------------------------------------------------------------------ real passes (embedded model)


@pytest.fixture(scope="module")
def judged_run(tmp_path_factory, session_cache, smollm2) -> tuple[Path, object]:
    """A copy of the default run judged through the CLI (2 answers per condition)."""
    run_dir = tmp_path_factory.mktemp("judged") / "agri-run"
    shutil.copytree(BASELINE, run_dir)
    proc = harness("judge", run_dir, "+judge=embedded", "judge.limit=2", "judge.threads=1", cache=session_cache,
                   timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return run_dir, proc


def test_cli_pass_stores_judgments_identity_and_columns(judged_run):
    run_dir, proc = judged_run
    lines = judge_lines(run_dir)
    assert len(lines) == 2 * len(CONDITIONS)  # limit 2 per condition × open-QA task; MC is not judged
    assert {p.parent.name for p in (run_dir / "judge").glob("*/*.jsonl")} == set(CONDITIONS)
    assert all(line["raw"].startswith('{"correctness": ') for line in lines)  # the reply began as configured
    for line in lines:
        assert (line["unparsable"] is None) == (line["correctness"] is not None)
    info = json.loads((run_dir / "judge" / "judge.json").read_text())
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["judge"] == info["identity"]
    assert manifest["judge"]["backend"] == "hf" and len(manifest["judge"]["weights_sha256"]) == 64
    assert info["counts"]["judged"] == len(lines)
    assert "judged 8 answers" in proc.stdout
    board = pd.read_csv(run_dir / "leaderboard.csv", index_col=0)
    unparsable = sum(1 for line in lines if line["unparsable"])
    assert board["extra:agri_qa:judge_unparsable"].sum() == unparsable
    assert "LLM judge: hf wheel:smollm2-135m-instruct" in (run_dir / "leaderboard.md").read_text()
    assert "judge_correctness" in (run_dir / "report.html").read_text()


def test_rerun_comes_from_the_cache_and_report_needs_no_model(judged_run):
    from harness.report import run_report
    from harness.report.run_report import judge_folder

    run_dir, _ = judged_run
    before = judge_lines(run_dir)
    done, _ = judge_folder(run_dir, embedded(limit=2, threads=1), similarity=False)
    assert done.asked == 0 and done.from_cache > 0 and not done.model_loaded
    assert judge_lines(run_dir) == before
    first = run_report.report_run(run_dir, similarity=False)
    again = run_report.report_run(run_dir, similarity=False)  # no model anywhere: rebuilt from judge/
    assert first == again and "judge_unparsable" in first
    extra = json.loads((run_dir / "metrics.json").read_text())["extra"]
    for condition in CONDITIONS:
        got = extra["metrics"][condition]["agri_qa"]
        lines = [json.loads(x) for x in (run_dir / "judge" / condition / "agri_qa.jsonl").read_text().splitlines()]
        parsed = [x for x in lines if not x["unparsable"]]
        assert got["judge_unparsable"] == len(lines) - len(parsed)
        if parsed:  # the mean is over parsed replies only, scaled 1–5 → 0–1
            mean = sum((x["correctness"] - 1) / 4 for x in parsed) / len(parsed)
            assert math.isclose(got["judge_correctness"], mean, abs_tol=1e-6)
            assert got["judge_correctness_n"] == len(parsed)
        else:
            assert "judge_correctness" not in got
    assert extra["judge"]["identity"]["sha256"] == json.loads((run_dir / "manifest.json").read_text())["judge"]["sha256"]


def test_another_judge_never_reads_these_entries(judged_run, tmp_path, session_cache):
    """No reply prefix: another prompt identity, so a cache miss and a fresh pass; the 135M model
    then writes prose, and whatever does not parse is counted, not scored."""
    from harness.report.run_report import judge_folder

    run_dir = tmp_path / "run"
    shutil.copytree(judged_run[0], run_dir)
    done, markdown = judge_folder(run_dir, embedded(limit=1, threads=1, reply_prefix=None, max_new_tokens=24),
                                  similarity=False)
    assert done.from_cache == 0 and done.asked > 0 and done.model_loaded
    assert done.identity["sha256"] != json.loads((judged_run[0] / "manifest.json").read_text())["judge"]["sha256"]
    lines = judge_lines(run_dir)
    assert len(lines) == len(CONDITIONS) and done.unparsable == sum(1 for x in lines if x["unparsable"])
    assert f"{done.unparsable} unparsable" in markdown
    folders = sorted(p.name for p in (session_cache / "judge").iterdir())
    assert len(folders) >= 2  # one cache folder per judge identity


def test_judge_verb_errors_are_one_line(tmp_path, session_cache):
    from harness.report.run_report import judge_folder

    with pytest.raises(HarnessError, match="not a completed run folder"):
        judge_folder(tmp_path, embedded())
    shutil.copytree(BASELINE, tmp_path / "run")
    with pytest.raises(HarnessError, match=r"\+judge=embedded"):
        judge_folder(tmp_path / "run", None)
    proc = harness("judge", "+judge=embedded", cache=session_cache, timeout=120)
    assert proc.returncode == 2 and "judge needs the run folder first" in proc.stderr
    assert not (tmp_path / "run" / "judge").exists()


def test_run_judges_after_evaluation_and_records_the_judge(tmp_path, session_cache, smollm2):
    """``run +judge=embedded``: a bad judge setting stops the run before any work; a good one
    adds the judge stage (timed), the judgments and the judge's identity to the run folder."""
    from tests.conftest import only_run

    bad = harness("run", "+exp=agri", "+judge=embedded", "judge.batch_size=0", f"results_dir={tmp_path}",
                  cache=session_cache, timeout=300)
    assert bad.returncode == 2 and "judge.batch_size=0" in bad.stderr and "Traceback" not in bad.stderr
    assert not (tmp_path / "agri").exists()
    proc = harness("run", "+exp=agri", "suite.n_docs=1", "eval.limit=1", "conditions=[{adaptation: base, rag: false}]",
                   "+judge=embedded", "judge.threads=1", f"results_dir={tmp_path}", "history_db=",
                   cache=session_cache, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    run_dir = only_run(tmp_path)
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert "judge" in manifest["timings_s"] and manifest["judge"]["model"] == "wheel:smollm2-135m-instruct"
    assert len(judge_lines(run_dir)) == 1  # one open question, one condition
    assert yaml.safe_load((run_dir / "config.yaml").read_text())["judge"]["backend"] == "hf"
    assert "judge_unparsable" in (run_dir / "leaderboard.md").read_text()  # the end summary shows the main table only
