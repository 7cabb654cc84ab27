"""Greedy answers to a few ad-hoc prompts through the lm-eval model evaluation uses, cached.

Why not a direct ``model.generate``: the checks that ask an adapter its own training questions
(training-set recall) and the tuning trials must see the model exactly as the leaderboard does
— same backend class (:func:`harness.models.backends.build_lm`: the merged adapter in lm-eval's
hf model), same chat template, greedy decoding, ``eval.max_gen_toks`` — or their numbers would
not predict its rows. A backend that serves its model (``vllm``) has no server yet when these
run (right after training), so they use the in-process ``hf`` backend of the same weights,
which docs/serving.md measured to agree with it.

Answers are cached by the model's fingerprint, the prompts and the decoding settings
(``<cache>/answers/<key>/answers.json``), so a rerun recomputes nothing.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from harness import cache
from harness.models.backends import LmSettings, backend, build_lm
from harness.models.fingerprint import ModelUnderTest

log = logging.getLogger(__name__)

STAGE = "answers"
FILE = "answers.json"
UNTIL = ("\n",)  # the open-QA tasks' stop sequence (the model's end-of-turn token is added by lm-eval)


def in_process(model: ModelUnderTest) -> ModelUnderTest:
    """``model`` on a backend that runs here: a served backend's weights through ``hf``."""
    if backend(model.backend).serve is None:
        return model
    return replace(model, backend="hf", endpoint=None)


def answer_key(model: ModelUnderTest, prompts: Sequence[str], run: LmSettings, until: Sequence[str]) -> str:
    import lm_eval

    return cache.hash_json({"model": model.fingerprint, "prompts": list(prompts), "until": list(until),
                            "max_gen_toks": run.max_gen_toks, "lm_eval": lm_eval.__version__})


def _generate(model: ModelUnderTest, prompts: Sequence[str], run: LmSettings, until: Sequence[str]) -> list[str]:
    from lm_eval.api.instance import Instance

    lm = build_lm(model, run)
    try:
        kwargs = {"until": list(until), "max_gen_toks": run.max_gen_toks, "do_sample": False}
        texts = [lm.apply_chat_template([{"role": "user", "content": p}]) if model.chat_template else p
                 for p in prompts]
        requests = [Instance(request_type="generate_until", doc={}, arguments=(text, dict(kwargs)), idx=0)
                    for text in texts]
        return [str(out) for out in lm.generate_until(requests, disable_tqdm=True)]
    finally:
        del lm


def generate(model: ModelUnderTest, prompts: Sequence[str], run: LmSettings, *,
             until: Sequence[str] = UNTIL) -> list[str]:
    """One greedy completion per prompt (a user turn under the chat template when the model has
    one), computed once per (model, prompts, decoding) and then read from the cache."""
    if not prompts:
        return []
    model = in_process(model)
    key = answer_key(model, prompts, run, until)
    got: list[list[str]] = []

    def valid(entry: Path) -> bool:
        try:
            answers = json.loads((entry / FILE).read_text())["answers"]
        except (OSError, ValueError, KeyError, TypeError):
            return False
        if not isinstance(answers, list) or len(answers) != len(prompts):
            return False
        got.append([str(a) for a in answers])
        return True

    def build(scratch: Path) -> None:
        log.info("generating %d answers with %s (%s)", len(prompts), model.label, model.backend)
        got.append(_generate(model, prompts, run, until))
        (scratch / FILE).write_text(json.dumps({"answers": got[-1], "label": model.label}))

    def load(entry: Any) -> list[str]:
        return got[-1]

    return cache.get_or_build(STAGE, key, build, load, valid=valid)


__all__ = ["generate", "in_process"]
