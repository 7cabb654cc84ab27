"""The lines under the Decision that say how much effort each arm got and whether FT learned.

Drawn from the manifest's ``arms`` block (written by the run: ``training_recall`` per adapter
seed, and ``tuning`` when ``finetune.tune`` was set), so ``report`` and ``decide`` redraw them
with no model. Pure: plain dicts in, markdown lines out.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

WARNING = "FT did not learn its training set; its row measures under-training"


def short_number(x: Any) -> str:
    """3 -> "3", 0.5 -> "0.5", 0.002 -> "2e-3" (learning rates read as people write them)."""
    value = float(x)
    if value != 0 and abs(value) < 0.01:
        mantissa, exponent = f"{value:e}".split("e")
        return f"{float(mantissa):g}e{int(exponent)}"
    return f"{value:g}"


def _estimate(e: Mapping[str, Any]) -> str:
    return f"{float(e['recall']):.2f} [{float(e['ci_low']):.2f}, {float(e['ci_high']):.2f}] (n={int(e['n'])})"


def recall_lines(block: Mapping[str, Any] | None) -> list[str]:
    """"FT training-set recall 0.42 [0.30, 0.55] (n=60)." (one entry per seed when several), and
    the warning when an estimate is below its ``warn_below``."""
    per_seed = ((block or {}).get("training_recall") or {}).get("ft") or {}
    shown = {s: e for s, e in per_seed.items() if isinstance(e, Mapping) and e.get("n")}
    if not shown:
        return []
    if len(shown) == 1:
        text = f"FT training-set recall {_estimate(next(iter(shown.values())))}"
    else:
        text = "FT training-set recall: " + "; ".join(f"seed {s} {_estimate(e)}" for s, e in shown.items())
    lines = [text + " — the adapter asked its own training questions, closed book."] + _stopping(block)
    low = [e for e in shown.values() if not math.isnan(float(e["recall"])) and float(e["recall"]) < float(e["warn_below"])]
    if low:
        threshold = short_number(low[0]["warn_below"])
        lines.append(f"**Warning:** {WARNING} (training-set recall below {threshold}, finetune.recall.warn_below; "
                     "train longer or tune it: finetune.epochs, finetune.lr, finetune.tune).")
    return lines + _other_arms(block)


def _stopping(block: Mapping[str, Any] | None) -> list[str]:
    """"Training stopped at epoch 5 of at most 8: 23/24 checked training questions answered
    (stop_at_recall 0.9)." for ft's first seed, when the recall stopping rule was on."""
    per_seed = ((block or {}).get("stopping") or {}).get("ft") or {}
    rule = next(iter(per_seed.values()), None)
    if not isinstance(rule, Mapping) or not rule.get("checks"):
        return []
    last = rule["checks"][-1]
    where = (f"Training stopped at epoch {short_number(rule['epochs_run'])} of at most {short_number(rule['max_epochs'])}"
             if rule.get("reached") else
             f"Training ran all {short_number(rule['max_epochs'])} epochs without reaching the stopping target")
    return [f"{where}: {int(last['correct'])}/{int(last['n'])} checked training questions answered at the last check "
            f"(finetune.stop_at_recall {short_number(rule['target'])})."]


def _other_arms(block: Mapping[str, Any] | None) -> list[str]:
    """"Same questions, the other trained arms: cpt 0.10 [...]; style (control: other facts) ..."
    (each arm's first seed), or nothing when only ft was trained."""
    recall = (block or {}).get("training_recall") or {}
    shown = []
    for arm, per_seed in recall.items():
        first = next((e for e in (per_seed or {}).values() if isinstance(e, Mapping) and e.get("n")), None)
        if arm != "ft" and first is not None:
            shown.append(f"{arm}{' (control: trained on other facts)' if arm == 'style' else ''} {_estimate(first)}")
    return [f"Same questions, the other trained arms: {'; '.join(shown)}."] if shown else []


def _grid(values: Sequence[Any], name: str | None) -> str:
    inner = ",".join(short_number(v) if not isinstance(v, str) else v for v in values)
    return f"{name}∈{{{inner}}}" if name else f"{{{inner}}}"


