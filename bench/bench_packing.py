"""Padding-free (packed) LoRA training batches against padded ones, side by side on one machine.

    .venv/bin/python bench/bench_packing.py [--repeats 5] [--rows 8] [--json PATH]

Why: issue #23 asks whether SFT wastes work on padding. A padded batch of the agri training
pairs (rendered in the chat template, right-padded as trl pads them) computes every pad token;
a padding-free batch concatenates the rows into one sequence whose position ids restart at each
row, and transformers then builds a block-diagonal causal mask from those position ids, so no
row attends to another. Removing the pads removes their linear-layer work, but the one long row
makes every attention score matrix (sequence length)² instead of (longest row)² per row, and on
a CPU the masked attention runs densely over all of it.

Printed: real and padded token counts, each side's median LoRA step time (forward, backward,
AdamW, rank 16 on every linear layer; the two sides alternate), and the completion-only loss of
each, which must agree if the packed mask keeps rows apart; a packed batch with a plain causal
mask (rows attending across their boundaries) is shown as the control that they would not.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent


def rows_and_labels(tokenizer: Any, n: int) -> list[tuple[list[int], list[int]]]:
    """(input ids, completion-only labels) of the first ``n`` agri training pairs."""
    out = []
    for line in (REPO / "tasks/agri/train.jsonl").read_text().splitlines()[:n]:
        row = json.loads(line)
        prompt = [{"role": "user", "content": f"Question: {row['question']}\nAnswer:"}]
        ids = tokenizer.apply_chat_template(prompt + [{"role": "assistant", "content": row["answer"]}], tokenize=False)
        head = tokenizer.apply_chat_template(prompt, tokenize=False, add_generation_prompt=True)
        ids, head_ids = tokenizer(ids)["input_ids"], tokenizer(head)["input_ids"]
        out.append((ids, [-100] * len(head_ids) + ids[len(head_ids):]))
    return out


def padded_batch(rows: list[tuple[list[int], list[int]]], pad_id: int) -> dict[str, Any]:
    import torch

    width = max(len(ids) for ids, _ in rows)
    ids = [r + [pad_id] * (width - len(r)) for r, _ in rows]
    labels = [lab + [-100] * (width - len(lab)) for _, lab in rows]
    mask = [[1] * len(r) + [0] * (width - len(r)) for r, _ in rows]
    return {"input_ids": torch.tensor(ids), "attention_mask": torch.tensor(mask), "labels": torch.tensor(labels),
            "use_cache": False}


def packed_batch(rows: list[tuple[list[int], list[int]]]) -> dict[str, Any]:
    """One sequence, position ids restarting per row, no attention mask (so transformers derives
    the block-diagonal mask from the position ids; it does so only without a KV cache, hence
    ``use_cache=False``, as in training). Each row's first label is a prompt token
    (-100), so no row's last token is trained to predict the next row."""
    import torch

    ids = [t for r, _ in rows for t in r]
    labels = [t for _, lab in rows for t in lab]
    positions = [p for r, _ in rows for p in range(len(r))]
    return {"input_ids": torch.tensor([ids]), "position_ids": torch.tensor([positions]),
            "labels": torch.tensor([labels]), "use_cache": False}


def step_seconds(model: Any, optimizer: Any, batch: dict[str, Any]) -> float:
    start = time.perf_counter()
    model(**batch).loss.backward()
    optimizer.step()
    optimizer.zero_grad()
    return time.perf_counter() - start


def measure(model_path: Path, n_rows: int, repeats: int) -> dict[str, float]:
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(model_path)
    rows = rows_and_labels(tokenizer, n_rows)
    padded, packed = padded_batch(rows, tokenizer.pad_token_id or tokenizer.eos_token_id), packed_batch(rows)
    crossing = {"input_ids": packed["input_ids"], "labels": packed["labels"], "use_cache": False}  # plain causal
    torch.manual_seed(0)
    base = AutoModelForCausalLM.from_pretrained(model_path, dtype=torch.float32)
    model = get_peft_model(base, LoraConfig(r=16, lora_alpha=32, lora_dropout=0.0, target_modules="all-linear",
                                            task_type="CAUSAL_LM"))
    with torch.no_grad():
        model.eval()
        losses = {name: float(model(**b).loss) for name, b in
                  (("padded", padded), ("packed", packed), ("crossing", crossing))}
    model.train()
    optimizer = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=0.0)  # timing only
    times: dict[str, list[float]] = {"padded": [], "packed": []}
    for i in range(repeats + 1):
        for name, batch in (("padded", padded), ("packed", packed)):
            seconds = step_seconds(model, optimizer, batch)
            if i:
                times[name].append(seconds)
    real = sum(len(r) for r, _ in rows)
    return {"rows": n_rows, "real_tokens": real, "padded_tokens": int(padded["input_ids"].numel()),
            "padded_step_s": statistics.median(times["padded"]), "packed_step_s": statistics.median(times["packed"]),
            "loss_padded": losses["padded"], "loss_packed": losses["packed"], "loss_crossing": losses["crossing"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="timed steps per side (after a warm-up)")
    parser.add_argument("--rows", type=int, default=8, help="rows per batch (finetune.batch_size)")
    parser.add_argument("--json", type=Path, help="also write the figures here (for bench/run_all.py)")
    args = parser.parse_args()
    sys.path.insert(0, str(REPO))
    sys.path.insert(0, str(REPO / "bench"))
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from machine import cpu_model

    from harness.models import wheels

    got = measure(Path(wheels.smollm2_135m_instruct().path), args.rows, args.repeats)
    ratio = got["packed_step_s"] / got["padded_step_s"]
    print(f"{cpu_model()}; load average {os.getloadavg()[0]:.2f} (1 min); {got['rows']} agri training rows")
    print(f"tokens: {got['real_tokens']} real, {got['padded_tokens']} padded "
          f"({1 - got['real_tokens'] / got['padded_tokens']:.0%} padding)")
    print(f"LoRA step: padded {got['padded_step_s']:.2f} s, packed {got['packed_step_s']:.2f} s "
          f"(packed / padded {ratio:.2f}×)")
    print(f"completion-only loss: padded {got['loss_padded']:.5f}, packed {got['loss_packed']:.5f}, "
          f"packed with a plain causal mask {got['loss_crossing']:.5f} (rows attending across boundaries)")
    import bench_json

    bench_json.write(args.json, "packing", {"packed_vs_padded_step": ratio}, {**got, "cpu_model": cpu_model()},
                     {"rows": args.rows, "repeats": args.repeats})


if __name__ == "__main__":
    main()
