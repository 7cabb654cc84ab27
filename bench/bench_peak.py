"""How close the default run's model work comes to this machine's limit: every speed as a fraction
of the measured fp32 GEMM ceiling.

    .venv/bin/python bench/bench_peak.py [--repeats 5] [--json PATH]

1. The ceiling: torch fp32 matrix multiplication (the kernel every linear layer runs) on the
   threads torch uses, square sizes 512-2048; the best size's FLOP/s.
2. LoRA training (the ``finetune`` defaults: rank 16 on every linear layer, batch 8 of the agri
   training pairs in the chat template, padded as trl pads them): *real* tokens per second — the
   attention mask's ones, not padding — and what they are worth in FLOP/s: 4 FLOPs per linear
   weight per token (forward, and the backward pass's input gradients; the frozen weights get
   no gradient).
3. Evaluation: prompt processing (a forward pass over a batch of 8 agri eval prompts, what
   log-likelihood scoring and the prefill of generation do), 2 FLOPs per linear weight per
   real token; and greedy generation of 16 new tokens for the same batch (decoding one token at
   a time reads every weight per step, so it is bound by memory, not the ceiling).

Each figure is printed with its fraction of the ceiling, and the CPU model, so a claim about speed
reads as a ratio to the machine it was made on (docs/benchmarks.md).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def gemm_ceiling(repeats: int) -> dict[str, float]:
    """The best fp32 matmul FLOP/s over a few square sizes (median of ``repeats`` timings each)."""
    import torch

    best, best_n = 0.0, 0
    for n in (512, 1024, 1536, 2048):
        a, b = torch.randn(n, n), torch.randn(n, n)
        a @ b  # warm-up
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            a @ b
            times.append(time.perf_counter() - start)
        flops = 2 * n**3 / statistics.median(times)
        if flops > best:
            best, best_n = flops, n
    return {"gemm_flops": best, "gemm_size": best_n, "torch_threads": torch.get_num_threads()}


def _linear_weights(model) -> int:
    """Weights of the model's matrix multiplications (every nn.Linear, the LM head included)."""
    import torch

    return sum(m.weight.numel() for m in model.modules() if isinstance(m, torch.nn.Linear))


def _rows(path: Path, n: int) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()[:n]]


def lora_training(model_path: Path, repeats: int) -> dict[str, float]:
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(model_path)
    texts = [tokenizer.apply_chat_template([{"role": "user", "content": r["question"]},
                                            {"role": "assistant", "content": r["answer"]}], tokenize=False)
             for r in _rows(REPO / "tasks/agri/train.jsonl", 8)]
    batch = tokenizer(texts, return_tensors="pt", padding=True)
    torch.manual_seed(0)
    base = AutoModelForCausalLM.from_pretrained(model_path, dtype=torch.float32)
    weights = _linear_weights(base)
    model = get_peft_model(base, LoraConfig(r=16, lora_alpha=32, lora_dropout=0.0, target_modules="all-linear",
                                            task_type="CAUSAL_LM"))
    model.train()
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-3)
    times = []
    for i in range(repeats + 1):
        start = time.perf_counter()
        model(**batch, labels=batch["input_ids"]).loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        if i:
            times.append(time.perf_counter() - start)
    real, padded = int(batch["attention_mask"].sum()), int(batch["input_ids"].numel())
    step = statistics.median(times)
    return {"train_real_tokens_per_s": real / step, "train_padded_share": 1 - real / padded,
            "train_flops": 4 * weights * real / step, "linear_weights": weights}


def evaluation(model_path: Path, repeats: int) -> dict[str, float]:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(model_path)
    tokenizer.padding_side = "left"
    prompts = [tokenizer.apply_chat_template([{"role": "user", "content": f"Question: {r['question']}\nAnswer:"}],
                                             tokenize=False, add_generation_prompt=True)
               for r in _rows(REPO / "tasks/agri/eval/qa.jsonl", 8)]
    batch = tokenizer(prompts, return_tensors="pt", padding=True)
    model = AutoModelForCausalLM.from_pretrained(model_path, dtype=torch.float32).eval()
    weights = _linear_weights(model)
    real = int(batch["attention_mask"].sum())
    prefill, decode = [], []
    with torch.no_grad():
        for i in range(repeats + 1):
            start = time.perf_counter()
            model(**batch)
            mid = time.perf_counter()
            out = model.generate(**batch, max_new_tokens=16, min_new_tokens=16, do_sample=False,
                                 pad_token_id=tokenizer.pad_token_id)
            end = time.perf_counter()
            if i:
                prefill.append(mid - start)
                decode.append((end - mid) - (mid - start))  # generation minus its own prefill
    new_tokens = (out.shape[1] - batch["input_ids"].shape[1]) * out.shape[0]
    prompt_s, decode_s = statistics.median(prefill), max(statistics.median(decode), 1e-9)
    return {"prompt_tokens_per_s": real / prompt_s, "prompt_flops": 2 * weights * real / prompt_s,
            "decode_tokens_per_s": new_tokens / decode_s, "decode_flops": 2 * weights * new_tokens / decode_s}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="timed repetitions of each figure (after a warm-up)")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    sys.path.insert(0, str(REPO))
    sys.path.insert(0, str(REPO / "bench"))
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from machine import cpu_model

    from harness.models import wheels

    model_path = Path(wheels.smollm2_135m_instruct().path)
    got: dict[str, float | str] = {"cpu_model": cpu_model()}
    got |= gemm_ceiling(args.repeats) | lora_training(model_path, args.repeats) | evaluation(model_path, args.repeats)
    ceiling = float(got["gemm_flops"])
    for name in ("train", "prompt", "decode"):
        got[f"{name}_fraction_of_peak"] = float(got[f"{name}_flops"]) / ceiling
    print(f"{got['cpu_model']}, {got['torch_threads']} torch threads; load average {os.getloadavg()[0]:.2f} (1 min)")
    print(f"fp32 GEMM ceiling: {ceiling / 1e9:.1f} GFLOP/s (n={got['gemm_size']})")
    print(f"LoRA training: {got['train_real_tokens_per_s']:.0f} real tokens/s ({got['train_padded_share']:.0%} of the "
          f"batch is padding) = {got['train_fraction_of_peak']:.0%} of the ceiling")
    print(f"evaluation, prompts: {got['prompt_tokens_per_s']:.0f} tokens/s = {got['prompt_fraction_of_peak']:.0%} "
          f"of the ceiling; greedy decoding: {got['decode_tokens_per_s']:.0f} tokens/s = "
          f"{got['decode_fraction_of_peak']:.0%}")
    if args.json:
        args.json.write_text(json.dumps(got, indent=2))


if __name__ == "__main__":
    main()