def _chosen(arm: Mapping[str, Any]) -> tuple[Mapping[str, Any], int, str]:
    """An arm's chosen settings, its number of trials and " (dev 0.62)", the chosen trial's score."""
    chosen, trials = arm.get("chosen") or {}, arm.get("trials") or []
    score = next((t["dev_score"] for t in trials if t.get("settings") == chosen), None)
    return chosen, len(trials), (f" (dev {score:.2f})" if isinstance(score, (int, float)) else "")


def _ft_part(tuning: Mapping[str, Any]) -> str:
    grid = tuning.get("grid") or {}
    chosen, n, dev = _chosen(tuning.get("ft") or {})
    return (f"FT {n} trials ({_grid(grid.get('epochs') or [], 'epochs')} × {_grid(grid.get('lr') or [], 'lr')}) → "
            f"epochs {short_number(chosen.get('epochs', 0))}, lr {short_number(chosen.get('lr', 0))}{dev}")


def _rag_part(tuning: Mapping[str, Any]) -> str:
    grid = tuning.get("grid") or {}
    chosen, n, dev = _chosen(tuning.get("rag") or {})
    return (f"RAG {n} trials ({_grid(grid.get('top_k') or [], 'top_k')} × {_grid(grid.get('kinds') or [], None)}) → "
            f"{chosen.get('kind')} top_k {chosen.get('top_k')}{dev}")


def untuned_line(block: Mapping[str, Any] | None) -> list[str]:
    """"Tuning: none — FT 1 setting (epochs 3, lr 1e-3), RAG 1 setting (dense top_k 1)": an
    untuned run still states the budget each arm got, so a reader weighs the contest."""
    settings = (block or {}).get("settings") or {}
    ft, rag = settings.get("ft") or {}, settings.get("rag") or {}
    if not ft and not rag:
        return []
    parts = []
    if ft:
        epochs = (f"at most {short_number(ft.get('epochs', 0))} epochs, stopping at training-set recall "
                  f"{short_number(ft['stop_at_recall'])}" if ft.get("stop_at_recall") else
                  f"epochs {short_number(ft.get('epochs', 0))}")
        parts.append(f"FT 1 setting ({epochs}, lr {short_number(ft.get('lr', 0))})")
    if rag and rag.get("kind") not in (None, "none"):
        parts.append(f"RAG 1 setting ({rag.get('kind')} top_k {rag.get('top_k')})")
    return [f"Tuning: none (finetune.tune and retriever.tune are off) — {', '.join(parts)}; "
            "neither arm was tuned on a dev split, so the verdict may be a property of these settings."]


def tuning_line(block: Mapping[str, Any] | None) -> list[str]:
    """"Tuning: FT 4 trials (…) → …; RAG 4 trials (…) → …; verdict stable in …" (or, untuned, the
    one setting each arm ran with)."""
    tuning = (block or {}).get("tuning")
    if not isinstance(tuning, Mapping) or not tuning.get("ft"):
        return untuned_line(block)
    parts = [_ft_part(tuning)]
    if tuning.get("rag"):
        parts.append(_rag_part(tuning))
        share = tuning.get("verdict_stability")
        if isinstance(share, (int, float)):
            pairs = len(tuning["ft"].get("trials") or []) * len(tuning["rag"].get("trials") or [])
            parts.append(f"verdict stability {100 * share:.0f}% (the sign of RAG − FT on the dev questions holds in "
                         f"{round(share * pairs)} of the {pairs} (FT, RAG) setting pairs)")
    dev = tuning.get("dev") or {}
    where = (f" Dev split: {dev.get('dev_questions')} training questions of {dev.get('dev_facts')} facts "
             f"(dev_by={dev.get('by')}), never eval rows.") if dev else ""
    return ["Tuning: " + "; ".join(parts) + "." + where]


def lines(block: Mapping[str, Any] | None) -> list[str]:
    """Every line of the arms block, in reading order (recall first: it qualifies the FT row)."""
    return recall_lines(block) + tuning_line(block)


__all__ = ["WARNING", "lines", "recall_lines", "short_number", "tuning_line"]
