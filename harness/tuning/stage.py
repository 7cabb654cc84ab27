"""The tuning stage: both arms get the same number of trials on one dev split of the training set.

FT trials train a LoRA adapter per (epochs, lr) on the training rows minus the dev rows and ask
it the dev questions closed book; RAG trials give the base model each (retriever, top_k)'s
contexts for the same dev questions. Both are scored with the training-set recall definition
(:mod:`harness.finetune.recall`) and generated through the backend evaluation uses, so the
dev scores of the two arms are comparable. Eval rows are never used. Adapters and answers are
cached (a rerun recomputes nothing); the final adapter is trained by the fine-tuning stage.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from harness.errors import HarnessError
from harness.finetune.lora import train_adapter
from harness.finetune.recall import fact_keys, is_recalled
from harness.finetune.sft import sft_examples
from harness.models.backends import LmSettings
from harness.models.generate import generate
from harness.models.resolve import model_under_test
from harness.models.wheels import LocalModel
from harness.sections import EvalSettings, FinetuneSettings, ModelSpec, RetrievalSettings
from harness.suites import Suite
from harness.tuning.settings import TuneSettings
from harness.tuning.split import DevSplit, dev_split
from harness.tuning.trials import Trial, Tuning

log = logging.getLogger(__name__)
Row = Mapping[str, Any]


def prompt_for(suite: Suite, row: Row, context: str = "") -> str:
    """The eval prompt of a training row: the open-QA task's ``doc_to_text`` with ``context``
    (empty: closed book), else the suite's train_format prompt after ``Context:``."""
    import jinja2

    from harness.variants.icl import doc_to_text_template

    task = next((t for t in suite.tasks if t.kind == "open_qa"), None)
    if task is not None:
        try:
            template = doc_to_text_template(task.yaml_path)
            return jinja2.Environment(undefined=jinja2.StrictUndefined).from_string(template).render(
                **dict(row, context=context))
        except (HarnessError, jinja2.TemplateError):
            pass  # a function doc_to_text, or one needing fields a training row lacks
    prompt = suite.train_format["prompt"].format_map(row)
    return f"Context:\n{context}\n\n{prompt}" if context else prompt


def _score(answers: Sequence[str], rows: Sequence[Row], keys: Mapping[str, Sequence[str]]) -> float:
    return sum(is_recalled(a, r, keys) for a, r in zip(answers, rows, strict=True)) / len(rows)


def _ft_trials(tune: TuneSettings, split: DevSplit, suite: Suite, finetune: FinetuneSettings, model: ModelSpec,
               evals: EvalSettings, base: LocalModel, run: LmSettings) -> list[Trial]:
    keys = fact_keys(suite)
    prompts = [prompt_for(suite, row) for row in split.dev]
    examples = sft_examples(finetune, suite, split.train)
    trials = []
    for i, setting in enumerate(tune.ft_grid):
        log.info("tuning FT trial %d/%d: %s on %d examples", i + 1, len(tune.ft_grid), setting, len(examples))
        adapter = train_adapter(base, examples, finetune.params(finetune.seed, **setting))
        under_test = model_under_test(model, evals.apply_chat_template, base, adapter, f"tune-ft{i}", None)
        answers = generate(under_test, prompts, run)
        trials.append(Trial("ft", setting, _score(answers, split.dev, keys), len(split.dev),
                            {"adapter_sha256": adapter.sha256}))
    return trials


def _rag_trials(tune: TuneSettings, split: DevSplit, suite: Suite, retrieval: RetrievalSettings, model: ModelSpec,
                evals: EvalSettings, base: LocalModel, tokenizer: Any, run: LmSettings) -> list[Trial]:
    from harness.retrieval import retrieve
    from harness.variants.rag import augment_rows

    if not tune.rag_grid:
        return []
    keys = fact_keys(suite)
    questions = [str(row["question"]) for row in split.dev]
    prompts: list[str] = []
    for setting in tune.rag_grid:
        hits = retrieve(suite.corpus, questions, retrieval.config(**setting))
        rows, _ = augment_rows([dict(r) for r in split.dev], hits, suite.corpus, tokenizer, retrieval.budget_tokens)
        prompts += [prompt_for(suite, row, row["context"]) for row in rows]
    log.info("tuning RAG: %d settings × %d dev questions with the base model", len(tune.rag_grid), len(split.dev))
    under_test = model_under_test(model, evals.apply_chat_template, base, None, "tune-rag", None)
    answers = generate(under_test, prompts, run)  # one model load for every retriever setting
    n = len(split.dev)
    return [Trial("rag", setting, _score(answers[i * n:(i + 1) * n], split.dev, keys), n)
            for i, setting in enumerate(tune.rag_grid)]


def tune_arms(tune: TuneSettings, suite: Suite, finetune: FinetuneSettings, retrieval: RetrievalSettings,
              model: ModelSpec, evals: EvalSettings, base: LocalModel, tokenizer: Any, *, seed: int) -> Tuning:
    """Every trial of both arms on one dev split (seeded by the run ``seed``) → :class:`Tuning`
    (each arm's trials, the chosen settings, the verdict's stability over the trials)."""
    split = dev_split(suite.train, tune.dev_share, seed, tune.dev_by)
    log.info("tuning on %d dev questions of %d facts (dev_by=%s); trials train on %d questions",
             len(split.dev), len(split.dev_facts), split.by, len(split.train))
    run = LmSettings(evals, model.client_settings(), seed)
    ft = _ft_trials(tune, split, suite, finetune, model, evals, base, run)
    rag = _rag_trials(tune, split, suite, retrieval, model, evals, base, tokenizer, run)
    return Tuning(ft, rag, tune.to_dict(), split.summary())


def tuned_retrieval(retrieval: RetrievalSettings, tuning: Tuning) -> RetrievalSettings:
    """The retriever section with the RAG arm's chosen kind and top_k (unchanged without RAG trials)."""
    chosen = tuning.chosen_rag
    if chosen is None:
        return retrieval
    return RetrievalSettings.from_dict({**retrieval.raw, **chosen.settings})


__all__ = ["prompt_for", "tune_arms", "tuned_retrieval"]
