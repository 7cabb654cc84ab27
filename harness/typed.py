"""Config values checked against the field types of the dataclass they fill, so a wrong-typed
override (``retriever.top_k=abc``) is one message naming the key when the config is built —
not a TypeError deep inside a stage, after the model has loaded."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from harness.errors import HarnessError

_NAMES = {"int": "an integer", "float": "a number", "bool": "true or false"}


def _base(annotation: Any) -> tuple[str, bool]:
    """('int' | 'float' | 'bool' | other, whether None is allowed) of a field annotation string."""
    text = str(annotation).replace("typing.", "").replace(" ", "")
    parts = [p for p in text.split("|") if p]
    optional = "None" in parts or text.startswith("Optional[")
    core = [p for p in parts if p != "None"]
    return (core[0] if len(core) == 1 else text), optional


def _coerce(kind: str, value: Any) -> Any:
    if kind == "bool":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        raise ValueError
    if isinstance(value, bool):
        raise ValueError
    if kind == "int":
        number = float(value) if isinstance(value, str) else value
        if isinstance(number, float) and number.is_integer():
            return int(number)
        if isinstance(number, int):
            return number
        raise ValueError
    return float(value)


def coerce_fields(cls: type, values: Mapping[str, Any], section: str) -> dict[str, Any]:
    """``values`` with every int / float / bool field of dataclass ``cls`` checked (numbers given
    as text converted); a value that is not of its field's type is a HarnessError naming
    ``section.key``, the value and the expected type."""
    kinds = {f.name: _base(f.type) for f in dataclasses.fields(cls)}
    out = dict(values)
    for key, value in values.items():
        kind, optional = kinds.get(key, ("", True))
        if kind not in _NAMES or (value is None and optional):
            continue
        try:
            out[key] = _coerce(kind, value)
        except (TypeError, ValueError):
            raise HarnessError(f"{section}.{key}={value!r}: expected {_NAMES[kind]}"
                               f"{' or null' if optional else ''}") from None
    return out


__all__ = ["coerce_fields"]
