"""A dead vLLM server leaves no processes behind (issue #20, item 3): ``VllmServer.stop`` kills
what is left of the server's process group even when its leader has already exited."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from harness.models.vllm_server import VllmServer

# the leader starts a long-lived child in its own session (as vLLM's EngineCore is), prints its pid, dies
LEADER = ("import subprocess, sys, time; "
          "c = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)']); "
          "print(c.pid, flush=True); time.sleep(0.5); sys.exit(3)")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as handle:  # a zombie is dead
        return handle.read().split()[2] != "Z"


def test_stop_after_the_leader_died_kills_the_orphaned_worker(tmp_path: Path):
    leader = subprocess.Popen([sys.executable, "-c", LEADER], stdout=subprocess.PIPE, text=True, start_new_session=True)
    worker = int(leader.stdout.readline())
    leader.wait(timeout=30)
    assert leader.returncode == 3 and _alive(worker)  # the fault: the leader is gone, its worker is not
    try:
        VllmServer(leader, 0, tmp_path / "server.log", "m").stop(grace_s=1)
        deadline = time.monotonic() + 10
        while _alive(worker) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not _alive(worker)
    finally:
        if _alive(worker):
            os.kill(worker, 9)
