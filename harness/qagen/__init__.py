"""Question/answer generation from a folder of documents into a suite (``generate-qa``).

sections (structure + sentences, on ``harness.suites.ingest``) → generators (extractive rules,
an in-process chat model, an OpenAI-compatible endpoint) → filters (quality, dedup) → split (by
fact group, no paraphrase leakage) → quality (the study's question measures) → writer (a suite
``load_suite`` validates). ``pipeline.run(cfg)`` ties them together.
"""

from harness.qagen.pipeline import run

__all__ = ["run"]
