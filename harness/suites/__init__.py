"""Suites: a corpus, training pairs and lm-eval tasks about one domain, validated on load."""

from harness.suites.loader import (
    TASK_KINDS,
    Suite,
    SuiteTask,
    load_suite,
    read_jsonl,
    render_train_example,
    resolve_suite_dir,
    subset_suite,
    write_jsonl,
)
from harness.suites.text import normalize_text

__all__ = [
    "TASK_KINDS",
    "Suite",
    "SuiteTask",
    "load_suite",
    "normalize_text",
    "read_jsonl",
    "render_train_example",
    "resolve_suite_dir",
    "subset_suite",
    "write_jsonl",
]
