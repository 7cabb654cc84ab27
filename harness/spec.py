"""RunSpec: the resolved, frozen, hashed description of one experiment run.

Everything downstream reads the spec, never the raw Hydra config, so the hash in the run
folder's name identifies exactly what was asked for (not where or when it ran). The spec is
made of typed sections (:mod:`harness.sections`), one per config group, each handed to the
stage that owns it; the hash is computed over the mappings the sections were built from, so it
is the same as before the sections existed and existing caches and baselines stay valid.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from harness import cache, paths
from harness.errors import HarnessError
from harness.sections import (
    EvalSettings,
    FinetuneSettings,
    IclSettings,
    ModelSpec,
    RaftSettings,
    RetrievalSettings,
    SuiteRef,
)

if TYPE_CHECKING:
    from harness.churn.settings import ChurnSettings
    from harness.finetune.arm_settings import ArmSettings
    from harness.tuning.settings import RecallSettings, TuneSettings

PROJECT_ROOT = paths.DATA_ROOT  # conf/ and tasks/: the checkout, or inside an installed wheel
ADAPTATIONS = ("base", "ft", "icl", "raft", "cpt", "cpt_sft", "full", "merge", "style")
# adaptations that train weights (one model per fine-tuning seed), in the order they are built:
# cpt before cpt_sft (which continues it), ft and full before merge (which interpolates one)
TRAINED = ("ft", "raft", "cpt", "cpt_sft", "full", "merge", "style")
NEW_MODEL = ("full",)  # arms whose result is a whole model, not a LoRA adapter on the base
# exp_name names the folder under results_dir: a plain name, never a path out of it
_EXP_NAME = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9_.-]*")


@dataclass(frozen=True)
class Condition:
    """One cell of the grid: an adaptation of the model × closed book or RAG."""

    adaptation: str
    rag: bool
    retriever: str = "none"
    alpha: float | None = None  # merge only: the interpolation weight of the tuned model

    @property
    def arm(self) -> str:
        """The model evaluated: the adaptation, or ``merge-<alpha>`` (one model per alpha)."""
        return f"{self.adaptation}-{self.alpha:g}" if self.alpha is not None else self.adaptation

    @property
    def name(self) -> str:
        return f"{self.arm}+{self.retriever}" if self.rag else self.arm


@dataclass(frozen=True)
class RunSpec:
    exp_name: str
    seed: int
    model: ModelSpec
    retriever: RetrievalSettings
    suite: SuiteRef
    finetune: FinetuneSettings
    eval: EvalSettings
    conditions: tuple[Condition, ...]
    reference: str
    results_dir: Path = field(compare=False)
    icl: IclSettings | None = None  # set only when a condition uses icl
    raft: RaftSettings | None = None  # set only when a condition uses raft
    forgetting_suite: str | None = None
    tune: TuneSettings | None = None  # finetune.tune × retriever.tune; None: each arm runs as configured
    recall: RecallSettings | None = None  # finetune.recall (None: the defaults, n 60, warn below 0.9)
    churn: ChurnSettings | None = None  # after the grid, the knowledge-churn experiment (None: off)
    arms: ArmSettings | None = None  # cpt/full/merge/style sections, set only when a condition uses them

    def to_dict(self) -> dict[str, Any]:
        """The spec as stored in the manifest and hashed: each section's source mapping."""
        data: dict[str, Any] = {
            "exp_name": self.exp_name, "seed": self.seed, "model": dict(self.model.raw),
            "retriever": dict(self.retriever.raw), "suite": dict(self.suite.raw),
            "finetune": dict(self.finetune.raw), "eval": dict(self.eval.raw),
            "conditions": [_condition_dict(c) for c in self.conditions],
            "reference": self.reference, "results_dir": str(self.results_dir),
        }
        # unused variant settings stay out, so a spec without them hashes as it always did
        if self.icl is not None:
            data["icl"] = self.icl.to_dict()
        if self.raft is not None:
            data["raft"] = self.raft.to_dict()
        if self.forgetting_suite:
            data["forgetting_suite"] = self.forgetting_suite
        # off by default, so untuned runs hash as before these settings existed
        if self.tune is not None:
            data["tune"] = self.tune.to_dict()
        if self.recall is not None and not self.recall.is_default:
            data["recall"] = self.recall.to_dict()
        if self.churn is not None:
            data["churn"] = self.churn.to_dict()
        if self.arms is not None:
            data.update(self.arms.to_dict())
        return data

    @property
    def hash(self) -> str:
        """What was asked for, independent of where results go and of how a dead server is
        recovered (``model.server.restarts`` changes no answer)."""
        data = self.to_dict()
        data.pop("results_dir")
        data["model"] = measured_model(data["model"])
        return cache.hash_json(data)

    @property
    def trained_adaptations(self) -> list[str]:
        """Trained arms (``merge-<alpha>`` one per alpha), in the order they are built (TRAINED)."""
        return list(dict.fromkeys(c.arm for a in TRAINED for c in self.conditions if c.adaptation == a))

    @property
    def finetune_seeds(self) -> list[int]:
        """``finetune.seeds`` when set, else the single ``finetune.seed``."""
        return self.finetune.run_seeds

    @property
    def multi_seed(self) -> bool:
        return len(self.finetune_seeds) > 1

    @property
    def uses_icl(self) -> bool:
        return self.icl is not None


