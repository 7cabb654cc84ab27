"""Extra per-sample metrics, computed at report time from a run folder's stored records.

The primary metrics come from lm-eval during the run. Everything here is recomputed from
``samples/<condition>/<task>.jsonl`` alone, so ``python -m harness report <run>`` adds them to
any run folder without a model (the optional answer-similarity metric needs the embedder):

- open QA (generation tasks): ``rouge_l`` — F1 of the longest common subsequence of the
  normalised answer and reference tokens; ``answer_similarity`` — cosine of the MiniLM
  embeddings of answer and reference (cached; skipped with a logged reason when the embedder
  is unavailable).
- RAG conditions (records with a context): ``gold_retrieved`` — share of the gold documents
  among the retrieved ids; ``gold_in_context`` — the gold answer occurs in the context;
  ``faithfulness`` — share of the answer's claim words (content words the question did not
  contain, compared by a crude 5-letter stem) that occur in the context;
  ``supported_by_context`` — the answer string, or every claim word of it, occurs in the
  context (for multiple choice: the chosen option occurs in it); ``self_knowledge`` — answered correctly although the context lacked the gold answer
  (the model knew it without retrieval).
- cost per condition: mean prompt tokens, mean generated tokens (generation tasks), seconds of
  model time per sample (measured by the run as batched throughput, kept for cache-served
  reruns: harness.evaluate.runner), and the fine-tuning time: the adapter's training time from its card when the run had it (it stays
  the same on a cached rerun), else the fine-tuning stage time from the manifest.

Text comparisons use the suites' answer normalisation (``harness.suites.text.normalize_text``),
the same one the ``contains`` score uses.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from harness import cache
from harness.report import stats
from harness.suites.text import normalize_text

log = logging.getLogger(__name__)

# condition -> task -> list of full per-sample records
Records = dict[str, dict[str, list[dict[str, Any]]]]

DEFAULT_EMBEDDER = "wheel:all-minilm-l6-v2"
QA_METRICS = ("rouge_l", "answer_similarity")
RAG_METRICS = ("gold_retrieved", "gold_in_context", "supported_by_context", "faithfulness", "self_knowledge")
# filled from a run folder's judge/ by harness.judge.summary (0–1; the count of unreadable replies)
JUDGE_METRICS = ("judge_correctness", "judge_succinctness", "judge_unparsable")
ORDER = QA_METRICS + RAG_METRICS + JUDGE_METRICS
DEFINITIONS = {
    "rouge_l": "ROUGE-L F1 (LCS of normalised answer and reference tokens)",
    "answer_similarity": "cosine of MiniLM embeddings of answer and reference",
    "gold_retrieved": "share of gold documents among the retrieved ids",
    "gold_in_context": "the gold answer occurs in the context",
    "supported_by_context": "the answer (string, or all its claim words) occurs in the context",
    "faithfulness": "share of the answer's claim words (content words not in the question) found in the context",
    "self_knowledge": "correct although the context lacked the gold answer",
}
JUDGE_DEFINITIONS = {  # listed only for runs with judgments
    "judge_correctness": "LLM judge's correctness vs the reference, rubric 1–5 scaled to 0–1 (parsed replies only)",
    "judge_succinctness": "LLM judge's succinctness, rubric 1–5 scaled to 0–1 (parsed replies only)",
    "judge_unparsable": "judge replies without valid scores (counted, never scored as zero)",
}
COST_KEYS = ("mean_prompt_tokens", "mean_generated_tokens", "seconds_per_sample", "finetune_s")
FROM_CARD = "the adapter's training time (its card)"
FROM_MANIFEST = "the fine-tuning stage wall time of this run (manifest; ~0 s when the adapter came from the cache)"
CORRECT_AT = 0.5  # a primary score at or above this counts as a correct answer
STEM_LEN = 5
SUFFIXES = ("ations", "ation", "ings", "ing", "ions", "ion", "ed", "es", "s", "e")

# Function words that say nothing about whether an answer is grounded in the context.
STOPWORDS = frozenset("""
a an the and or but if then of in on at to for from by with without into onto over under about as
is are was were be been being do does did has have had having it its this that these those there
here which who whom whose what when where why how i you he she we they me him her us them my your
his our their not no yes so than too very can could should would may might must will shall just
also only any some all each both either neither such same other more most less least own up down
out off again further once during before after above below between through while until because
answer question context based according recommended best right correct time s t
main important suitable suited typical usually generally
""".split())


# ---------------------------------------------------------------- text functions


def tokens(text: Any) -> list[str]:
    return normalize_text(str(text or "")).split()


def content_tokens(text: Any) -> list[str]:
    return [t for t in tokens(text) if t not in STOPWORDS]


def lcs_length(a: list[str], b: list[str]) -> int:
    """Length of the longest common subsequence (two-row dynamic programme)."""
    if len(a) < len(b):
        a, b = b, a
    previous = [0] * (len(b) + 1)
    for x in a:
        current = [0]
        for j, y in enumerate(b, 1):
            current.append(previous[j - 1] + 1 if x == y else max(previous[j], current[j - 1]))
        previous = current
    return previous[-1]


def rouge_l(prediction: Any, reference: Any) -> float:
    """ROUGE-L F1 on normalised tokens; 1.0 when both are empty, 0.0 when one is."""
    pred, ref = tokens(prediction), tokens(reference)
    if not pred or not ref:
        return float(pred == ref)
    lcs = lcs_length(pred, ref)
    if lcs == 0:
        return 0.0
    precision, recall = lcs / len(pred), lcs / len(ref)
    return 2 * precision * recall / (precision + recall)


def occurs(needle: Any, haystack: Any) -> bool:
    """``needle`` occurs in ``haystack`` as whole normalised words."""
    n = normalize_text(str(needle or ""))
    return bool(n) and f" {n} " in f" {normalize_text(str(haystack or ''))} "


def stem(word: str) -> str:
    """A crude stem (one common suffix off, then at most five letters), so "irrigate" matches
    "irrigation" and "pest" matches "pests"."""
    for suffix in SUFFIXES:
        if len(word) > len(suffix) + 2 and word.endswith(suffix):
            word = word[: -len(suffix)]
            break
    return word[:STEM_LEN]


def claim_words(answer: Any, question: Any = "") -> list[str]:
    """The answer's content words that the question did not already contain: what it claims."""
    asked = {stem(w) for w in tokens(question)}
    return [w for w in content_tokens(answer) if stem(w) not in asked]


