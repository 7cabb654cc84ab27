"""Settings of the other ways to put knowledge into weights (``cpt``, ``full``, ``merge``, ``style``).

Each is a config section (``cpt:``, ``full:``, ``merge:``, ``style:`` in conf/config.yaml) that
enters the run spec, and so its hash, only when a condition uses the arm: a spec without them
hashes as it always did. Everything not named here is the ``finetune`` section's, so an arm
differs from ``ft`` only in what these settings say (equal effort: the same epochs, batch and
seed unless an arm sets its own).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from harness.errors import HarnessError

CPT_AUGMENTS = (None, "reorder")
MERGE_SOURCES = ("ft", "full")


def _known(section: str, given: Mapping[str, Any] | None, known: Sequence[str]) -> dict[str, Any]:
    values = dict(given or {})
    unknown = sorted(set(values) - set(known))
    if unknown:
        raise HarnessError(f"unknown {section} setting(s) {unknown}; known: {list(known)}")
    return values


def _positive(section: str, key: str, value: Any, kind: type = float) -> Any:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise HarnessError(f"{section}.{key}={value!r}: expected a positive number or null")
    return kind(value)


@dataclass(frozen=True)
class CptSettings:
    """Continued pre-training: causal-LM LoRA on the suite's corpus text in ``max_length``-token
    chunks (documents joined by EOS), loss on every token. ``augment: reorder`` adds
    ``augment_n`` copies of each document with its sentences in seeded other orders (the
    offline stand-in for model-written paraphrases). ``epochs``/``lr``: null = finetune's."""

    max_length: int = 256
    augment: str | None = None
    augment_n: int = 2
    seed: int = 0
    epochs: float | None = None
    lr: float | None = None

    @classmethod
    def from_dict(cls, given: Mapping[str, Any] | None) -> CptSettings:
        v = _known("cpt", given, ("max_length", "augment", "augment_n", "seed", "epochs", "lr"))
        augment = v.get("augment")
        if augment not in CPT_AUGMENTS:
            raise HarnessError(f"cpt.augment={augment!r}: expected null or reorder")
        settings = cls(max_length=int(_positive("cpt", "max_length", v.get("max_length", 256), int)),
                       augment=augment, augment_n=int(_positive("cpt", "augment_n", v.get("augment_n", 2), int)),
                       seed=int(v.get("seed", 0)), epochs=_positive("cpt", "epochs", v.get("epochs")),
                       lr=_positive("cpt", "lr", v.get("lr")))
        if settings.max_length < 16:
            raise HarnessError(f"cpt.max_length={settings.max_length}: expected at least 16 tokens per chunk")
        return settings

    def overrides(self) -> dict[str, Any]:
        """The finetune parameters CPT replaces (max_length always: it is the chunk size)."""
        out: dict[str, Any] = {"max_length": self.max_length}
        out.update({k: getattr(self, k) for k in ("epochs", "lr") if getattr(self, k) is not None})
        return out

    def to_dict(self) -> dict[str, Any]:
        return {"max_length": self.max_length, "augment": self.augment, "augment_n": self.augment_n,
                "seed": self.seed, "epochs": self.epochs, "lr": self.lr}


@dataclass(frozen=True)
class FullSettings:
    """Full-parameter fine-tuning of ft's data: every weight trains, so the learning rate is its
    own (a LoRA rate of 1e-3 on every weight wrecks a model); null ``epochs`` = finetune's."""

    lr: float = 1e-4
    epochs: float | None = None

    @classmethod
    def from_dict(cls, given: Mapping[str, Any] | None) -> FullSettings:
        v = _known("full", given, ("lr", "epochs"))
        return cls(lr=float(_positive("full", "lr", v.get("lr", 1e-4))), epochs=_positive("full", "epochs", v.get("epochs")))

    def overrides(self) -> dict[str, Any]:
        return {"lr": self.lr} | ({"epochs": self.epochs} if self.epochs is not None else {})

    def to_dict(self) -> dict[str, Any]:
        return {"lr": self.lr, "epochs": self.epochs}


@dataclass(frozen=True)
class MergeSettings:
    """Weight-space interpolation ``(1 - alpha) * base + alpha * tuned`` of ``of`` (ft or full);
    a list of alphas makes one arm per value (``merge-0.5``), the knowledge-vs-forgetting curve."""

    alphas: tuple[float, ...] = (0.5,)
    of: str = "ft"

    @classmethod
    def from_dict(cls, given: Mapping[str, Any] | None) -> MergeSettings:
        v = _known("merge", given, ("alpha", "of"))
        raw = v.get("alpha", 0.5)
        listed = list(raw) if isinstance(raw, (list, tuple)) else [raw]
        alphas = []
        for value in listed:
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value <= 1.0:
                raise HarnessError(f"merge.alpha={raw!r}: expected a number in [0, 1] or a list of them")
            alphas.append(float(value))
        if not alphas or len(set(alphas)) != len(alphas):
            raise HarnessError(f"merge.alpha={raw!r}: expected one or more distinct values")
        of = str(v.get("of", "ft"))
        if of not in MERGE_SOURCES:
            raise HarnessError(f"merge.of={of!r}: expected ft (the LoRA arm) or full")
        return cls(tuple(alphas), of)

    def to_dict(self) -> dict[str, Any]:
        return {"alpha": list(self.alphas), "of": self.of}


@dataclass(frozen=True)
class StyleSettings:
    """The format control: LoRA SFT, with ft's hyper-parameters and step count, on the training
    Q&A of other suites (``sources``) rendered in this suite's train_format, with every row whose
    answer is a fact of this suite left out — it learns the answer format and none of the facts."""

    sources: tuple[str, ...] = ("finance", "medical")
    seed: int = 0

    @classmethod
    def from_dict(cls, given: Mapping[str, Any] | None) -> StyleSettings:
        v = _known("style", given, ("sources", "seed"))
        raw = v.get("sources", ["finance", "medical"])
        sources = tuple(str(s) for s in (raw if isinstance(raw, (list, tuple)) else [raw]) if str(s).strip())
        if not sources:
            raise HarnessError("style.sources is empty: name one or more suites whose training Q&A the "
                               "format control is trained on (e.g. [finance, medical])")
        return cls(sources, int(v.get("seed", 0)))

    def to_dict(self) -> dict[str, Any]:
        return {"sources": list(self.sources), "seed": self.seed}


@dataclass(frozen=True)
class ArmSettings:
    """The arms' sections a grid uses (None: no condition needs it)."""

    cpt: CptSettings | None = None
    full: FullSettings | None = None
    merge: MergeSettings | None = None
    style: StyleSettings | None = None

    @classmethod
    def from_config(cls, cfg: Mapping[str, Any], adaptations: set[str]) -> ArmSettings:
        """The sections of the arms in ``adaptations`` (cpt_sft needs cpt's, merge of full full's)."""
        merge = MergeSettings.from_dict(cfg.get("merge")) if "merge" in adaptations else None
        wants_full = "full" in adaptations or (merge is not None and merge.of == "full")
        return cls(cpt=CptSettings.from_dict(cfg.get("cpt")) if adaptations & {"cpt", "cpt_sft"} else None,
                   full=FullSettings.from_dict(cfg.get("full")) if wants_full else None,
                   merge=merge,
                   style=StyleSettings.from_dict(cfg.get("style")) if "style" in adaptations else None)

    def to_dict(self) -> dict[str, Any]:
        """The spec's view: only the sections in use."""
        return {name: getattr(self, name).to_dict() for name in ("cpt", "full", "merge", "style")
                if getattr(self, name) is not None}
