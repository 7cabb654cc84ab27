"""`finetune.export_merged`: the adapter merged into the base as a plain transformers folder."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import torch

from tests.conftest import REPO


def test_merged_export_matches_the_adapter(tmp_path, session_cache, smollm2):
    out = tmp_path / "merged"
    env = dict(os.environ, HARNESS_CACHE=str(session_cache))
    args = ["finetune", "+exp=agri", "suite.n_docs=2", "finetune.epochs=1", f"finetune.export_merged={out}"]
    proc = subprocess.run([sys.executable, "-m", "harness", *args], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert f"merged model: {out}" in proc.stdout
    adapter_dir = next(line.split(": ", 1)[1] for line in proc.stdout.splitlines() if line.startswith("adapter: "))
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(out)
    ids = tokenizer("Question: When is maize sown in the Velmora Plateau?\nAnswer:", return_tensors="pt")
    merged = AutoModelForCausalLM.from_pretrained(out, dtype=torch.float32).eval()
    base = AutoModelForCausalLM.from_pretrained(str(smollm2.path), dtype=torch.float32)
    peft = PeftModel.from_pretrained(base, adapter_dir).eval()
    with torch.no_grad():
        assert torch.allclose(merged(**ids).logits, peft(**ids).logits, atol=1e-3)
    assert json.loads((out / "harness_export.json").read_text())["base_weights_sha256"] == smollm2.weights_sha256
    again = subprocess.run([sys.executable, "-m", "harness", *args], cwd=REPO, env=env, capture_output=True,
                           text=True, timeout=900)
    assert again.returncode == 2 and "not empty" in again.stderr
