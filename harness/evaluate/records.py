"""Turn lm-eval's logged samples and results into the harness's own records and metrics.

Per-sample records keep what a reader needs to audit one answer: the exact prompt, the
retrieved and included passages, the output and every score.
"""

from __future__ import annotations

from typing import Any

_SKIP_DOC_FIELDS = {"context"}


def _output(sample: dict[str, Any]) -> Any:
    filtered = sample.get("filtered_resps") or []
    if sample.get("arguments") and len(sample["arguments"]) > 1:
        # multiple choice: one loglikelihood request per choice; report the argmax choice index
        scores = [r[0] if isinstance(r, (list, tuple)) else r for r in filtered]
        return max(range(len(scores)), key=lambda i: float(scores[i])) if scores else None
    return filtered[0] if filtered else None


def sample_record(condition: str, task: str, sample: dict[str, Any]) -> dict[str, Any]:
    doc = sample.get("doc", {})
    args = sample.get("arguments") or [[""]]
    record: dict[str, Any] = {
        "condition": condition,
        "task": task,
        "doc_id": sample.get("doc_id"),
        "id": doc.get("id"),
        "question": doc.get("question"),
        "target": sample.get("target"),
        "context": doc.get("context", ""),
        "retrieved_ids": doc.get("retrieved_ids", []),
        "context_ids": doc.get("context_ids", []),
        "gold_ids": doc.get("gold_ids", []),
        "prompt": args[0][0] if args and args[0] else "",
        "output": _output(sample),
        "scores": {m: sample.get(m) for m in sample.get("metrics", [])},
    }
    if "choices" in doc:
        record["choices"] = doc["choices"]
    return record


def task_metrics(results: dict[str, Any], task: str) -> dict[str, float]:
    """``{"contains": 0.4, "contains_stderr": 0.04, ...}`` from lm-eval's ``results`` block."""
    block = results.get("results", {}).get(task, {})
    metrics: dict[str, float] = {}
    for key, value in block.items():
        if "," not in key or not isinstance(value, (int, float)):
            continue
        name, _filter = key.split(",", 1)
        metrics[name] = float(value)
    metrics["n"] = float(results.get("n-samples", {}).get(task, {}).get("effective", 0))
    return metrics
