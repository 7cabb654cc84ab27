"""The judge's configuration (``conf/judge/``), checked once before anything runs.

A judge is a chat model (in process or behind an OpenAI-compatible endpoint), a prompt with
a rubric, and decoding settings. Its *identity* — what produced a judgment — is the model's
weights hash (or the endpoint and served model name), the prompt and rubric hash, and the
decoding settings; judgments are cached and reported under that identity, so two judges
never share cache entries and a manifest says exactly which judge scored a run.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from harness import cache
from harness.errors import HarnessError

CRITERIA = ("correctness", "succinctness")
PLACEHOLDERS = ("question", "reference", "answer")
BACKENDS = ("hf", "openai")
# keys a judge section may hold (the chat backend's own settings included)
KNOWN = {"backend", "model", "rubric", "reply_prefix", "batch_size", "limit", "max_new_tokens", "temperature", "device", "seed",
         "threads", "base_url", "api_key_env", "timeout_s", "max_retries", "client"}
RUBRIC_KNOWN = {"scale", "system", "user"}


@dataclass(frozen=True)
class JudgeConfig:
    """A validated ``judge`` section; ``settings`` is what the chat backend is built from."""

    backend: str
    model: str
    system: str
    user: str
    scale: tuple[int, int]
    reply_prefix: str  # the judge's reply is begun with this text (e.g. '{"correctness": ')
    batch_size: int
    limit: int | None
    settings: dict[str, Any] = field(default_factory=dict, compare=False)

    def messages(self, question: str, reference: str, answer: str) -> list[dict[str, str]]:
        """The chat the judge is sent for one answer."""
        fields = {"question": question, "reference": reference, "answer": answer,
                  "low": self.scale[0], "high": self.scale[1]}
        out = [{"role": "system", "content": self.system.format(**fields)}] if self.system else []
        return [*out, {"role": "user", "content": self.user.format(**fields)}]

    def decoding(self) -> dict[str, Any]:
        """The decoding settings that change what the judge writes (greedy in process)."""
        if self.backend == "hf":
            return {"greedy": True, "max_new_tokens": self.settings["max_new_tokens"]}
        return {"temperature": self.settings["temperature"], "max_new_tokens": self.settings["max_new_tokens"]}

    def prompt_sha256(self) -> str:
        return cache.hash_json({"system": self.system, "user": self.user, "scale": list(self.scale),
                                "criteria": list(CRITERIA), "reply_prefix": self.reply_prefix})


def _int(section: dict[str, Any], key: str, default: Any, minimum: int, where: str) -> Any:
    value = section.get(key, default)
    if value is None:
        return None
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise HarnessError(f"{where}.{key}={value!r}: expected an integer >= {minimum}") from None
    if number < minimum or isinstance(value, bool):
        raise HarnessError(f"{where}.{key}={value!r}: expected an integer >= {minimum}")
    return number


def _check_template(text: str, key: str) -> None:
    try:
        text.format(question="", reference="", answer="", low=1, high=5)
    except (KeyError, IndexError, ValueError) as err:
        raise HarnessError(f"judge.rubric.{key}: bad placeholder {err}; available: {{question}}, {{reference}}, "
                           "{answer}, {low}, {high} (write literal braces as {{ }}, e.g. a JSON example)") from None


def from_dict(section: Any, where: str = "judge") -> JudgeConfig:
    """Validate a ``judge`` config section (a Hydra ``+judge=...`` choice plus overrides)."""
    if not isinstance(section, dict):
        raise HarnessError(f"{where}: expected a judge configuration (+judge=embedded or +judge=endpoint), "
                           f"got {section!r}")
    unknown = sorted(set(section) - KNOWN)
    if unknown:
        raise HarnessError(f"{where}: unknown setting(s) {unknown}; known: {sorted(KNOWN)}")
    backend = section.get("backend")
    if backend not in BACKENDS:
        raise HarnessError(f"{where}.backend={backend!r}: expected 'hf' (a local model in process, "
                           "+judge=embedded) or 'openai' (an OpenAI-compatible endpoint, +judge=endpoint)")
    model = str(section.get("model") or "")
    if not model:
        raise HarnessError(f"{where}.model is empty: name the judge model ({where}.model=wheel:smollm2-135m-instruct, "
                           f"a local folder, or the name an endpoint serves)")
    rubric = section.get("rubric")
    if not isinstance(rubric, dict):
        raise HarnessError(f"{where}.rubric: expected the prompt and rubric (conf/judge/rubric/default.yaml)")
    unknown = sorted(set(rubric) - RUBRIC_KNOWN)
    if unknown:
        raise HarnessError(f"{where}.rubric: unknown setting(s) {unknown}; known: {sorted(RUBRIC_KNOWN)}")
    system, user = str(rubric.get("system") or ""), str(rubric.get("user") or "")
    for key, text in (("system", system), ("user", user)):
        _check_template(text, key)
    missing = [p for p in PLACEHOLDERS if "{" + p + "}" not in system + user]
    if missing:
        raise HarnessError(f"{where}.rubric.user must contain {', '.join('{' + p + '}' for p in missing)} "
                           "(where the question, the reference answer and the answer to judge go)")
    scale = rubric.get("scale") or [1, 5]
    try:
        low, high = (int(x) for x in scale)
    except (TypeError, ValueError):
        raise HarnessError(f"{where}.rubric.scale={scale!r}: expected two integers [low, high], e.g. [1, 5]") from None
    if low >= high:
        raise HarnessError(f"{where}.rubric.scale={scale!r}: low must be below high")
    settings = {k: v for k, v in section.items() if k not in ("rubric", "reply_prefix", "batch_size", "limit")}
    settings["max_new_tokens"] = _int(section, "max_new_tokens", 64, 1, where)
    settings["temperature"] = float(section.get("temperature") or 0.0)
    return JudgeConfig(backend=str(backend), model=model, system=system, user=user, scale=(low, high),
                       reply_prefix=str(section.get("reply_prefix") or ""),
                       batch_size=_int(section, "batch_size", 8, 1, where),
                       limit=_int(section, "limit", None, 1, where), settings=settings)


def identity(config: JudgeConfig, backend: Any) -> dict[str, Any]:
    """Who judged: what the judgments are cached and reported under (no secret in it)."""
    out: dict[str, Any] = {"backend": config.backend, "model": config.model}
    if config.backend == "hf":
        out["weights_sha256"] = backend.weights_sha256()
    else:
        out["base_url"] = backend.base_url
    out |= {"prompt_sha256": config.prompt_sha256(), "scale": list(config.scale), "decoding": config.decoding()}
    out["sha256"] = cache.hash_json(out)
    return out
