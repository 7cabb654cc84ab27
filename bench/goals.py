"""The goals of issue #8, one per measured figure, and which bench measures each.

``bench/run_all.py`` puts every figure a bench wrote (``--json``) beside its goal here. A goal's
``quick_note`` says why ``--quick`` sizes cannot judge it (None: quick mode measures it as is).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Goal:
    key: str           # the ratio's key in the bench's JSON
    bench: str         # the bench that writes it
    label: str         # what the figure is
    op: str            # "<=" or ">="
    target: float
    shown: str         # the goal as written in the issue
    quick_note: str | None = None
    fmt: str = "{:.3f}"  # how the measured value is shown

    def met(self, value: float) -> bool:
        return value <= self.target if self.op == "<=" else value >= self.target


GOALS: tuple[Goal, ...] = (
    Goal("harness_vs_lm_eval", "overhead", "harness closed-book eval / plain lm-eval (wall)", "<=", 1.05, "≤ 1.05",
         "4 rows per task: start-up and model loading dominate both sides"),
    Goal("rerun_vs_first", "overhead", "cached rerun / first run (wall)", "<=", 0.05, "≤ 0.05",
         "a short first run makes the fixed start-up of the rerun a large share"),
    Goal("retrieval_share", "rag_share", "retrieval stage / all stages of a RAG run", "<=", 0.05, "≤ 5 %",
         "few questions: the embedder's load is a fixed cost over little evaluation", "{:.1%}"),
    Goal("embed_vs_raw", "retrieval", "harness embedder / raw SentenceTransformer.encode (passages/s)", ">=",
         0.95, "≥ 0.95", "256 passages in 2 rounds: seconds of timing, inside a shared machine's noise"),
    Goal("vllm_vs_hf", "vllm", "vLLM-served / in-process hf grid (evaluation speed)", ">=", 1.5, "≥ 1.5×",
         "one document (4 questions per task): too few requests for a steady-state speed",
         "{:.2f}×"),
    Goal("peak_rss_1m_gib", "index_scale", "largest index build peak RSS at 1M passages (GiB)", "<=", 8.0,
         "≤ 8 GiB", "quick mode builds 10k passages only: the 1M goal is not measured", "{:.2f} GiB"),
)

# figures shown beside the goals, without a goal of their own: (key, bench, label, format)
INFO: tuple[tuple[str, str, str, str], ...] = (
    ("vllm_vs_hf_incl_start", "vllm", "vLLM-served / in-process hf, server start included", "{:.2f}×"),
    ("retrieval_share_of_wall", "rag_share", "retrieval stage / the RAG run's whole wall time", "{:.1%}"),
    ("mc_speedup", "cpu_speedups", "MC scoring: lm-eval HFLM time / shared-prompt time", "{:.2f}×"),
    ("mc_choice_flips", "cpu_speedups", "MC questions whose chosen option differs between the two", "{:.0f}"),
    ("lora_dropout_cost_ratio", "cpu_speedups", "LoRA step time, dropout 0.05 / dropout 0", "{:.2f}×"),
    ("train_fraction_of_peak", "peak", "LoRA training FLOP/s (real tokens) / fp32 GEMM ceiling", "{:.0%}"),
    ("prompt_fraction_of_peak", "peak", "evaluation prompt FLOP/s / fp32 GEMM ceiling", "{:.0%}"),
    ("decode_fraction_of_peak", "peak", "greedy decoding FLOP/s / fp32 GEMM ceiling", "{:.0%}"),
    ("packed_vs_padded_step", "packing", "LoRA step time, padding-free (packed) batch / padded batch", "{:.2f}×"),
    ("best_vs_default_eval", "eval_batch", "evaluate stage, fastest eval.batch_size / batch 16", "{:.2f}×"),
    ("full_vs_lora_step", "full_ft", "training step time, full fine-tuning / LoRA r16", "{:.2f}×"),
    ("full_vs_lora_memory", "full_ft", "training peak RSS, full fine-tuning / LoRA r16", "{:.2f}×"),
)
