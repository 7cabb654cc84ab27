"""Cost per condition: prompt and generated tokens, model seconds per sample, fine-tuning time.

- tokens are counted with the run's tokenizer when ``run`` passes it or the generator is in the
  local cache, else approximated by whitespace words (the report says which);
- seconds of model time per sample are what the run measured (batched throughput, kept for
  cache-served reruns: harness.evaluate.runner), read from metrics.json;
- the fine-tuning time is the adapter's training time from its card when the run had it (it
  stays the same on a cached rerun), else the fine-tuning stage time from the manifest.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from harness import cache
from harness.records import Records
from harness.scoring.answers import is_generation

log = logging.getLogger(__name__)

COST_KEYS = ("mean_prompt_tokens", "mean_generated_tokens", "seconds_per_sample", "finetune_s")
FROM_CARD = "the adapter's training time (its card)"
FROM_MANIFEST = "the fine-tuning stage wall time of this run (manifest; ~0 s when the adapter came from the cache)"


@dataclass(frozen=True)
class TokenCounter:
    """Counts tokens with the run's tokenizer, or approximates them by whitespace words."""

    name: str
    count: Callable[[str], int]
    exact: bool


def whitespace_counter() -> TokenCounter:
    return TokenCounter("approximate: whitespace-separated words (the model's tokenizer was not available)",
                        lambda text: len(str(text).split()), False)


def hf_counter(tokenizer: Any, label: str) -> TokenCounter:
    def count(text: str) -> int:
        return len(tokenizer(str(text), add_special_tokens=False)["input_ids"])

    return TokenCounter(f"{label} tokenizer", count, True)


def _cached_model_folder(manifest: Mapping[str, Any]) -> Path | None:
    """The run's generator folder, if it is on this machine already (never converted here)."""
    spec = manifest.get("spec") or {}
    source = str((spec.get("model") or {}).get("source", ""))
    if source.startswith("path:"):
        folder = Path(source[len("path:"):]).expanduser()
        return folder if (folder / "tokenizer_config.json").is_file() else None
    sha = (manifest.get("hashes") or {}).get("base_model_sha256")
    models = cache.cache_root() / "models"
    if not sha or not models.is_dir():
        return None
    for info in sorted(models.glob("*/harness_model.json")):
        try:
            if json.loads(info.read_text()).get("weights_sha256") == sha and cache.is_complete(info.parent):
                return info.parent
        except (OSError, ValueError):
            continue
    return None


def token_counter(manifest: Mapping[str, Any] | None, tokenizer: Any = None) -> TokenCounter:
    """The generator's tokenizer when given or cached locally, else the whitespace approximation."""
    label = str(((manifest or {}).get("spec") or {}).get("model", {}).get("name", "model"))
    if tokenizer is not None:
        return hf_counter(tokenizer, label)
    folder = _cached_model_folder(manifest or {})
    if folder is not None:
        try:
            from transformers import AutoTokenizer

            return hf_counter(AutoTokenizer.from_pretrained(str(folder)), label)
        except Exception as err:  # a broken cache entry: fall back, say so
            log.warning("tokenizer in %s unusable (%s); counting whitespace words", folder, err)
    return whitespace_counter()


def _mean(values: list[float]) -> float | None:
    return float(np.mean(values)) if values else None


def _arm_seconds(conditions: list[Mapping[str, Any]], seconds: Mapping[str, Any]) -> dict[str, float | None]:
    """condition -> its arm's training seconds (manifest ``arms.train_seconds``) for the arms
    other than ft and raft; None when the run trained the arm but predates the record."""
    out: dict[str, float | None] = {}
    for c in conditions:
        if c.get("adaptation") not in ("base", "icl", "ft", "raft"):
            name = str(c.get("name"))
            value = seconds.get(name.split("+", 1)[0])  # a condition's name is its arm [+retriever]
            out[name] = float(value) if isinstance(value, (int, float)) else None
    return out


def cost(records: Records, counter: TokenCounter, manifest: Mapping[str, Any] | None,
         finetune_s: float | None = None, latency: Mapping[str, Any] | None = None) -> dict[str, dict[str, Any]]:
    """Per condition: mean prompt tokens, mean generated tokens (generation tasks only), model
    seconds per evaluated sample (``latency``: what the run measured, metrics.json), and the
    fine-tuning time of ft conditions: ``finetune_s`` (the adapter's training time) when given,
    else the manifest's fine-tuning stage time."""
    timings = (manifest or {}).get("timings_s") or {}
    trained = finetune_s if finetune_s is not None else timings.get("finetune")
    conditions = ((manifest or {}).get("spec") or {}).get("conditions", [])
    adaptations = {c.get("name"): c.get("adaptation") for c in conditions}
    arm_seconds = _arm_seconds(conditions, ((manifest or {}).get("arms") or {}).get("train_seconds") or {})
    out: dict[str, dict[str, Any]] = {}
    for condition, tasks in sorted(records.items()):
        rows = [r for task_rows in tasks.values() for r in task_rows]
        prompts = [counter.count(r["prompt"]) for r in rows if r.get("prompt")]
        generated = [counter.count(r["output"]) for r in rows if is_generation(r)]
        adaptation = adaptations.get(condition) or condition.split("+", 1)[0]
        # raft trains its own adapter: its time is in the manifest's stage total, not one figure here;
        # the other trained arms' times are the manifest's (each with what it is built from)
        finetune = (trained if adaptation == "ft" else None if adaptation == "raft"
                    else arm_seconds.get(condition, 0.0))
        measured = (latency or {}).get(condition) or {}
        out[condition] = {
            "mean_prompt_tokens": _mean(prompts),
            "mean_generated_tokens": _mean(generated),
            "seconds_per_sample": measured.get("seconds_per_sample"),
            "seconds_source": measured.get("source"),  # measured | estimated | cached (an earlier run's figure)
            "finetune_s": None if finetune is None else float(finetune),
        }
    return out
