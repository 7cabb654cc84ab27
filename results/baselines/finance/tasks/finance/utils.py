"""lm-eval hooks for the finance tasks: dataset loaders, the open-QA scorer (shared with the agri
suite) and the classification scorer with its macro-F1 aggregation.

Self-contained (stdlib + datasets + PyYAML, all lm-eval dependencies) so that plain
``lm_eval --include_path tasks/`` runs these tasks with no harness installed. The JSON-lines
loader and the open-QA scorer are those of ``tasks/agri/utils.py``, executed by path.
"""

from __future__ import annotations

import runpy
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent
_AGRI = runpy.run_path(str(HERE.parent / "agri" / "utils.py"))
normalize = _AGRI["normalize"]
process_qa = _AGRI["process_qa"]


def _loader(name: str) -> Any:
    """``load(data_file=None, **kwargs)`` for lm-eval's ``custom_dataset``, defaulting to eval/<name>."""
    return lambda data_file=None, **kwargs: _AGRI["_load"](data_file, HERE / "eval" / name)


load_qa = _loader("qa.jsonl")


def label_set(task: str = "finance_cls") -> list[str]:
    """The task's labels, in choice order, from suite.yaml (their single source)."""
    spec = yaml.safe_load((HERE / "suite.yaml").read_text(encoding="utf-8"))
    return next(list(t["labels"]) for t in spec["tasks"] if t["name"] == task)


def load_cls(data_file: str | None = None, **kwargs: Any) -> Any:
    """Classification rows, each given the label set as ``choices`` for ``doc_to_choice``."""
    data = _loader("cls.jsonl")(data_file)
    labels = label_set()
    return data.map(lambda row: {"choices": labels})


def process_cls(doc: dict[str, Any], results: list[Any]) -> dict[str, Any]:
    """Prediction = the label with the highest log-likelihood; ``macro_f1`` keeps (gold, pred)
    for the aggregation below."""
    scores = [r[0] if isinstance(r, (list, tuple)) else r for r in results]
    pred = max(range(len(scores)), key=lambda i: float(scores[i]))
    gold = doc["choices"].index(doc["label"])
    return {"acc": float(pred == gold), "macro_f1": (gold, pred)}


def macro_f1(items: list[Any]) -> float:
    """Unweighted mean over labels of per-label F1 = 2TP / (2TP + FP + FN), over the labels that
    occur as gold or prediction (scikit-learn's ``f1_score(average="macro")``)."""
    pairs = [(int(g), int(p)) for g, p in items]
    labels = sorted({x for pair in pairs for x in pair})
    if not labels:
        return 0.0
    total = 0.0
    for label in labels:
        tp = sum(g == label and p == label for g, p in pairs)
        wrong = sum((g == label) != (p == label) for g, p in pairs)  # FP + FN
        total += 2 * tp / (2 * tp + wrong) if tp or wrong else 0.0
    return total / len(labels)
