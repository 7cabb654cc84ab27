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
ADAPTATIONS = ("base", "ft")


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

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["results_dir"] = str(self.results_dir)
        data["conditions"] = [asdict(c) | {"name": c.name} for c in self.conditions]
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
        if rag and retriever_kind == "none":
            continue  # retriever=none turns the grid into closed-book only
        conditions.append(Condition(adaptation, rag, retriever_kind if rag else "none"))
    if not conditions:
        raise HarnessError("the experiment lists no runnable conditions")
    names = [c.name for c in conditions]
    if len(set(names)) != len(names):
        raise HarnessError(f"conditions: duplicate entries {names}")
    return tuple(conditions)


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
        finetune=dict(cfg["finetune"]),
        eval=dict(cfg["eval"]),
        conditions=conditions,
        reference=reference,
        results_dir=resolve_path(cfg.get("results_dir", "results")),
    )
