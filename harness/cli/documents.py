"""Verbs that turn documents into a suite: build-suite (your own Q&A) and generate-qa
(questions generated from the documents)."""

from __future__ import annotations

import sys
from typing import Any

from harness.cli.registry import CONF_DIR, Verb, hydra_job, parser_help, screen, verb


@verb("build-suite", "turn your documents and your Q&A file into a validated suite",
      "build-suite my_docs/ my_questions.csv --out tasks/mydomain", parser_help("harness.suites.build"))
def build_suite_verb(args: list[str]) -> None:
    from harness.suites import build

    sys.exit(build.main(args))


def _generate_qa_help(v: Verb) -> str:
    gens = ",".join(sorted(f.stem for f in (CONF_DIR / "qagen" / "generator").glob("*.yaml")))
    return screen(v, "source=<folder> out=<suite folder> [overrides ...]",
                  f"config: conf/qagen/default.yaml; generator={{{gens}}}\n\nmost used overrides:\n"
                  "  generator=extractive | generator=openai generator.base_url=http://host:8000/v1 generator.model=NAME\n"
                  "  split.eval_fraction=0.2  quality.similarity=lexical  sections.limit=5")


@verb("generate-qa", "generate a Q&A suite from a folder of documents and measure the questions' quality",
      "generate-qa source=my_docs/ out=tasks/mydomain generator=extractive", _generate_qa_help)
def generate_qa_verb(args: list[str]) -> None:
    def job(cfg: dict[str, Any]) -> None:
        from harness.qagen import run

        run(cfg)

    hydra_job("generate-qa", job, args, config_dir=CONF_DIR / "qagen", config_name="default")