def _condition_dict(c: Condition) -> dict[str, Any]:
    out: dict[str, Any] = {"adaptation": c.adaptation, "rag": c.rag, "retriever": c.retriever, "name": c.name}
    if c.alpha is not None:  # absent otherwise, so grids without merge hash as before
        out["alpha"] = c.alpha
    return out


RECOVERY_KEYS = ("restarts",)  # model.server keys that recover from faults: they change no answer


def measured_model(model: Mapping[str, Any] | None) -> dict[str, Any]:
    """The model section as far as it can change an answer: without ``model.server.restarts``,
    so the spec hash, the cross-suite check and merge's labels ignore how a dead server is
    recovered (runs made before the key existed compare equal to runs made after)."""
    out = dict(model or {})
    server = out.get("server")
    if isinstance(server, Mapping):
        out["server"] = {k: v for k, v in server.items() if k not in RECOVERY_KEYS}
    return out


def resolve_path(value: str | Path) -> Path:
    """Relative paths resolve against the launch directory, then the shipped data (``tasks/agri``)
    — and, in a checkout, the checkout (``results``); an installed harness never writes into
    its own package folder."""
    path = Path(value).expanduser()
    if path.is_absolute():
        return path
    here = Path.cwd() / path
    if here.exists():
        return here.resolve()
    shipped = PROJECT_ROOT / path
    return shipped.resolve() if shipped.exists() or not paths.INSTALLED else here.resolve()


def check_exp_name(value: Any) -> str:
    """``exp_name`` as the one folder under ``results_dir`` it names; a HarnessError for anything
    that would put the run folder elsewhere (a path, ``..``, an absolute name, a hidden name)."""
    name = str(value)
    if not _EXP_NAME.fullmatch(name) or ".." in name:
        raise HarnessError(f"exp_name={name!r}: expected a plain name (letters, digits, '-', '_', '.'; "
                           "no '/', no '..', not starting with '.'), the folder under results_dir the run folder goes in")
    return name


def _conditions(raw: list[Any], retriever_kind: str, alphas: Sequence[float] = ()) -> tuple[Condition, ...]:
    """The grid's cells; a ``merge`` entry is one cell per ``merge.alpha``."""
    conditions: list[Condition] = []
    for i, item in enumerate(raw):
        adaptation, rag = _condition_fields(i, item, retriever_kind)
        if rag and retriever_kind == "none":
            continue  # retriever=none turns the grid into closed-book only
        retriever = retriever_kind if rag else "none"
        if adaptation == "merge":
            conditions += [Condition(adaptation, rag, retriever, alpha) for alpha in alphas]
        else:
            conditions.append(Condition(adaptation, rag, retriever))
    if not conditions:
        raise HarnessError("the experiment lists no runnable conditions")
    names = [c.name for c in conditions]
    if len(set(names)) != len(names):
        raise HarnessError(f"conditions: duplicate entries {names}")
    return tuple(conditions)


