"""The fine-tuning stage: the trained models a grid needs, one per arm and seed.

``ft`` is LoRA SFT on the suite's training pairs (its ``train_format``, plus paraphrases if
asked); ``raft`` is LoRA on RAFT examples (the training question with its gold passage among
the retriever's distractors); the other arms (continued pre-training, full fine-tuning,
merging, the format control) are built in :mod:`harness.finetune.arms`. All are cached by
content hash in :mod:`harness.finetune.lora`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field

from harness.finetune.adapter import Adapter
from harness.finetune.arm_settings import ArmSettings
from harness.finetune.arms import ArmTrainer
from harness.models.wheels import LocalModel
from harness.sections import FinetuneSettings, RaftSettings, RetrievalSettings
from harness.suites import Suite

Stage = Callable[[str], AbstractContextManager[object]]


@dataclass(frozen=True)
class Adapters:
    """Trained models: arm (``ft``, ``raft``, ``cpt``, ``merge-0.5``, ...) -> fine-tuning seed ->
    Adapter; ``train_seconds``: each arm's training time (its first seed), what it is built
    from included — the one-off cost the decision prices."""

    by_adaptation: Mapping[str, Mapping[int, Adapter]]
    train_seconds: Mapping[str, float] = field(default_factory=dict)

    def adaptations(self) -> list[str]:
        return list(self.by_adaptation)

    def get(self, adaptation: str, seed: int) -> Adapter | None:
        return self.by_adaptation.get(adaptation, {}).get(seed)

    def first(self, adaptation: str) -> Adapter | None:
        """The adapter of the first seed (what a single-seed run reports as *the* adapter)."""
        return next(iter(self.by_adaptation.get(adaptation, {}).values()), None)

    def labelled(self, multi_seed: bool) -> dict[str, Adapter]:
        """Every adapter by its pass label: ``<adaptation>-seed<n>`` (multi-seed) or ``<adaptation>``."""
        return {(f"{a}-seed{s}" if multi_seed else a): adapter
                for a, by_seed in self.by_adaptation.items() for s, adapter in by_seed.items()}


def train_adapters(arms: Sequence[str], settings: FinetuneSettings, suite: Suite, base: LocalModel, *,
                   raft: RaftSettings | None, retrieval: RetrievalSettings, stage: Stage | None = None,
                   ft_overrides: Mapping[str, float] | None = None, arm_settings: ArmSettings | None = None) -> Adapters:
    """Every trained model the grid needs, one per arm (``ft``, ``raft``, ``cpt``, ``cpt_sft``,
    ``full``, ``merge-<alpha>``, ``style``) and fine-tuning seed, plus what they are built from
    (cpt for cpt_sft, ft or full for a merge) when the grid does not list it.

    ``stage(name)`` times each arm (``finetune`` for ft, ``finetune:<arm>`` for the others);
    ``ft_overrides``: the hyper-parameters ``finetune.tune`` chose for ft, which the SFT arms
    trained like it (style, cpt_sft's SFT) use as well.
    """
    trainer = ArmTrainer(settings, suite, base, raft=raft, retrieval=retrieval, arms=arm_settings or ArmSettings(),
                         chosen=dict(ft_overrides or {}))
    timed = stage or (lambda name: contextlib.nullcontext())
    for arm in arms:
        with timed("finetune" if arm == "ft" else f"finetune:{arm}"):
            for seed in settings.run_seeds:
                trainer.get(arm, seed)
    first = settings.run_seeds[0]
    return Adapters(trainer.trained, {arm: round(trainer.train_seconds(arm, first), 3) for arm in trainer.trained})