def faithfulness(answer: Any, context: Any, question: Any = "") -> float:
    """Share of the answer's claim words (content words not in the question) found in the
    context, compared by stem (nan: the answer claims nothing)."""
    words = claim_words(answer, question)
    if not words:
        return math.nan
    vocabulary = {stem(w) for w in tokens(context)}
    return sum(stem(w) in vocabulary for w in words) / len(words)


def supported_by_context(answer: Any, context: Any, question: Any = "") -> float:
    """1.0 when the answer string, or every claim word of it, occurs in the context."""
    if occurs(answer, context):
        return 1.0
    value = faithfulness(answer, context, question)
    return math.nan if math.isnan(value) else float(value == 1.0)


# ---------------------------------------------------------------- records


def load_records(run_dir: Path) -> Records:
    """Full per-sample records of a run folder: condition -> task -> rows ({} if none)."""
    from harness.report.leaderboard import read_records, record_files

    out: Records = {}
    for path in record_files(run_dir):
        out.setdefault(path.parent.name, {})[path.stem] = read_records(path)
    return out


def is_generation(record: Mapping[str, Any]) -> bool:
    """Open QA (generate_until) rather than multiple choice (an index into ``choices``)."""
    return "choices" not in record and isinstance(record.get("output"), str)


def _choice(record: Mapping[str, Any], index: Any) -> str | None:
    choices = record.get("choices") or []
    try:
        return str(choices[int(index)])
    except (TypeError, ValueError, IndexError):
        return None


