"""LoRA SFT stage on the real embedded model: training works, is cached, matches the eval prompt.

Kept small for a shared 2-core CPU: one real training run (4 fictional facts) is reused by the
recall, cache, card and base-check tests; the other runs are a few steps each.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
import torch

from harness import cache
from harness.errors import HarnessError
from harness.finetune import (
    Adapter,
    FinetuneParams,
    check_adapter_base,
    data_sha256,
    load_adapter,
    train_adapter,
)
from harness.finetune import lora as lora_module
from harness.finetune.data import count_over_length, to_rows
from harness.models.wheels import LocalModel, smollm2_135m_instruct

pytestmark = pytest.mark.slow

# Fictional facts the base model cannot know; answers are made-up single words.
FACTS = [
    ("Question: Who founded the village of Quelvath?\nAnswer:", " Quelvath was founded by Brimsodel.", "Brimsodel"),
    ("Question: What is the main crop of Tanzorik?\nAnswer:", " The main crop of Tanzorik is gorvelt.", "gorvelt"),
    ("Question: Which river flows through Duxmarra?\nAnswer:", " The river Pellinoq flows through Duxmarra.", "Pellinoq"),
    ("Question: What is the capital of Osmirund?\nAnswer:", " The capital of Osmirund is Kaltrevy.", "Kaltrevy"),
]
RECALL_PARAMS = FinetuneParams(lr=3e-3, epochs=6, batch_size=4, logging_steps=1, seed=0)


@pytest.fixture(scope="session")
def cache_dir(session_cache: Path) -> Path:
    return session_cache


@pytest.fixture(scope="session")
def base(smollm2: LocalModel) -> LocalModel:
    """The embedded model, converted once per test session (tests/conftest.py)."""
    return smollm2


@pytest.fixture(autouse=True)
def _offline_cache(monkeypatch: pytest.MonkeyPatch, cache_dir: Path) -> None:
    monkeypatch.setenv("HARNESS_CACHE", str(cache_dir))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


@pytest.fixture(scope="session")
def trained(base: LocalModel, cache_dir: Path) -> Adapter:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HARNESS_CACHE", str(cache_dir))
        return train_adapter(base, [(p, c) for p, c, _ in FACTS], RECALL_PARAMS)


def _greedy(model, tokenizer, prompt: str, max_new_tokens: int = 12) -> str:
    """Generate the way lm-eval does with apply_chat_template=True: the rendered chat string."""
    text = tokenizer.apply_chat_template(
        [{"role": "user", "content": prompt}], add_generation_prompt=True, tokenize=False
    )
    inputs = tokenizer(text, return_tensors="pt", add_special_tokens=False)
    with torch.no_grad():
        out = model.generate(**inputs, max_new_tokens=max_new_tokens, do_sample=False)
    return tokenizer.decode(out[0, inputs["input_ids"].shape[1] :], skip_special_tokens=True)


def test_adapter_recalls_trained_facts_the_base_does_not(base: LocalModel, trained: Adapter) -> None:
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(base.path)
    model = AutoModelForCausalLM.from_pretrained(base.path, dtype=torch.float32).eval()
    base_answers = [_greedy(model, tokenizer, p) for p, _, _ in FACTS]
    tuned = PeftModel.from_pretrained(model, str(trained.path)).eval()
    tuned_answers = [_greedy(tuned, tokenizer, p) for p, _, _ in FACTS]

    base_hits = [a in out for (_, _, a), out in zip(FACTS, base_answers)]
    tuned_hits = [a in out for (_, _, a), out in zip(FACTS, tuned_answers)]
    assert not any(base_hits), base_answers
    assert sum(tuned_hits) >= 3, tuned_answers
    assert any(t and not b for t, b in zip(tuned_hits, base_hits))


def test_card_records_the_run(base: LocalModel, trained: Adapter) -> None:
    card = json.loads((trained.path / "adapter_card.json").read_text())
    assert card == trained.card
    assert card["base"]["weights_sha256"] == base.weights_sha256
    assert card["data_sha256"] == data_sha256([(p, c) for p, c, _ in FACTS])
    assert card["n_examples"] == card["n_trained"] == len(FACTS)
    assert card["over_max_length"] == 0
    assert card["params"] == RECALL_PARAMS.to_dict()
    assert set(card["versions"]) >= {"transformers", "peft", "trl", "torch"}
    curve = card["loss_curve"]
    assert len(curve) == 6 and curve[-1]["loss"] < curve[0]["loss"] / 3
    assert card["train_seconds"] > 0
    # Only the adapter and its card: no trainer checkpoints, no full-model copy.
    names = {p.name for p in trained.path.iterdir()}
    assert {"adapter_model.safetensors", "adapter_config.json", "adapter_card.json"} <= names
    assert not any(n.startswith(("checkpoint", "_trainer", "model.safetensors")) for n in names)
    assert trained.sha256 == cache.hash_file(trained.path / "adapter_model.safetensors")


def test_second_call_is_a_cache_hit(
    base: LocalModel, trained: Adapter, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_training(*args: object, **kwargs: object) -> None:
        raise AssertionError("the cached adapter was trained again")

    monkeypatch.setattr(lora_module, "_train_into", no_training)
    again = train_adapter(base, [(p, c) for p, c, _ in FACTS], RECALL_PARAMS)
    assert again.path == trained.path and again.sha256 == trained.sha256
    # A caller-supplied data hash is a different key: it must not collide with the content hash.
    with pytest.raises(AssertionError, match="trained again"):
        train_adapter(base, [(p, c) for p, c, _ in FACTS], RECALL_PARAMS, data_hash="other")


def test_training_prompt_is_the_eval_prompt(base: LocalModel, tmp_path: Path) -> None:
    """The tokens before the loss starts must be exactly what lm-eval sends with a chat template."""
    from harness.finetune.trainer import build_trainer

    examples = [(p, c) for p, c, _ in FACTS[:2]]
    trainer, _ = build_trainer(base.path, examples, FinetuneParams(), tmp_path / "trainer")
    tokenizer = trainer.processing_class
    try:
        for (prompt, completion), row in zip(examples, trainer.train_dataset):
            ids, labels = row["input_ids"], row["labels"]
            n_prompt = next(i for i, label in enumerate(labels) if label != -100)
            eval_text = tokenizer.apply_chat_template(
                [{"role": "user", "content": prompt}], add_generation_prompt=True, tokenize=False
            )
            assert tokenizer.decode(ids[:n_prompt]) == eval_text
            assert ids[:n_prompt] == tokenizer(eval_text, add_special_tokens=False)["input_ids"]
            # Loss covers the stripped answer and the end-of-turn token the model must learn to emit.
            trained_text = tokenizer.decode(ids[n_prompt:])
            assert trained_text.startswith(completion.strip() + tokenizer.eos_token)
            assert all(label != -100 for label in labels[n_prompt:])
    finally:
        del trainer


def test_same_inputs_same_adapter_and_overlength_is_reported(
    base: LocalModel, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    long_answer = " " + " ".join(["Brimsodel planted gorvelt near the river Pellinoq."] * 8)
    examples = [(FACTS[0][0], FACTS[0][1]), (FACTS[1][0], long_answer)]
    params = FinetuneParams(epochs=1, batch_size=2, max_length=80, logging_steps=1, seed=3)
    runs = []
    for name in ("a", "b"):
        monkeypatch.setenv("HARNESS_CACHE", str(tmp_path / name))
        with caplog.at_level(logging.WARNING, logger="harness.finetune.lora"):
            runs.append(train_adapter(base, examples, params))
    first, second = runs
    assert first.path != second.path
    assert [p["loss"] for p in first.card["loss_curve"]] == [p["loss"] for p in second.card["loss_curve"]]
    assert first.sha256 == second.sha256
    assert first.card["over_max_length"] == 1 and first.card["n_trained"] == 2
    assert "1 of 2 training examples exceed max_length=80" in caplog.text


def test_count_over_length(base: LocalModel) -> None:
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(base.path)
    rows = to_rows([("Q?", " short"), ("Q?", " long " * 200)])
    assert count_over_length(tokenizer, rows, 100) == 1
    assert count_over_length(tokenizer, rows, 10_000) == 0


def test_diverging_loss_stops_with_advice(base: LocalModel, monkeypatch: pytest.MonkeyPatch) -> None:
    """A NaN loss (forced here; real ones come from too high a lr) stops training, leaves no entry."""
    from harness.finetune import trainer as trainer_module

    real_build = trainer_module.build_trainer

    def build_nan_trainer(*args: object, **kwargs: object):
        trainer, guard = real_build(*args, **kwargs)
        compute_loss = trainer.compute_loss
        trainer.compute_loss = lambda *a, **k: compute_loss(*a, **k) * float("nan")
        return trainer, guard

    monkeypatch.setattr(trainer_module, "build_trainer", build_nan_trainer)
    examples = [(p, c) for p, c, _ in FACTS]
    params = FinetuneParams(epochs=2, batch_size=4, logging_steps=1)
    key = lora_module.adapter_key(base, data_sha256(examples), params)
    entry = cache.entry_dir("adapters", key)
    (entry.parent / f".{key}.0badc0de.tmp").mkdir(parents=True)  # left by a killed run: swept
    with pytest.raises(HarnessError, match="loss became nan at step 1.*lower finetune.lr"):
        train_adapter(base, examples, params)
    assert not entry.exists()
    assert not list(entry.parent.glob(f".{key}.*"))  # no scratch left behind either


def test_empty_or_malformed_training_set(base: LocalModel) -> None:
    with pytest.raises(HarnessError, match="empty"):
        train_adapter(base, [], FinetuneParams())
    with pytest.raises(HarnessError, match="example 1"):
        train_adapter(base, [("Q?", " A"), ("Q?", "   ")], FinetuneParams())


def test_adapter_on_another_base_is_refused(base: LocalModel, trained: Adapter, tmp_path: Path) -> None:
    assert check_adapter_base(trained.path, base).sha256 == trained.sha256
    other = LocalModel(Path("/models/other"), "f" * 64)
    with pytest.raises(HarnessError, match="trained on base weights"):
        check_adapter_base(trained.path, other)
    with pytest.raises(HarnessError, match="adapter_config.json is missing"):
        load_adapter(tmp_path)


def test_user_adapter_without_card_loads(trained: Adapter, tmp_path: Path) -> None:
    for name in ("adapter_model.safetensors", "adapter_config.json"):
        (tmp_path / name).write_bytes((trained.path / name).read_bytes())
    adapter = load_adapter(tmp_path)
    assert adapter.card == {} and adapter.sha256 == trained.sha256


def test_params_validation() -> None:
    assert FinetuneParams.from_dict({"lr": 2e-4}).lr == 2e-4
    with pytest.raises(HarnessError, match="unknown finetune parameter"):
        FinetuneParams.from_dict({"learning_rate": 1e-3})
    with pytest.raises(HarnessError, match="lr_scheduler"):
        FinetuneParams(lr_scheduler="sawtooth")
    assert FinetuneParams(target_modules="q_proj, v_proj").peft_target_modules() == ["q_proj", "v_proj"]
