"""Bad input gets one message (issue #20, item 9): each broken input below goes through the CLI
and must exit non-zero with exactly one ``error:`` line naming the file or key, no traceback,
and no run folder — before any model is loaded."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import REPO, harness

AGRI = REPO / "tasks" / "agri"


def _latin1_corpus(suite: Path) -> None:
    with open(suite / "corpus.jsonl", "ab") as handle:
        handle.write('{"id": "agri-doc-999", "title": "Caf\u00e9", "text": "r\u00e9colte"}\n'.encode("latin-1"))


def _latin1_suite_yaml(suite: Path) -> None:
    text = (suite / "suite.yaml").read_text(encoding="utf-8")
    (suite / "suite.yaml").write_bytes(text.replace("Location-specific", "Localit\u00e9-specific").encode("latin-1"))


def _missing_function(suite: Path) -> None:
    yaml = suite / "agri_qa.yaml"
    yaml.write_text(yaml.read_text().replace("utils.process_qa", "utils.process_qaa"))


CASES: dict[str, tuple[Callable[[Path], None], str]] = {
    "non-UTF-8 corpus.jsonl": (_latin1_corpus, r"corpus.jsonl line 85: not UTF-8 text"),
    "non-UTF-8 suite.yaml": (_latin1_suite_yaml, r"suite.yaml line \d+: not UTF-8 text"),
    "missing !function": (_missing_function, r"agri_qa.yaml line \d+: field 'process_results' is "
                                             r"'!function utils.process_qaa', but utils.py defines no 'process_qaa'"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_one_message_no_traceback_no_run_folder(case: str, tmp_path: Path):
    breaker, expected = CASES[case]
    suite = Path(shutil.copytree(AGRI, tmp_path / "agri"))
    breaker(suite)
    results = tmp_path / "results"
    proc = harness("run", "+exp=agri", f"suite.path={suite}", f"results_dir={results}", cache=tmp_path / "cache",
                   timeout=300)
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert proc.returncode != 0, proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout, proc.stderr[-2000:]
    assert len(errors) == 1, proc.stderr[-2000:]
    assert pytest.importorskip("re").search(expected, errors[0]), errors[0]
    assert not (results / "agri").exists() or not any((results / "agri").iterdir())
    assert not (tmp_path / "cache" / "models").exists()  # failed before the model stage


OVERRIDES = {
    "retriever.top_k=abc": r"retriever\.top_k='abc': expected an integer",
    "eval.limit=abc": r"eval\.limit='abc': expected a number",
    "finetune.epochs=abc": r"finetune\.epochs='abc': expected a number",
    "finetune.lr=fast": r"finetune\.lr='fast': expected a number",
    "eval.batch_size=big": r"eval\.batch_size='big': expected an integer",
    "retriever.budget_tokens=lots": r"retriever\.budget_tokens='lots': expected an integer",
    # silent fallbacks that used to run something else than asked (issue #22)
    "reference=bsae": r"reference=bsae: not a condition of this grid; choose one of: base, base\+dense, ft, ft\+dense",
    "suite.n_docs=0": r"suite\.n_docs=0: expected a positive number, or null for all",
    "eval.limit=0": r"eval\.limit=0: expected a positive number",
}


@pytest.mark.parametrize("override", list(OVERRIDES))
def test_wrong_typed_override_is_one_message(override: str, tmp_path: Path):
    results = tmp_path / "results"
    proc = harness("run", "+exp=agri", override, f"results_dir={results}", cache=tmp_path / "cache", timeout=300)
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert proc.returncode != 0 and "Traceback" not in proc.stderr + proc.stdout, proc.stderr[-2000:]
    assert len(errors) == 1 and pytest.importorskip("re").search(OVERRIDES[override], errors[0]), proc.stderr[-2000:]
    assert not (tmp_path / "cache" / "models").exists() and not (results / "agri").exists()


def test_disk_full_while_writing_is_one_message(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                 monkeypatch: pytest.MonkeyPatch):
    """A job whose write fails with ENOSPC ends in one error line naming the file, not an OSError traceback."""
    import errno

    from harness.cli.registry import hydra_job

    def job(cfg: dict) -> None:
        raise OSError(errno.ENOSPC, "No space left on device", str(tmp_path / "results" / "agri" / "metrics.json"))

    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exit_info:
        hydra_job("run", job, ["+exp=agri", f"hydra.run.dir={tmp_path / 'hydra'}"])
    err = capsys.readouterr().err
    assert exit_info.value.code != 0 and "Traceback" not in err
    lines = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and "metrics.json: the disk is full" in lines[0], err
