"""Name → implementation registries, imported lazily (in the spirit of lm-eval's registry).

A registry maps a name a user types (a backend, a QA generator, a hub suite, a scorer, a verb)
to an object, or to a ``"module:attribute"`` string imported on first use, so that listing what
exists never imports torch or vLLM. An unknown name is a HarnessError that lists every known
one, which is the message a user needs when they mistype it.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator
from typing import Any, Generic, TypeVar

from harness.errors import HarnessError

T = TypeVar("T")


class Registry(Generic[T]):
    """Names of one kind of thing (``kind`` is how messages call it, e.g. "backend")."""

    def __init__(self, kind: str, *, hint: str = "") -> None:
        self.kind = kind
        self.hint = hint  # appended to the unknown-name message, e.g. "(model.backend=...)"
        self._entries: dict[str, T | str] = {}

    def register(self, name: str, target: T | str | None = None) -> Any:
        """``register(name, obj_or_"module:attr")``, or ``@register(name)`` as a decorator."""
        if target is not None:
            self._add(name, target)
            return target

        def decorate(obj: T) -> T:
            self._add(name, obj)
            return obj

        return decorate

    def _add(self, name: str, target: T | str) -> None:
        if name in self._entries and self._entries[name] is not target:
            raise ValueError(f"{self.kind} '{name}' is registered twice")
        self._entries[name] = target

    def get(self, name: str) -> T:
        """The object registered as ``name`` (imported now if it was registered lazily)."""
        if name not in self._entries:
            known = ", ".join(self.names()) or "none"
            raise HarnessError(f"unknown {self.kind} '{name}'{self.hint}; known: {known}")
        target = self._entries[name]
        if isinstance(target, str):
            module, _, attr = target.partition(":")
            target = getattr(importlib.import_module(module), attr)
            self._entries[name] = target
        return target  # type: ignore[return-value]

    def names(self) -> list[str]:
        """Registered names, in registration order."""
        return list(self._entries)

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)


def lazy(target: str) -> Callable[..., Any]:
    """A callable that imports ``"module:attr"`` only when called (for tables of factories)."""

    def call(*args: Any, **kwargs: Any) -> Any:
        module, _, attr = target.partition(":")
        return getattr(importlib.import_module(module), attr)(*args, **kwargs)

    return call
