"""The task variants of one grid, and which of them each condition evaluates."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.spec import Condition
from harness.variants.task import TaskVariant


@dataclass(frozen=True)
class VariantSet:
    """The main suite's variants by (icl, rag), and each extra suite's closed-book variants by
    icl (extra suites: the forgetting suite, evaluated closed book in the same grid)."""

    main: Mapping[tuple[bool, bool], tuple[TaskVariant, ...]]
    extra: Mapping[str, Mapping[bool, tuple[TaskVariant, ...]]]  # suite name -> icl -> variants

    @classmethod
    def of(cls, main: Mapping[tuple[bool, bool], list[TaskVariant]],
           extra: Mapping[str, Mapping[bool, list[TaskVariant]]]) -> VariantSet:
        return cls({k: tuple(vs) for k, vs in main.items()},
                   {name: {icl: tuple(vs) for icl, vs in by_icl.items()} for name, by_icl in extra.items()})

    def for_condition(self, condition: Condition) -> list[TaskVariant]:
        """What ``condition`` evaluates: the main suite's (icl, rag) variants, plus the extra
        suites' closed-book ones (their ICL variants for an icl condition) when closed book."""
        icl = condition.adaptation == "icl"
        out = list(self.main[(icl, condition.rag)])
        if not condition.rag:
            for by_icl in self.extra.values():
                out += by_icl.get(icl, ())
        return out

    def all(self) -> list[TaskVariant]:
        """Every variant: the main suite's in build order, then each extra suite's."""
        out = [v for vs in self.main.values() for v in vs]
        return out + [v for by_icl in self.extra.values() for vs in by_icl.values() for v in vs]

    def include_paths(self) -> list[Path]:
        """The folders lm-eval must search for the variants' YAMLs (sorted, unique)."""
        return [Path(p) for p in sorted({str(v.yaml_path.parent) for v in self.all()})]

    def rag(self) -> list[TaskVariant]:
        """The main suite's RAG variants (plain if built, else ICL: the same retrieval)."""
        return list(self.main.get((False, True)) or self.main.get((True, True), ()))

    def icl_stats(self) -> dict[str, dict[str, Any]]:
        """Stats of the main suite's ICL variants by variant name (metrics.json ``icl``)."""
        return {v.name: v.stats for (icl, _), vs in self.main.items() if icl for v in vs}

    def extra_tasks(self) -> set[str]:
        """Base task names of the extra suites (their records go under ``forgetting/``)."""
        return {v.base_task for by_icl in self.extra.values() for vs in by_icl.values() for v in vs}
