"""The SFT-style arms' training: ``ft`` (LoRA SFT on the suite's training pairs in its
``train_format``, plus paraphrases if asked) and ``raft`` (LoRA on RAFT examples: the training
question with its gold passage among the retriever's distractors). Shared by the fine-tuning
stage's arms, the tuner and the churn updates; cached by content hash in
:mod:`harness.finetune.lora`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from harness import cache
from harness.finetune.adapter import Adapter
from harness.finetune.data import data_sha256
from harness.finetune.lora import train_adapter
from harness.finetune.params import FinetuneParams
from harness.finetune.raft import RaftExample, build_examples, summary
from harness.finetune.stopping import RecallCheck, check_from_suite
from harness.models.wheels import LocalModel
from harness.sections import FinetuneSettings, RaftSettings, RetrievalSettings
from harness.suites import Suite, render_train_example

log = logging.getLogger(__name__)


def sft_examples(settings: FinetuneSettings, suite: Suite,
                 rows: Sequence[Mapping[str, Any]] | None = None) -> list[tuple[str, str]]:
    """The SFT pairs: the suite's training rows (or ``rows``, e.g. a tuning trial's share of
    them) in its train_format (+ paraphrases if asked)."""
    rows = suite.train if rows is None else list(rows)
    examples = [render_train_example(suite, row) for row in rows]
    if settings.augment == "paraphrase":
        from harness.finetune.augment import paraphrase_rows

        extra = paraphrase_rows(rows, settings.augment_n)
        examples += [render_train_example(suite, row) for row in extra]
    return examples


def sft_adapter(settings: FinetuneSettings, suite: Suite, base: LocalModel, seed: int | None = None,
                **overrides: Any) -> Adapter:
    """The SFT adapter (``ft``) for one fine-tuning seed (default: ``finetune.seed``);
    ``overrides`` replace hyper-parameters (the tuned ``epochs`` and ``lr``)."""
    params = settings.params(seed, **overrides)
    return train_adapter(base, sft_examples(settings, suite), params, check=suite_check(params, suite))


def suite_check(params: FinetuneParams, suite: Suite, rows: Sequence[Mapping[str, Any]] | None = None) -> RecallCheck | None:
    """The recall stopping rule's questions for an arm trained on ``suite``'s training rows (or
    ``rows``): a sample keyed as training-set recall keys them; None when the rule is off."""
    if params.stop_at_recall is None:
        return None
    return check_from_suite(suite, rows, params.stop_check_n, params.seed)


def raft_examples(raft: RaftSettings, retrieval: RetrievalSettings, suite: Suite) -> list[RaftExample]:
    """RAFT examples of the suite's training rows, with the configured retriever's hits."""
    from harness.retrieval import retrieve
    from harness.variants.icl import doc_to_text_template

    cfg = retrieval.config(top_k=raft.distractors + 2)  # the gold passage may be among them
    hits = retrieve(suite.corpus, [row["question"] for row in suite.train], cfg)
    task = next((t for t in suite.tasks if t.kind == "open_qa"), suite.tasks[0])
    return build_examples(suite.train, suite.corpus, hits, doc_to_text_template(task.yaml_path),
                          suite.train_format["completion"], distractors=raft.distractors,
                          p_gold=raft.p_gold, seed=raft.seed)


def raft_adapter(settings: FinetuneSettings, raft: RaftSettings, retrieval: RetrievalSettings, suite: Suite,
                 base: LocalModel, seed: int | None = None) -> Adapter:
    """The RAFT adapter: LoRA on retrieved-context examples; keyed also by RAFT and retriever settings."""
    made = raft_examples(raft, retrieval, suite)
    examples = [(e.prompt, e.completion) for e in made]
    log.info("RAFT data: %s", summary(made))
    params = settings.params(seed)
    # long contexts: the same effective batch in micro-batches (gradient accumulation) bounds memory
    micro = min(params.batch_size, raft.micro_batch)
    micro = micro if params.batch_size % micro == 0 else params.batch_size
    params = settings.params(seed, max_length=max(params.max_length, raft.max_length),
                             batch_size=micro, grad_accum=params.grad_accum * params.batch_size // micro)
    data_hash = cache.hash_json({"raft": raft.to_dict(), "retriever": dict(retrieval.raw),
                                 "suite": suite.content_hash, "examples": data_sha256(examples)})
    return train_adapter(base, examples, params, data_hash=data_hash)
