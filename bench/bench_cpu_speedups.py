"""The two CPU savings behind the default run's time, each measured side by side in one run.

    .venv/bin/python bench/bench_cpu_speedups.py [--questions 40] [--steps 6] [--json PATH]

1. Multiple-choice scoring: lm-eval's HFLM (every option re-reads the prompt) vs the harness's
   PrefixSharingHFLM (the prompt once, the options on its key/value cache), on the agri suite's
   questions closed-book and with their gold passage as context (what a top-1 RAG prompt holds),
   rendered with the model's chat template. Reports the speed ratio and the largest difference in
   log-likelihood and in the chosen option (must be 0).
2. A LoRA training step (forward + backward, batch 8 of the agri training set, rank 16 on all
   linear layers) with lora_dropout 0.05 vs 0.0, alternating the two models step by step so load
   changes hit both sides alike. Dropout draws a random mask over the input of every adapted layer.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def _rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def mc_requests(lm, n: int) -> list[tuple[tuple[str, str], list[int], list[int]]]:
    corpus = {d["id"]: d["text"] for d in _rows(REPO / "tasks/agri/corpus.jsonl")}
    requests = []
    for row in _rows(REPO / "tasks/agri/eval/mc.jsonl")[:n]:
        for context in ("", corpus[row["gold_ids"][0]]):
            text = f"Context:\n{context}\n\nQuestion: {row['question']}\nAnswer:" if context else \
                f"Question: {row['question']}\nAnswer:"
            prompt = lm.apply_chat_template([{"role": "user", "content": text}])
            for choice in row["choices"]:
                requests.append(((prompt, " " + choice), lm.tok_encode(prompt), lm.tok_encode(" " + choice)))
    return requests


def bench_mc(model_path: Path, n: int) -> dict[str, float]:
    from lm_eval.models.huggingface import HFLM

    from harness.models.prefix_lm import PrefixSharingHFLM

    lm = PrefixSharingHFLM(pretrained=str(model_path), dtype="float32", batch_size=16, device="cpu")
    requests = mc_requests(lm, n)
    lm._loglikelihood_tokens(requests[:8], disable_tqdm=True)  # warm-up
    start = time.perf_counter()
    ours = lm._loglikelihood_tokens(requests, disable_tqdm=True)
    shared_s = time.perf_counter() - start
    start = time.perf_counter()
    theirs = HFLM._loglikelihood_tokens(lm, requests, disable_tqdm=True)
    plain_s = time.perf_counter() - start
    diff = max(abs(a[0] - b[0]) for a, b in zip(ours, theirs))
    choice_flips = 0
    for q in range(0, len(requests), 4):
        pick = lambda res: max(range(4), key=lambda i: res[q + i][0])  # noqa: E731
        choice_flips += pick(ours) != pick(theirs)
    return {"mc_requests": len(requests), "mc_hflm_s": plain_s, "mc_shared_prompt_s": shared_s,
            "mc_speedup": plain_s / shared_s, "mc_max_abs_logprob_diff": diff, "mc_choice_flips": choice_flips}


def bench_lora(model_path: Path, steps: int) -> dict[str, float]:
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(model_path)
    rows = _rows(REPO / "tasks/agri/train.jsonl")[:8]
    texts = [tokenizer.apply_chat_template([{"role": "user", "content": r["question"]},
                                            {"role": "assistant", "content": r["answer"]}], tokenize=False)
             for r in rows]
    batch = tokenizer(texts, return_tensors="pt", padding=True)

    def model(dropout: float):
        torch.manual_seed(0)
        base = AutoModelForCausalLM.from_pretrained(model_path, dtype=torch.float32)
        peft = get_peft_model(base, LoraConfig(r=16, lora_alpha=32, lora_dropout=dropout,
                                               target_modules="all-linear", task_type="CAUSAL_LM"))
        peft.train()
        return peft

    def step(m) -> float:
        start = time.perf_counter()
        m(**batch, labels=batch["input_ids"]).loss.backward()
        m.zero_grad()
        return time.perf_counter() - start

    with_dropout, without = model(0.05), model(0.0)
    step(with_dropout), step(without)  # warm-up
    a = b = 0.0
    for _ in range(steps):
        a += step(with_dropout)
        b += step(without)
    return {"lora_step_dropout_0.05_s": a / steps, "lora_step_dropout_0_s": b / steps,
            "lora_dropout_cost_ratio": a / b, "lora_tokens_per_step": int(batch["input_ids"].numel())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=int, default=40, help="agri MC questions (×2 prompts ×4 options)")
    parser.add_argument("--steps", type=int, default=6, help="training steps per side")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    sys.path.insert(0, str(REPO))
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from harness.models import wheels

    model_path = Path(wheels.smollm2_135m_instruct().path)
    got = bench_mc(model_path, args.questions) | bench_lora(model_path, args.steps)
    print(f"load average: {os.getloadavg()[0]:.2f} (1 min)")
    print(f"MC scoring, {got['mc_requests']} requests: lm-eval HFLM {got['mc_hflm_s']:.1f} s, shared prompt "
          f"{got['mc_shared_prompt_s']:.1f} s -> {got['mc_speedup']:.2f}x; max |Δ log p| "
          f"{got['mc_max_abs_logprob_diff']:.1e}, chosen option changed {got['mc_choice_flips']} times")
    print(f"LoRA step ({got['lora_tokens_per_step']} tokens): dropout 0.05 {got['lora_step_dropout_0.05_s']:.2f} s, "
          f"dropout 0 {got['lora_step_dropout_0_s']:.2f} s -> dropout costs {got['lora_dropout_cost_ratio']:.2f}x")
    if args.json:
        args.json.write_text(json.dumps(got, indent=2))


if __name__ == "__main__":
    main()
