"""Evaluation: lm-eval driving, per-model generation caches, per-sample records."""
