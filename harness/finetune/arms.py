"""The trained arms: one builder per adaptation, each a cached training (or merge) of one seed.

| arm | what changes the weights | result |
|:--|:--|:--|
| ``ft`` | LoRA SFT on the suite's training Q&A | adapter |
| ``raft`` | LoRA SFT on the training questions with retrieved passages | adapter |
| ``cpt`` | LoRA causal-LM training on the corpus text (every token) | adapter |
| ``cpt_sft`` | ``cpt``'s adapter trained further by ft's SFT | adapter |
| ``full`` | every weight trained on ft's data (``full.lr``) | whole model |
| ``merge-<a>`` | ``(1 - a)·base + a·tuned`` of ft (or full, ``merge.of``) | adapter (whole model for full) |
| ``style`` | LoRA SFT like ft on other suites' Q&A in this suite's format | adapter |

Every builder derives its parameters from the ``finetune`` section, so arms differ only where
their own section says; the cache key of each covers its data, parameters and what it starts
from (:mod:`harness.finetune.lora`, :mod:`harness.finetune.merge`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from harness.errors import HarnessError
from harness.finetune.adapter import Adapter
from harness.finetune.arm_settings import ArmSettings
from harness.finetune.lora import train_adapter, train_on_text
from harness.finetune.sft import raft_adapter, sft_adapter, sft_examples, suite_check
from harness.models.wheels import LocalModel
from harness.sections import FinetuneSettings, RaftSettings, RetrievalSettings
from harness.suites import Suite

log = logging.getLogger(__name__)


class ArmTrainer:
    """Builds arms on demand and remembers them: ``get(arm, seed)`` trains what the arm starts
    from first (cpt for cpt_sft, ft or full for a merge), once."""

    def __init__(self, settings: FinetuneSettings, suite: Suite, base: LocalModel, *, raft: RaftSettings | None,
                 retrieval: RetrievalSettings, arms: ArmSettings, chosen: Mapping[str, float]) -> None:
        self.settings, self.suite, self.base = settings, suite, base
        self.raft, self.retrieval, self.arms, self.chosen = raft, retrieval, arms, dict(chosen)
        self.trained: dict[str, dict[int, Adapter]] = {}

    def get(self, arm: str, seed: int) -> Adapter:
        if seed not in self.trained.get(arm, {}):
            adaptation, _, alpha = arm.partition("-")
            builder = BUILDERS.get(adaptation)
            if builder is None:
                raise HarnessError(f"adaptation '{arm}' trains nothing (trained: {', '.join(BUILDERS)})")
            made = builder(self, seed, float(alpha)) if alpha else builder(self, seed)
            self.trained.setdefault(arm, {})[seed] = made
        return self.trained[arm][seed]

    def starts_from(self, arm: str) -> str | None:
        """The arm an arm is built from (cpt for cpt_sft, ``merge.of`` for a merge), else None."""
        adaptation = arm.partition("-")[0]
        if adaptation == "cpt_sft":
            return "cpt"
        return self.section("merge").of if adaptation == "merge" else None

    def train_seconds(self, arm: str, seed: int) -> float:
        """What the arm cost to train, what it is built from included (a merge adds no training)."""
        own = float(self.get(arm, seed).card.get("train_seconds") or 0.0)
        source = self.starts_from(arm)
        return own + (self.train_seconds(source, seed) if source else 0.0)

    def section(self, name: str) -> Any:
        found = getattr(self.arms, name)
        if found is None:
            raise HarnessError(f"the {name} arm needs its '{name}' settings section (conf/config.yaml)")
        return found


def _ft(t: ArmTrainer, seed: int) -> Adapter:
    return sft_adapter(t.settings, t.suite, t.base, seed, **t.chosen)


def _raft(t: ArmTrainer, seed: int) -> Adapter:
    if t.raft is None:
        raise HarnessError("the raft adaptation needs the raft settings (raft.distractors, raft.p_gold, ...)")
    return raft_adapter(t.settings, t.raft, t.retrieval, t.suite, t.base, seed)


def _cpt(t: ArmTrainer, seed: int) -> Adapter:
    from transformers import AutoTokenizer

    from harness.finetune.cpt import cpt_chunks

    cpt = t.section("cpt")
    chunks, data_hash = cpt_chunks(t.suite.corpus, cpt, AutoTokenizer.from_pretrained(t.base.path))
    log.info("continued pre-training data: %d documents, %d chunks of <= %d tokens (%d tokens)",
             len(t.suite.corpus), len(chunks), cpt.max_length, sum(map(len, chunks)))
    return train_on_text(t.base, chunks, t.settings.params(seed, **cpt.overrides()), data_hash=data_hash)


def _cpt_sft(t: ArmTrainer, seed: int) -> Adapter:
    start = t.get("cpt", seed)
    params = t.settings.params(seed, **t.chosen)
    return train_adapter(t.base, sft_examples(t.settings, t.suite), params, start_from=start,
                         check=suite_check(params, t.suite))


def _full(t: ArmTrainer, seed: int) -> Adapter:
    tuned_epochs = {"epochs": t.chosen["epochs"]} if "epochs" in t.chosen else {}
    params = t.settings.params(seed, **(tuned_epochs | t.section("full").overrides()))
    return train_adapter(t.base, sft_examples(t.settings, t.suite), params, full=True,
                         check=suite_check(params, t.suite))


def _merge(t: ArmTrainer, seed: int, alpha: float) -> Adapter:
    from harness.finetune.merge import merged

    return merged(t.base, t.get(t.section("merge").of, seed), alpha)


def _style(t: ArmTrainer, seed: int) -> Adapter:
    from harness.finetune.style import control_rows, load_sources

    style = t.section("style")
    rows = control_rows(style, t.suite, load_sources(style))
    params = t.settings.params(seed, **t.chosen)
    # the control stops on recall of the facts it trains on (other suites' answers, whole)
    return train_adapter(t.base, sft_examples(t.settings, t.suite, rows), params)


Builder = Callable[..., Adapter]
BUILDERS: dict[str, Builder] = {"ft": _ft, "raft": _raft, "cpt": _cpt, "cpt_sft": _cpt_sft, "full": _full,
                                "merge": _merge, "style": _style}
