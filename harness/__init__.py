"""RAG-or-fine-tuning benchmark harness: measured, reproducible, comparable."""

__version__ = "0.1.0"
