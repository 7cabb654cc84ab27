"""Scoring a run folder's stored answers: per-sample scorers, their aggregation, the LLM judge.

``score_run(RunFolder(path), metrics)`` runs every scorer registered in
``harness.scoring.scorers.SCORERS`` over the folder's records (ROUGE-L, answer similarity,
retrieval and grounding scores), then the run-level ones (the LLM judge's stored judgments),
and counts cost; it returns a ``RunScores`` that harness.report renders. Scoring never imports
the report. Modules: text and answers (what is compared), scorers (the registry), similarity,
cost, result, run (the entry), stats (bootstrap CIs and paired tests), judge/ (the judge pass).
"""

from harness.scoring.result import RunScores
from harness.scoring.run import score_run

__all__ = ["RunScores", "score_run"]
