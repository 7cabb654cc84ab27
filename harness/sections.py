"""The typed sections of a run spec: one frozen dataclass per config group, built once.

Why: every stage takes its own section and nothing else, and reads typed fields instead of
re-parsing ``dict.get(key, default)`` with its own copy of the default. Each section keeps the
mapping it was built from (``raw``) because the spec hash and several cache keys are computed
over those mappings; building a section never changes them, so existing caches stay valid.

This module sits at the bottom of the import graph (errors only): stage packages import their
section types from here, and :mod:`harness.spec` builds them from the Hydra config.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field, replace
from typing import TYPE_CHECKING, Any

from harness.errors import HarnessError

if TYPE_CHECKING:
    from harness.retrieval.config import RetrieverConfig

ICL_DEFAULTS = {"k": 3, "seed": 0}
RAFT_DEFAULTS = {"distractors": 2, "p_gold": 0.8, "seed": 0, "max_length": 512, "micro_batch": 4}
# finetune keys that choose what is trained (not LoRA hyper-parameters, not in FinetuneParams)
FINETUNE_RUN_KEYS = ("method", "seeds", "augment", "augment_n", "export_merged")


def _number(section: str, key: str, value: Any, kind: type = int) -> Any:
    """``value`` as an int (or float), else one HarnessError naming ``section.key``."""
    try:
        if isinstance(value, bool):
            raise ValueError
        number = kind(float(value)) if kind is int and isinstance(value, str) else kind(value)
        if kind is int and float(value) != number:
            raise ValueError
        return number
    except (TypeError, ValueError):
        raise HarnessError(f"{section}.{key}={value!r}: expected {'an integer' if kind is int else 'a number'}") from None


def _int_or_none(section: str, key: str, value: Any) -> int | None:
    if value is None:
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        raise HarnessError(f"{section}.{key}={value!r}: expected an integer or null") from None


def _positive_or_none(section: str, key: str, value: Any) -> int | None:
    """A count that must be at least 1 (0 used to mean "all" without saying so)."""
    number = _int_or_none(section, key, value)
    if number is not None and number < 1:
        raise HarnessError(f"{section}.{key}={value!r}: expected a positive number, or null for all")
    return number


@dataclass(frozen=True)
class SuiteRef:
    """Which suite to load: a folder of the suite format, or a hub dataset converted once."""

    name: str
    path: str | None
    hub: str | None
    data_dir: str | None
    n_docs: int | None
    raw: Mapping[str, Any] = field(repr=False, compare=False)
    docs: tuple[str, ...] | None = None  # glob patterns of document ids or titles (harness/suites/subset.py)

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> SuiteRef:
        hub = raw.get("hub")
        if not hub and not raw.get("path"):
            raise HarnessError("suite.path is not set: name a suite folder (suite=agri or suite.path=<folder>)")
        docs = raw.get("docs")
        if docs is not None and (isinstance(docs, str) or not all(isinstance(d, str) for d in docs)):
            raise HarnessError(f"suite.docs={docs!r}: expected a list of glob patterns, e.g. ['*Velmora*']")
        given = {k: v for k, v in raw.items() if not (k == "docs" and v is None)}  # unset: hashes as before
        return cls(name=str(raw.get("name") or ""), path=str(raw["path"]) if raw.get("path") else None,
                   hub=str(hub) if hub else None, data_dir=str(raw["data_dir"]) if raw.get("data_dir") else None,
                   n_docs=_positive_or_none("suite", "n_docs", raw.get("n_docs")), raw=given,
                   docs=tuple(docs) if docs is not None else None)


@dataclass(frozen=True)
class ModelSpec:
    """The model under test and how it is run (in process, a vLLM server, an endpoint)."""

    name: str
    source: str
    backend: str
    dtype: str
    tokenizer: str | None
    served_name: str | None
    api_key_env: str | None
    base_url: str | None  # model=openai: the endpoint
    server: Mapping[str, Any]  # model.backend=vllm: how the server is launched or attached to
    client: Mapping[str, Any]  # how lm-eval queries a served model
    adapted_names: Mapping[str, str]  # model=openai: the endpoint's names of fine-tuned models
    raw: Mapping[str, Any] = field(repr=False, compare=False)

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> ModelSpec:
        for key in ("server", "client", "adapted_names"):
            if raw.get(key) is not None and not isinstance(raw[key], Mapping):
                raise HarnessError(f"model.{key}: expected a mapping, got {raw[key]!r}")
        text = {k: (str(raw[k]) if raw.get(k) else None) for k in ("tokenizer", "served_name", "api_key_env", "base_url")}
        return cls(name=str(raw.get("name") or ""), source=str(raw.get("source", "")),
                   backend=str(raw.get("backend", "hf")), dtype=str(raw.get("dtype", "float32")),
                   server=dict(raw.get("server") or {}), client=dict(raw.get("client") or {}),
                   adapted_names=dict(raw.get("adapted_names") or {}), raw=dict(raw), **text)

    @property
    def remote(self) -> bool:
        """An OpenAI-compatible API: it brings its own (fine-tuned) models, nothing is trained here."""
        return self.backend == "openai"

    def client_settings(self) -> dict[str, Any]:
        """How a served model is queried; the context length follows the server's unless set."""
        client = dict(self.client)
        server_len = self.server.get("max_model_len")
        if server_len and "max_length" not in client:
            client["max_length"] = int(server_len)
        return client