def _condition_fields(i: int, item: Any, retriever_kind: str) -> tuple[str, bool]:
    """One ``conditions`` entry checked: its adaptation and whether it retrieves."""
    if not isinstance(item, dict) or "adaptation" not in item:
        raise HarnessError(f"conditions[{i}]: expected a mapping like {{adaptation: base, rag: false}}, got {item!r}")
    adaptation = str(item["adaptation"])
    if adaptation == "cpt+sft":
        raise HarnessError(f"conditions[{i}].adaptation: write cpt+sft as cpt_sft ('+' joins the retriever "
                           "to a condition's name, e.g. cpt_sft+dense)")
    if adaptation not in ADAPTATIONS:
        raise HarnessError(
            f"conditions[{i}].adaptation: unknown value '{adaptation}' (expected one of {', '.join(ADAPTATIONS)})")
    unknown = set(item) - {"adaptation", "rag"}
    if unknown:
        raise HarnessError(f"conditions[{i}]: unknown field(s) {sorted(unknown)}")
    if adaptation == "raft" and retriever_kind == "none":
        raise HarnessError(
            f"conditions[{i}].adaptation: raft trains on retrieved passages, but retriever.kind is "
            "'none'; choose a retriever (retriever=dense|bm25|hybrid) or drop the raft conditions")
    return adaptation, bool(item.get("rag", False))


def _exp_name(cfg: Mapping[str, Any]) -> str:
    """The run's name: the experiment's ``exp_name``; a run without ``+exp`` (``exp_name:
    default``) is named after its suite — the ``name`` in the suite.yaml at ``suite.path``, else
    ``suite.name`` — so ``run suite.path=<my suite>`` lands in ``results/<my suite>/``."""
    name = str(cfg.get("exp_name") or "default")
    if name != "default":
        return name
    suite = cfg.get("suite") or {}
    path = suite.get("path")
    if path:
        manifest = resolve_path(str(path)) / "suite.yaml"
        try:
            own = (yaml.safe_load(manifest.read_text(encoding="utf-8")) or {}).get("name")
        except (OSError, UnicodeDecodeError, yaml.YAMLError, AttributeError):
            own = None  # the suite loader reports a broken suite.yaml with its file and line
        if isinstance(own, str) and own.strip():
            return own.strip()
    return str(suite.get("name") or name)


def _reference(asked: Any, conditions: Sequence[Condition]) -> str:
    """The condition deltas are taken against: named in the grid, else one message (a typo must
    not silently compare against another condition)."""
    names = [c.name for c in conditions]
    if asked is None:
        return names[0]
    if str(asked) not in names:
        raise HarnessError(f"reference={asked}: not a condition of this grid; choose one of: {', '.join(names)}")
    return str(asked)


