"""RunSpec: the resolved, frozen, hashed description of one experiment run.

Everything downstream reads the spec, never the raw Hydra config, so the hash in the run
folder's name identifies exactly what was asked for (not where or when it ran).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from harness import cache
from harness.errors import HarnessError

PROJECT_ROOT = Path(__file__).resolve().parent.parent
ADAPTATIONS = ("base", "ft", "icl", "raft")
TRAINED = ("ft", "raft")  # adaptations that train an adapter (one per fine-tuning seed)
ICL_DEFAULTS = {"k": 3, "seed": 0}
RAFT_DEFAULTS = {"distractors": 2, "p_gold": 0.8, "seed": 0, "max_length": 512, "micro_batch": 4}


@dataclass(frozen=True)
class Condition:
    """One cell of the grid: an adaptation of the model × closed book or RAG."""

    adaptation: str
    rag: bool
    retriever: str = "none"

    @property
    def name(self) -> str:
        return f"{self.adaptation}+{self.retriever}" if self.rag else self.adaptation


@dataclass(frozen=True)
class RunSpec:
    exp_name: str
    seed: int
    model: dict[str, Any]
    retriever: dict[str, Any]
    suite: dict[str, Any]
    finetune: dict[str, Any]
    eval: dict[str, Any]
    conditions: tuple[Condition, ...]
    reference: str
    results_dir: Path = field(compare=False)
    icl: dict[str, Any] = field(default_factory=dict)  # set only when a condition uses icl
    raft: dict[str, Any] = field(default_factory=dict)  # set only when a condition uses raft
    forgetting_suite: str | None = None

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["results_dir"] = str(self.results_dir)
        data["conditions"] = [asdict(c) | {"name": c.name} for c in self.conditions]
        # unused variant settings stay out, so a spec without them hashes as it always did
        for key in ("icl", "raft", "forgetting_suite"):
            if not data[key]:
                data.pop(key)
        return data

    @property
    def hash(self) -> str:
        """What was asked for, independent of where results go."""
        data = self.to_dict()
        data.pop("results_dir")
        return cache.hash_json(data)

    @property
    def needs_adapter(self) -> bool:
        return any(c.adaptation == "ft" for c in self.conditions)

    @property
    def trained_adaptations(self) -> list[str]:
        """Adaptations that need a trained adapter, in grid order (ft before raft)."""
        return [a for a in TRAINED if any(c.adaptation == a for c in self.conditions)]

    @property
    def finetune_seeds(self) -> list[int]:
        """``finetune.seeds`` when set, else the single ``finetune.seed``."""
        seeds = self.finetune.get("seeds")
        return [int(s) for s in seeds] if seeds else [int(self.finetune.get("seed", 0))]

    @property
    def multi_seed(self) -> bool:
        return len(self.finetune_seeds) > 1

    @property
    def needs_retrieval(self) -> bool:
        return any(c.rag for c in self.conditions)


def resolve_path(value: str | Path) -> Path:
    """Relative paths resolve against the launch directory, then the project checkout."""
    path = Path(value).expanduser()
    if path.is_absolute():
        return path
    here = Path.cwd() / path
    return here.resolve() if here.exists() else (PROJECT_ROOT / path).resolve()


def _conditions(raw: list[Any], retriever_kind: str) -> tuple[Condition, ...]:
    conditions: list[Condition] = []
    for i, item in enumerate(raw):
        if not isinstance(item, dict) or "adaptation" not in item:
            raise HarnessError(
                f"conditions[{i}]: expected a mapping like {{adaptation: base, rag: false}}, got {item!r}"
            )
        adaptation = str(item["adaptation"])
        if adaptation not in ADAPTATIONS:
            raise HarnessError(
                f"conditions[{i}].adaptation: unknown value '{adaptation}' (expected one of {', '.join(ADAPTATIONS)})"
            )
        unknown = set(item) - {"adaptation", "rag"}
        if unknown:
            raise HarnessError(f"conditions[{i}]: unknown field(s) {sorted(unknown)}")
        rag = bool(item.get("rag", False))
        if adaptation == "raft" and retriever_kind == "none":
            raise HarnessError(
                f"conditions[{i}].adaptation: raft trains on retrieved passages, but retriever.kind is "
                "'none'; choose a retriever (retriever=dense|bm25|hybrid) or drop the raft conditions"
            )
        if rag and retriever_kind == "none":
            continue  # retriever=none turns the grid into closed-book only
        conditions.append(Condition(adaptation, rag, retriever_kind if rag else "none"))
    if not conditions:
        raise HarnessError("the experiment lists no runnable conditions")
    names = [c.name for c in conditions]
    if len(set(names)) != len(names):
        raise HarnessError(f"conditions: duplicate entries {names}")
    return tuple(conditions)


def _settings(cfg: dict[str, Any], key: str, defaults: dict[str, Any]) -> dict[str, Any]:
    """``cfg[key]`` over ``defaults``, naming unknown keys."""
    given = dict(cfg.get(key) or {})
    unknown = sorted(set(given) - set(defaults))
    if unknown:
        raise HarnessError(f"unknown {key} setting(s) {unknown}; known: {sorted(defaults)}")
    return {**defaults, **given}


def _icl_settings(cfg: dict[str, Any]) -> dict[str, Any]:
    icl = _settings(cfg, "icl", ICL_DEFAULTS)
    icl = {"k": int(icl["k"]), "seed": int(icl["seed"])}
    if icl["k"] < 1:
        raise HarnessError(f"icl.k={icl['k']}: the number of in-context examples must be >= 1")
    return icl


def _raft_settings(cfg: dict[str, Any]) -> dict[str, Any]:
    raft = _settings(cfg, "raft", RAFT_DEFAULTS)
    raft = {"distractors": int(raft["distractors"]), "p_gold": float(raft["p_gold"]),
            "seed": int(raft["seed"]), "max_length": int(raft["max_length"]), "micro_batch": int(raft["micro_batch"])}
    if raft["distractors"] < 0:
        raise HarnessError(f"raft.distractors={raft['distractors']} must be >= 0")
    if not 0.0 <= raft["p_gold"] <= 1.0:
        raise HarnessError(f"raft.p_gold={raft['p_gold']} must be in [0, 1]")
    for key in ("max_length", "micro_batch"):
        if raft[key] < 1:
            raise HarnessError(f"raft.{key}={raft[key]} must be >= 1")
    return raft


def _finetune_settings(raw: dict[str, Any]) -> dict[str, Any]:
    """The finetune section; optional keys are kept only when set (spec hash stability)."""
    out = dict(raw)
    for key in ("seeds", "augment", "augment_n", "export_merged", "precision", "gradient_checkpointing"):
        unset = out.get(key) is None or (key in ("precision", "gradient_checkpointing") and out[key] == "auto")
        if unset or (key == "augment_n" and out.get("augment") is None):
            out.pop(key, None)
    if "seeds" in out:
        seeds = out["seeds"]
        if isinstance(seeds, (int, str)) or not all(isinstance(s, int) and not isinstance(s, bool) for s in seeds):
            raise HarnessError(f"finetune.seeds={seeds!r}: expected a list of integers, e.g. [0,1,2]")
        if not seeds or len(set(seeds)) != len(seeds):
            raise HarnessError(f"finetune.seeds={list(seeds)!r}: expected distinct integers")
        out["seeds"] = [int(s) for s in seeds]
    if "augment" in out and out["augment"] != "paraphrase":
        raise HarnessError(f"finetune.augment={out['augment']!r}: the only augmentation is 'paraphrase' (or null)")
    return out


def from_config(cfg: dict[str, Any]) -> RunSpec:
    """Build a RunSpec from a resolved Hydra config (as a plain dict)."""
    for key in ("model", "retriever", "suite", "finetune", "eval", "conditions"):
        if key not in cfg:
            raise HarnessError(f"config is missing the '{key}' section")
    conditions = _conditions(list(cfg["conditions"]), str(cfg["retriever"].get("kind", "none")))
    reference = str(cfg.get("reference", conditions[0].name))
    if reference not in {c.name for c in conditions}:
        reference = conditions[0].name
    return RunSpec(
        exp_name=str(cfg.get("exp_name", "default")),
        seed=int(cfg.get("seed", 0)),
        model=dict(cfg["model"]),
        retriever=dict(cfg["retriever"]),
        suite=dict(cfg["suite"]),
        finetune=_finetune_settings(dict(cfg["finetune"])),
        eval=dict(cfg["eval"]),
        conditions=conditions,
        reference=reference,
        results_dir=resolve_path(cfg.get("results_dir", "results")),
        icl=_icl_settings(cfg) if any(c.adaptation == "icl" for c in conditions) else {},
        raft=_raft_settings(cfg) if any(c.adaptation == "raft" for c in conditions) else {},
        forgetting_suite=str(cfg["forgetting_suite"]) if cfg.get("forgetting_suite") else None,
    )