@dataclass(frozen=True)
class RetrievalSettings:
    """The retriever section: which passages come back (the parsed retriever) and how many
    context tokens of them a prompt may hold (``budget_tokens``)."""

    kind: str
    top_k: int
    budget_tokens: int
    retriever: RetrieverConfig = field(repr=False)
    raw: Mapping[str, Any] = field(repr=False, compare=False)

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> RetrievalSettings:
        from harness.retrieval.config import RetrieverConfig

        # parsed once, here, with errors naming the key
        retriever = RetrieverConfig.from_dict({k: v for k, v in raw.items() if k != "budget_tokens"})
        return cls(kind=retriever.kind, top_k=retriever.top_k, budget_tokens=_number("retriever", "budget_tokens", raw.get("budget_tokens", 512)),
                   retriever=retriever, raw=dict(raw))

    def config(self, **overrides: Any) -> RetrieverConfig:
        """The retriever, with ``overrides`` (e.g. RAFT's larger top_k) validated like the rest."""
        return replace(self.retriever, **overrides) if overrides else self.retriever


@dataclass(frozen=True)
class IclSettings:
    """k-shot conditions: ``k`` training examples drawn once per run with ``seed``."""

    k: int = 3
    seed: int = 0

    @classmethod
    def from_dict(cls, given: Mapping[str, Any] | None) -> IclSettings:
        values = _known("icl", given, ICL_DEFAULTS)
        icl = cls(k=_number("icl", "k", values["k"]), seed=_number("icl", "seed", values["seed"]))
        if icl.k < 1:
            raise HarnessError(f"icl.k={icl.k}: the number of in-context examples must be >= 1")
        return icl

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class RaftSettings:
    """RAFT training data: the gold passage among ``distractors`` others in a share ``p_gold``."""

    distractors: int = 2
    p_gold: float = 0.8
    seed: int = 0
    max_length: int = 512
    micro_batch: int = 4

    @classmethod
    def from_dict(cls, given: Mapping[str, Any] | None) -> RaftSettings:
        v = _known("raft", given, RAFT_DEFAULTS)
        raft = cls(distractors=_number("raft", "distractors", v["distractors"]),
                   p_gold=_number("raft", "p_gold", v["p_gold"], float), seed=_number("raft", "seed", v["seed"]),
                   max_length=_number("raft", "max_length", v["max_length"]),
                   micro_batch=_number("raft", "micro_batch", v["micro_batch"]))
        if raft.distractors < 0:
            raise HarnessError(f"raft.distractors={raft.distractors} must be >= 0")
        if not 0.0 <= raft.p_gold <= 1.0:
            raise HarnessError(f"raft.p_gold={raft.p_gold} must be in [0, 1]")
        for key in ("max_length", "micro_batch"):
            if getattr(raft, key) < 1:
                raise HarnessError(f"raft.{key}={getattr(raft, key)} must be >= 1")
        return raft

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _known(section: str, given: Mapping[str, Any] | None, defaults: Mapping[str, Any]) -> dict[str, Any]:
    """``given`` over ``defaults``, naming unknown keys."""
    values = dict(given or {})
    unknown = sorted(set(values) - set(defaults))
    if unknown:
        raise HarnessError(f"unknown {section} setting(s) {unknown}; known: {sorted(defaults)}")
    return {**defaults, **values}


