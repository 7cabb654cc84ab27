"""Build a trl SFTTrainer (LoRA or every weight, Q&A pairs or plain text) on a local base model,
with settings that are right on CPU.

trl's SFTConfig defaults (bf16, gradient checkpointing, reporting, checkpoints) suit GPUs and
hubs; here every one is set explicitly so a run is fp32, local, silent and reproducible.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from harness.finetune.callbacks import LossGuard
from harness.finetune.data import Example, to_rows
from harness.finetune.params import FinetuneParams


def lora_config(params: FinetuneParams) -> Any:
    from peft import LoraConfig

    return LoraConfig(
        r=params.rank,
        lora_alpha=params.alpha,
        lora_dropout=params.dropout,
        target_modules=params.peft_target_modules(),
        bias="none",
        task_type="CAUSAL_LM",
    )


def sft_config(params: FinetuneParams, output_dir: Path, *, completion_only: bool = True) -> Any:
    from trl import SFTConfig

    on_gpu = torch.cuda.is_available()
    return SFTConfig(
        output_dir=str(output_dir),
        num_train_epochs=params.epochs,
        per_device_train_batch_size=params.batch_size,
        gradient_accumulation_steps=params.grad_accum,
        learning_rate=params.lr,
        lr_scheduler_type=params.lr_scheduler,
        warmup_steps=params.warmup_ratio,  # a float in [0, 1) is a ratio of total steps
        weight_decay=params.weight_decay,
        max_grad_norm=params.max_grad_norm,
        seed=params.seed,
        data_seed=params.seed,
        max_length=params.max_length,
        # padded, not packed: on the CPU a padding-free step is 1.04x a padded one (bench/bench_packing.py;
        # padding is 5% of a batch, and the block-diagonal mask costs more than it saves)
        packing=False,
        # Q&A pairs: the loss on the answer only; plain text (continued pre-training): on every token
        completion_only_loss=completion_only,
        # fp32 on the CPU (trl's bf16 default changes results between machines and is slow there);
        # bf16 mixed precision and gradient checkpointing on GPUs unless set otherwise.
        bf16=params.resolved_precision() == "bf16",
        fp16=False,
        gradient_checkpointing=params.resolved_checkpointing(),
        use_cpu=not on_gpu,
        dataloader_pin_memory=on_gpu,
        report_to="none",
        save_strategy="no",
        logging_steps=params.logging_steps,
        logging_nan_inf_filter=False,  # the default hides NaN losses behind the running mean
        disable_tqdm=False,
    )


def build_trainer(
    model_path: Path,
    examples: Sequence[Example] | Sequence[dict[str, Any]],
    params: FinetuneParams,
    output_dir: Path,
    start_from: Path | None = None,
    *,
    text: bool = False,
    full: bool = False,
    extra_callbacks: Sequence[Any] = (),
) -> tuple[Any, LossGuard]:
    """An SFTTrainer holding the only copy of the base model (wrapped in LoRA by trl, or in the
    trainable adapter at ``start_from``, whose training then continues; ``full``: no adapter,
    every weight trains). ``text``: ``examples`` are pre-tokenized ``{"input_ids"}`` chunks of
    plain text, trained as a causal LM on every token (continued pre-training).
    ``extra_callbacks``: e.g. the recall stopping rule (:class:`~harness.finetune.stopping.RecallStop`)."""
    from datasets import Dataset
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import SFTTrainer

    tokenizer = AutoTokenizer.from_pretrained(model_path)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    model = AutoModelForCausalLM.from_pretrained(model_path, dtype=torch.float32)
    if start_from is not None:
        from peft import PeftModel

        model = PeftModel.from_pretrained(model, str(start_from), is_trainable=True)
    guard = LossGuard()
    rows = list(examples) if text else to_rows(examples)  # type: ignore[arg-type]
    trainer = SFTTrainer(
        model=model,
        args=sft_config(params, output_dir, completion_only=not text),
        train_dataset=Dataset.from_list(rows),
        processing_class=tokenizer,
        peft_config=lora_config(params) if start_from is None and not full else None,
        callbacks=[guard, *extra_callbacks],
    )
    return trainer, guard