def from_config(cfg: dict[str, Any]) -> RunSpec:
    """Build a RunSpec from a resolved Hydra config (as a plain dict)."""
    for key in ("model", "retriever", "suite", "finetune", "eval", "conditions"):
        if key not in cfg:
            raise HarnessError(f"config is missing the '{key}' section")
    exp_name = check_exp_name(_exp_name(cfg))
    arms = _arms(cfg)
    conditions = _conditions(list(cfg["conditions"]), str(cfg["retriever"].get("kind", "none")),
                             arms.merge.alphas if arms and arms.merge else ())
    reference = _reference(cfg.get("reference"), conditions)
    uses = {c.adaptation for c in conditions}
    finetune_cfg, retriever_cfg = dict(cfg["finetune"]), dict(cfg["retriever"])
    tune, recall = _arm_checks(finetune_cfg, retriever_cfg, conditions)  # pops their keys
    finetune = FinetuneSettings.from_dict(finetune_cfg)
    model = ModelSpec.from_dict(dict(cfg["model"]))
    if tune is not None and model.remote:
        raise HarnessError(f"finetune.tune: model.backend={model.backend} is an API that brings its own fine-tuned "
                           "models, nothing is trained here to tune; drop finetune.tune")
    if uses & set(TRAINED):
        finetune.params()  # the LoRA hyper-parameters are checked once, before any work
    return RunSpec(
        exp_name=exp_name,
        seed=int(cfg.get("seed", 0)),
        model=model,
        retriever=RetrievalSettings.from_dict(retriever_cfg),
        suite=SuiteRef.from_dict(dict(cfg["suite"])),
        finetune=finetune,
        eval=EvalSettings.from_dict(dict(cfg["eval"])),
        conditions=conditions,
        reference=reference,
        results_dir=resolve_path(cfg.get("results_dir", "results")),
        icl=IclSettings.from_dict(cfg.get("icl")) if "icl" in uses else None,
        raft=RaftSettings.from_dict(cfg.get("raft")) if "raft" in uses else None,
        forgetting_suite=str(cfg["forgetting_suite"]) if cfg.get("forgetting_suite") else None,
        tune=tune,
        recall=recall,
        churn=_churn(cfg.get("churn"), conditions),
        arms=_check_arms(arms, model, cfg.get("forgetting_suite")),
    )


def _arms(cfg: Mapping[str, Any]) -> ArmSettings | None:
    """The cpt/full/merge/style sections of the arms the conditions name (None: none of them)."""
    from harness.finetune.arm_settings import ArmSettings

    named = {str(c.get("adaptation")) for c in cfg["conditions"] if isinstance(c, dict)}
    arms = ArmSettings.from_config(cfg, named)
    return arms if arms.to_dict() else None


def _check_arms(arms: ArmSettings | None, model: ModelSpec, forgetting: Any) -> ArmSettings | None:
    """What the arms cannot do, said before any work: train for a remote API, serve a whole new
    model on a LoRA server, or train the format control on the forgetting suite's facts."""
    if arms is None:
        return None
    from harness.models.backends import backend

    if model.remote:
        raise HarnessError(f"model.backend={model.backend} is an API with its own fine-tuned models; the cpt, full, "
                           "merge and style arms are trained here: drop them or use model.backend=hf")
    whole = arms.full is not None
    if whole and backend(model.backend).serve is not None:
        raise HarnessError(f"full fine-tuning (adaptation full, or merge.of=full) makes a whole new model, and "
                           f"model.backend={model.backend} serves LoRA adapters on one base; evaluate it with "
                           "model.backend=hf, or serve its folder as model.source=path:<folder>")
    if arms.style is not None and forgetting and str(forgetting) in arms.style.sources:
        raise HarnessError(f"style.sources includes the forgetting suite '{forgetting}': the format control would "
                           "be trained on the facts it is tested on for forgetting; choose other style.sources")
    return arms


def _churn(given: Any, conditions: Sequence[Condition]) -> ChurnSettings | None:
    """``churn``: checked before any work, including that the grid trains the adapter it updates."""
    from harness.churn.settings import ChurnSettings

    settings = ChurnSettings.from_dict(given, resolve_path)
    if settings is not None and not any(c.adaptation == "ft" for c in conditions):
        raise HarnessError("churn: the experiment updates the grid's fine-tuned adapter, but no condition has "
                           "adaptation: ft; add {adaptation: ft, rag: false} to the conditions")
    return settings


def _arm_checks(finetune: dict[str, Any], retriever: dict[str, Any],
                conditions: tuple[Condition, ...]) -> tuple[TuneSettings | None, RecallSettings]:
    """``finetune.tune``, ``retriever.tune`` and ``finetune.recall``, taken out of their sections
    (which hash as they always did) and checked once, each error naming its field."""
    from harness.tuning.settings import RecallSettings, tune_settings

    tune = tune_settings(finetune.pop("tune", None), retriever.pop("tune", None),
                         tunes_ft=any(c.adaptation == "ft" for c in conditions),
                         has_rag=any(c.rag for c in conditions))
    return tune, RecallSettings.from_dict(finetune.pop("recall", None))