def references(record: Mapping[str, Any]) -> list[str]:
    """The gold answer(s) as text."""
    target = record.get("target")
    if "choices" in record:
        gold = _choice(record, target)
        return [gold] if gold is not None else []
    if isinstance(target, (list, tuple)):
        return [str(t) for t in target if str(t).strip()]
    return [str(target)] if target is not None and str(target).strip() else []


def answer_text(record: Mapping[str, Any]) -> str | None:
    """The model's answer as text (the chosen option for multiple choice)."""
    if "choices" in record:
        return _choice(record, record.get("output"))
    output = record.get("output")
    return None if output is None else str(output)


def sample_metrics(record: Mapping[str, Any], primary_metric: str) -> dict[str, float]:
    """Every extra metric that applies to one record (without answer similarity)."""
    out: dict[str, float] = {}
    refs, answer = references(record), answer_text(record)
    if is_generation(record) and refs:
        out["rouge_l"] = max(rouge_l(answer, r) for r in refs)
    context = str(record.get("context") or "")
    if not context.strip():
        return out
    gold_ids = [str(g) for g in record.get("gold_ids") or []]
    if gold_ids:
        retrieved = {str(r) for r in record.get("retrieved_ids") or []}
        out["gold_retrieved"] = len(set(gold_ids) & retrieved) / len(set(gold_ids))
    gold_in_context = any(occurs(r, context) for r in refs) if refs else None
    if gold_in_context is not None:
        out["gold_in_context"] = float(gold_in_context)
    if answer is not None:
        question = record.get("question") or ""
        if is_generation(record):
            out["faithfulness"] = faithfulness(answer, context, question)
        out["supported_by_context"] = supported_by_context(answer, context, question)
    score = (record.get("scores") or {}).get(primary_metric)
    if gold_in_context is not None and score is not None:
        try:
            correct = float(score) >= CORRECT_AT
        except (TypeError, ValueError):
            correct = False
        out["self_knowledge"] = float(correct and not gold_in_context)
    return out


# ---------------------------------------------------------------- answer similarity


@dataclass
class Similarity:
    """Cosine similarity of answer and reference embeddings, cached by the embedder's weights
    hash and the exact texts; ``status`` says why it was skipped when it was."""

    embedder: str = DEFAULT_EMBEDDER
    enabled: bool = True
    status: str = "not needed"
    _loaded: Any = field(default=None, repr=False)

    def _model(self) -> Any:
        if self._loaded is None:
            from harness.retrieval.embedder import load_embedder

            self._loaded = load_embedder(self.embedder)
        return self._loaded

    def scores(self, pairs: list[tuple[str, str]]) -> list[float] | None:
        if not pairs:
            return []
        if not self.enabled:
            self.status = "skipped: disabled"
            return None
        try:
            from harness.retrieval.embedder import fingerprint

            key = cache.hash_json({"embedder": fingerprint(self.embedder), "pairs": pairs})
            path = cache.cache_root() / "similarity" / f"{key}.json"
            if path.is_file():  # same status as computed: a rebuilt report must be byte-identical
                self.status = "ok"
                log.debug("answer similarity from cache %s", path)
                return [float(x) for x in json.loads(path.read_text())]
            model = self._model()
            texts = sorted({t for pair in pairs for t in pair})
            vectors = dict(zip(texts, model.encode(texts, progress=False)))
            values = [float(np.clip(np.dot(vectors[a], vectors[b]), -1.0, 1.0)) for a, b in pairs]
            cache.write_json_atomic(path, [round(v, 6) for v in values])
            self.status = "ok"
            return [round(v, 6) for v in values]
        except Exception as err:  # optional metric: any failure to load or run the embedder
            self.status = f"skipped: embedder {self.embedder} unavailable ({type(err).__name__}: {err})"
            log.warning("answer similarity %s", self.status)
            return None


# ---------------------------------------------------------------- cost


@dataclass(frozen=True)
class TokenCounter:
    """Counts tokens with the run's tokenizer, or approximates them by whitespace words."""

    name: str
    count: Callable[[str], int]
    exact: bool