@dataclass(frozen=True)
class FinetuneSettings:
    """What is trained (method, seeds, data augmentation) and the LoRA hyper-parameters."""

    method: str
    seeds: tuple[int, ...]  # one adapter per seed; () means the single ``seed``
    seed: int
    augment: str | None
    augment_n: int
    export_merged: str | None
    raw: Mapping[str, Any] = field(repr=False, compare=False)  # normalised: unset options dropped

    @classmethod
    def from_dict(cls, given: Mapping[str, Any]) -> FinetuneSettings:
        raw = _normalised_finetune(given)
        method = str(raw.get("method", "lora"))
        settings = cls(method=method, seeds=tuple(raw.get("seeds") or ()), seed=_number("finetune", "seed", raw.get("seed", 0)),
                       augment=raw.get("augment"), augment_n=_number("finetune", "augment_n", raw.get("augment_n") or 2),
                       export_merged=str(raw["export_merged"]) if raw.get("export_merged") else None, raw=raw)
        return settings

    @property
    def run_seeds(self) -> list[int]:
        """``seeds`` when set, else the single ``seed``."""
        return list(self.seeds) if self.seeds else [self.seed]

    def params(self, seed: int | None = None, **overrides: Any) -> Any:
        """The :class:`~harness.finetune.params.FinetuneParams` for one seed (validated there)."""
        from harness.finetune.params import FinetuneParams

        if self.method != "lora":
            raise HarnessError(f"finetune.method={self.method}: only 'lora' is available")
        settings = {k: v for k, v in self.raw.items() if k not in FINETUNE_RUN_KEYS}
        unknown = set(settings) - set(FinetuneParams.__dataclass_fields__)
        if unknown:
            raise HarnessError(f"unknown finetune setting(s) {sorted(unknown)}")
        if seed is not None:
            settings["seed"] = seed
        return FinetuneParams.from_dict(settings | overrides)


# Optional finetune keys: left out of the spec when null, and the ones below also when at their
# default or when they refine a key that is off (section and value as given).
_FINETUNE_OPTIONAL = ("seeds", "augment", "augment_n", "export_merged", "precision", "gradient_checkpointing",
                      "stop_at_recall", "stop_check_n", "stop_check_from")
_FINETUNE_UNSET_WHEN: dict[str, Callable[[Mapping[str, Any], Any], bool]] = {
    "augment_n": lambda section, _: section.get("augment") is None,
    "precision": lambda _, value: value == "auto",
    "gradient_checkpointing": lambda _, value: value == "auto",
    "stop_check_n": lambda section, _: section.get("stop_at_recall") is None,
    "stop_check_from": lambda section, value: section.get("stop_at_recall") is None or value == 1,
}


def _is_unset(section: Mapping[str, Any], key: str, value: Any) -> bool:
    if key not in _FINETUNE_OPTIONAL:
        return False
    return value is None or (key in _FINETUNE_UNSET_WHEN and _FINETUNE_UNSET_WHEN[key](section, value))


def _normalised_finetune(given: Mapping[str, Any]) -> dict[str, Any]:
    """The finetune section with optional keys kept only when set (spec hash stability)."""
    out = {key: value for key, value in given.items() if not _is_unset(given, key, value)}
    if "seeds" in out:
        seeds = out["seeds"]
        if isinstance(seeds, (int, str)) or not all(isinstance(s, int) and not isinstance(s, bool) for s in seeds):
            raise HarnessError(f"finetune.seeds={seeds!r}: expected a list of integers, e.g. [0,1,2]")
        if not seeds or len(set(seeds)) != len(seeds):
            raise HarnessError(f"finetune.seeds={list(seeds)!r}: expected distinct integers")
        out["seeds"] = [_number("finetune", "seeds", s) for s in seeds]
    if "augment" in out and out["augment"] != "paraphrase":
        raise HarnessError(f"finetune.augment={out['augment']!r}: the only augmentation is 'paraphrase' (or null)")
    return out


@dataclass(frozen=True)
class EvalSettings:
    """How lm-eval runs every condition (the same for all of them)."""

    limit: int | float | None  # lm-eval's limit: N docs per task (or a fraction of them below 1)
    batch_size: int
    apply_chat_template: bool
    max_gen_toks: int | None
    bootstrap_iters: int
    raw: Mapping[str, Any] = field(repr=False, compare=False)

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> EvalSettings:
        limit = raw.get("limit")
        if limit is not None and not isinstance(limit, (int, float)) or isinstance(limit, bool):
            raise HarnessError(f"eval.limit={limit!r}: expected a number of docs per task or null")
        if limit is not None and limit <= 0:
            raise HarnessError(f"eval.limit={limit!r}: expected a positive number of docs per task (a fraction "
                               "below 1 is a share of them), or null for all")
        return cls(limit=limit,
                   batch_size=_number("eval", "batch_size", raw.get("batch_size", 16)),
                   apply_chat_template=bool(raw.get("apply_chat_template", True)),
                   max_gen_toks=_int_or_none("eval", "max_gen_toks", raw.get("max_gen_toks")),
                   bootstrap_iters=_number("eval", "bootstrap_iters", raw.get("bootstrap_iters", 1000)), raw=dict(raw))

