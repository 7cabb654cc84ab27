"""Question/answer generation from a folder of documents into a suite (``generate-qa``).

sections (structure + sentences, on ``harness.suites.ingest``) → generators (extractive rules,
an in-process chat model, an OpenAI-compatible endpoint; each question in several wordings) →
filters (quality, dedup) → split (paraphrase: a held-out wording of trained facts; transfer: by
fact group, eval facts never trained) → quality (the study's question measures) → writer (a suite
``load_suite`` validates). ``pipeline.run(cfg)`` ties them together.
"""

from harness.qagen.pipeline import run

__all__ = ["run"]