def whitespace_counter() -> TokenCounter:
    return TokenCounter("approximate: whitespace-separated words (the model's tokenizer was not available)",
                        lambda text: len(str(text).split()), False)


def hf_counter(tokenizer: Any, label: str) -> TokenCounter:
    def count(text: str) -> int:
        return len(tokenizer(str(text), add_special_tokens=False)["input_ids"])

    return TokenCounter(f"{label} tokenizer", count, True)


def _cached_model_folder(manifest: Mapping[str, Any]) -> Path | None:
    """The run's generator folder, if it is on this machine already (never converted here)."""
    spec = manifest.get("spec") or {}
    source = str((spec.get("model") or {}).get("source", ""))
    if source.startswith("path:"):
        folder = Path(source[len("path:"):]).expanduser()
        return folder if (folder / "tokenizer_config.json").is_file() else None
    sha = (manifest.get("hashes") or {}).get("base_model_sha256")
    models = cache.cache_root() / "models"
    if not sha or not models.is_dir():
        return None
    for info in sorted(models.glob("*/harness_model.json")):
        try:
            if json.loads(info.read_text()).get("weights_sha256") == sha and cache.is_complete(info.parent):
                return info.parent
        except (OSError, ValueError):
            continue
    return None


def token_counter(manifest: Mapping[str, Any] | None, tokenizer: Any = None) -> TokenCounter:
    """The generator's tokenizer when given or cached locally, else the whitespace approximation."""
    label = str(((manifest or {}).get("spec") or {}).get("model", {}).get("name", "model"))
    if tokenizer is not None:
        return hf_counter(tokenizer, label)
    folder = _cached_model_folder(manifest or {})
    if folder is not None:
        try:
            from transformers import AutoTokenizer

            return hf_counter(AutoTokenizer.from_pretrained(str(folder)), label)
        except Exception as err:  # a broken cache entry: fall back, say so
            log.warning("tokenizer in %s unusable (%s); counting whitespace words", folder, err)
    return whitespace_counter()


def _mean(values: list[float]) -> float | None:
    return float(np.mean(values)) if values else None


def cost(records: Records, counter: TokenCounter, manifest: Mapping[str, Any] | None,
         finetune_s: float | None = None, latency: Mapping[str, Any] | None = None) -> dict[str, dict[str, Any]]:
    """Per condition: mean prompt tokens, mean generated tokens (generation tasks only), model
    seconds per evaluated sample (``latency``: what the run measured, metrics.json), and the
    fine-tuning time of ft conditions: ``finetune_s`` (the adapter's training time) when given,
    else the manifest's fine-tuning stage time."""
    timings = (manifest or {}).get("timings_s") or {}
    trained = finetune_s if finetune_s is not None else timings.get("finetune")
    adaptations = {c.get("name"): c.get("adaptation")
                   for c in ((manifest or {}).get("spec") or {}).get("conditions", [])}
    out: dict[str, dict[str, Any]] = {}
    for condition, tasks in sorted(records.items()):
        rows = [r for task_rows in tasks.values() for r in task_rows]
        prompts = [counter.count(r["prompt"]) for r in rows if r.get("prompt")]
        generated = [counter.count(r["output"]) for r in rows if is_generation(r)]
        adaptation = adaptations.get(condition) or condition.split("+", 1)[0]
        # raft trains its own adapter: its time is in the manifest's stage total, not one figure here
        finetune = trained if adaptation == "ft" else None if adaptation == "raft" else 0.0
        measured = (latency or {}).get(condition) or {}
        out[condition] = {
            "mean_prompt_tokens": _mean(prompts),
            "mean_generated_tokens": _mean(generated),
            "seconds_per_sample": measured.get("seconds_per_sample"),
            "finetune_s": None if finetune is None else float(finetune),
        }
    return out


# ---------------------------------------------------------------- the whole run


