"""Verbs that turn documents into a suite: build-suite (your own Q&A) and generate-qa
(questions generated from the documents)."""

from __future__ import annotations

import sys
from typing import Any

from harness.cli.registry import CONF_DIR, Verb, hydra_job, parser_help, verb


@verb("build-suite", "your documents + your Q&A file → a validated suite: build-suite <docs> <qa.jsonl|csv> --out <suite>",
      parser_help("harness.suites.build"))
def build_suite_verb(args: list[str]) -> None:
    from harness.suites import build

    sys.exit(build.main(args))


def _generate_qa_help(v: Verb) -> str:
    gens = ",".join(sorted(f.stem for f in (CONF_DIR / "qagen" / "generator").glob("*.yaml")))
    return ("usage: python -m harness generate-qa source=<folder> out=<suite folder> [overrides ...]\n\n"
            f"{v.summary}.\n\nConfig: conf/qagen/default.yaml; generator={{{gens}}}\n"
            "Examples: generator=extractive  generator=openai generator.base_url=http://host:8000/v1 "
            "generator.model=NAME  split.eval_fraction=0.2  quality.similarity=lexical  sections.limit=5\n")


@verb("generate-qa", "documents → generated Q&A suite + question quality: generate-qa source=<folder> out=<suite>",
      _generate_qa_help)
def generate_qa_verb(args: list[str]) -> None:
    def job(cfg: dict[str, Any]) -> None:
        from harness.qagen import run

        run(cfg)

    hydra_job("generate-qa", job, args, config_dir=CONF_DIR / "qagen", config_name="default")