@dataclass
class Extras:
    """Everything this module adds to a run: means with CIs, cost, and the per-sample values
    the HTML report shows next to each answer."""

    metrics: dict[str, dict[str, dict[str, float | None]]]  # condition -> task -> name (+_ci_low/_ci_high/_n)
    cost: dict[str, dict[str, Any]]
    per_sample: dict[str, dict[str, dict[str, dict[str, float]]]]  # condition -> task -> sample key -> name
    tokenizer: str
    similarity: str
    finetune_source: str = FROM_MANIFEST
    finetune_train_s: float | None = None  # the adapter's training time, when known
    judge: dict[str, Any] | None = None  # who judged, counts, paired deltas (harness.judge.summary)

    def to_json(self) -> dict[str, Any]:
        out = {"metrics": self.metrics, "cost": self.cost, "tokenizer": self.tokenizer,
               "similarity": self.similarity, "finetune_source": self.finetune_source,
               "finetune_train_s": self.finetune_train_s, "definitions": self.definitions()}
        return out | ({"judge": self.judge} if self.judge else {})

    def definitions(self) -> dict[str, str]:
        return DEFINITIONS | (JUDGE_DEFINITIONS if self.judge else {})

    def names(self) -> list[str]:
        """Metric names present, in the documented order."""
        seen = {m for tasks in self.metrics.values() for got in tasks.values() for m in got}
        return [m for m in ORDER if m in seen]


def _summary(values: Iterable[float], seed: int) -> dict[str, float | None]:
    arr = np.array([v for v in values if not math.isnan(v)], dtype=float)
    if not arr.size:
        return {}
    ci = stats.bootstrap_ci(arr, seed=seed)
    return {"": round(ci.estimate, 6), "_ci_low": round(ci.low, 6), "_ci_high": round(ci.high, 6), "_n": int(ci.n)}


def compute(records: Records, primary: Mapping[str, str], manifest: Mapping[str, Any] | None = None, *,
            similarity: Similarity | None = None, tokenizer: Any = None, finetune_s: float | None = None,
            latency: Mapping[str, Any] | None = None, seed: int = 0) -> Extras:
    """Extra metrics of every condition × task, and the cost of every condition (``finetune_s``:
    the adapter's training time, when known; else the manifest's stage time is used)."""
    from harness.report.leaderboard import sample_key

    similarity = similarity or Similarity()
    per_sample: dict[str, dict[str, dict[str, dict[str, float]]]] = {}
    pairs: list[tuple[str, str]] = []
    slots: list[tuple[dict[str, float], int]] = []  # where each pair's similarity goes
    for condition, tasks in sorted(records.items()):
        for task, rows in sorted(tasks.items()):
            metric = primary.get(task, "")
            bucket = per_sample.setdefault(condition, {}).setdefault(task, {})
            for row in rows:
                got = sample_metrics(row, metric)
                bucket[sample_key(row)] = got
                refs = references(row)
                if is_generation(row) and refs:
                    slots.append((got, len(refs)))
                    pairs += [(str(row.get("output") or ""), r) for r in refs]
    values = similarity.scores(pairs)
    if values is not None:
        at = 0
        for got, n in slots:
            got["answer_similarity"] = max(values[at:at + n])
            at += n
    metrics: dict[str, dict[str, dict[str, float | None]]] = {}
    for condition, tasks in per_sample.items():
        for task, by_id in tasks.items():
            names = [m for m in ORDER if any(m in s for s in by_id.values())]
            out: dict[str, float | None] = {}
            for name in names:
                summary = _summary((s.get(name, math.nan) for s in by_id.values()),
                                   stats.stable_seed(condition, task, name, base=seed))
                out.update({f"{name}{suffix}": v for suffix, v in summary.items()})
            if out:
                metrics.setdefault(condition, {})[task] = out
    counter = token_counter(manifest, tokenizer)
    return Extras(metrics, cost(records, counter, manifest, finetune_s, latency), per_sample, counter.name,
                  similarity.status if pairs else "not needed (no open-QA records)",
                  FROM_CARD if finetune_s is not None else FROM_MANIFEST, finetune_s)


__all__ = ["Extras", "Similarity", "TokenCounter", "compute", "cost", "faithfulness", "lcs_length",
           "load_records", "rouge_l", "sample_metrics", "supported_by_context", "token_counter"]
