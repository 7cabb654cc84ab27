"""The other trained arms (docs/arms.md): each changes the model the way it claims to.

- ``full`` changes every weight tensor of the base; ``merge`` at alpha 0 is the base, at 1 the
  tuned model, in between the exact interpolation (LoRA and whole models);
- ``cpt`` trains on every token of the corpus, in chunks without padding, and lowers the
  corpus's loss; ``cpt_sft`` continues from cpt's adapter;
- ``style`` never sees a suite fact and trains for ft's number of steps with ft's settings;
- every arm's cache key differs, and the spec refuses what an arm cannot do.

Real training on four fictional facts (one optimizer step or a few each) with the embedded
model; one small run through the CLI checks the wiring (conditions, report, decision, costs).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from harness.errors import HarnessError
from harness.finetune import FinetuneParams, train_adapter
from harness.finetune.adapter import MODEL_WEIGHTS_FILE, WEIGHTS_FILE, Adapter
from harness.finetune.arm_settings import CptSettings, StyleSettings
from harness.models.wheels import LocalModel
from tests.conftest import harness, only_run
from tests.test_variants import agri, make_spec

FACTS = [
    ("Question: Who founded the village of Quelvath?\nAnswer:", " Brimsodel."),
    ("Question: What is the main crop of Tanzorik?\nAnswer:", " Gorvelt."),
    ("Question: Which river flows through Duxmarra?\nAnswer:", " The Pellinoq."),
    ("Question: What is the capital of Osmirund?\nAnswer:", " Kaltrevy."),
]
CORPUS = [
    {"id": "d1", "title": "Quelvath", "text": "Quelvath was founded by Brimsodel. Its farmers grow gorvelt. "
                                              "The Pellinoq river floods it each spring."},
    {"id": "d2", "title": "Osmirund", "text": "The capital of Osmirund is Kaltrevy. Kaltrevy trades salt. "
                                              "Its winters are long and dry."},
]
ONE_STEP = FinetuneParams(lr=3e-3, epochs=1, batch_size=4, seed=0)


def _tensors(path: Path) -> dict[str, torch.Tensor]:
    from safetensors.torch import load_file

    return load_file(str(path))


def _base_tensors(base: LocalModel) -> dict[str, torch.Tensor]:
    out: dict[str, torch.Tensor] = {}
    for shard in sorted(Path(base.path).glob("*.safetensors")):
        out.update(_tensors(shard))
    return out


def _effective(base: LocalModel, adapter: Adapter) -> dict[str, torch.Tensor]:
    """The weights the model computes with: the adapter merged into the base."""
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(base.path, torch_dtype=torch.float32)
    return {k: v.detach().clone() for k, v in PeftModel.from_pretrained(model, adapter.path).merge_and_unload()
            .state_dict().items()}


@pytest.fixture(scope="module")
def ft(smollm2: LocalModel) -> Adapter:
    return train_adapter(smollm2, FACTS, ONE_STEP)


@pytest.fixture(scope="module")
def full(smollm2: LocalModel) -> Adapter:
    return train_adapter(smollm2, FACTS, FinetuneParams(lr=1e-4, epochs=1, batch_size=4, seed=0), full=True)


# ---------------------------------------------------------------- full and merge


def test_full_changes_every_weight_tensor(smollm2: LocalModel, full: Adapter, ft: Adapter) -> None:
    base, tuned = _base_tensors(smollm2), _tensors(full.path / MODEL_WEIGHTS_FILE)
    assert full.whole_model and full.kind == "full" and full.card["kind"] == "full"
    assert set(tuned) == set(base)
    unchanged = [k for k in base if torch.equal(base[k], tuned[k].to(base[k].dtype))]
    assert unchanged == [], f"full fine-tuning left {len(unchanged)} tensors as they were: {unchanged[:3]}"
    assert full.path != ft.path and full.sha256 != ft.sha256
    assert (full.path / "tokenizer_config.json").is_file()  # a whole model folder, loadable on its own


def test_merge_of_a_lora_adapter_is_base_at_0_ft_at_1_and_exact_between(smollm2: LocalModel, ft: Adapter) -> None:
    from harness.finetune.merge import merged

    base = _base_tensors(smollm2)
    zero, one, half = (merged(smollm2, ft, a) for a in (0.0, 1.0, 0.5))
    assert len({zero.path, one.path, half.path, ft.path}) == 4  # one cache entry per alpha
    assert merged(smollm2, ft, 0.5).path == half.path  # and built once
    assert _tensors(one.path / WEIGHTS_FILE).keys() == _tensors(ft.path / WEIGHTS_FILE).keys()
    assert all(torch.equal(a, b) for a, b in zip(_tensors(one.path / WEIGHTS_FILE).values(),
                                                  _tensors(ft.path / WEIGHTS_FILE).values()))
    at_zero, at_half, tuned = _effective(smollm2, zero), _effective(smollm2, half), _effective(smollm2, ft)
    changed = [k for k in base if not torch.equal(base[k], tuned[k])]
    assert changed, "the one-step adapter changed no weight: the test would prove nothing"
    assert all(torch.equal(at_zero[k], base[k]) for k in base)
    for k in changed:
        torch.testing.assert_close(at_half[k], 0.5 * base[k] + 0.5 * tuned[k], rtol=0, atol=1e-6)
    assert half.card["merge"] == {"alpha": 0.5, "tuned_sha256": ft.sha256, "base_sha256": smollm2.weights_sha256}


def test_merge_of_a_full_model_interpolates_every_tensor(smollm2: LocalModel, full: Adapter) -> None:
    from harness.finetune.merge import merged

    base, tuned = _base_tensors(smollm2), _tensors(full.path / MODEL_WEIGHTS_FILE)
    zero, one, half = (_tensors(merged(smollm2, full, a).path / MODEL_WEIGHTS_FILE) for a in (0.0, 1.0, 0.5))
    for k in base:
        assert torch.equal(zero[k], base[k]) and torch.equal(one[k], tuned[k])
        torch.testing.assert_close(half[k], 0.5 * base[k] + 0.5 * tuned[k], rtol=0, atol=1e-6)
    with pytest.raises(HarnessError, match=r"merge.alpha=1.5"):
        merged(smollm2, full, 1.5)


# ---------------------------------------------------------------- continued pre-training


def test_cpt_chunks_cover_the_corpus_without_padding(smollm2: LocalModel) -> None:
    from transformers import AutoTokenizer

    from harness.finetune.cpt import corpus_texts, cpt_chunks

    tokenizer = AutoTokenizer.from_pretrained(smollm2.path)
    settings = CptSettings(max_length=16)
    chunks, key = cpt_chunks(CORPUS, settings, tokenizer)
    stream = [t for text in corpus_texts(CORPUS, settings)
              for t in [*tokenizer(text, add_special_tokens=False)["input_ids"], tokenizer.eos_token_id]]
    assert [t for chunk in chunks for t in chunk] == stream
    assert all(len(c) == 16 for c in chunks[:-1]) and 0 < len(chunks[-1]) <= 16
    assert tokenizer.pad_token_id not in stream or tokenizer.pad_token_id == tokenizer.eos_token_id
    reordered = CptSettings(max_length=16, augment="reorder", augment_n=2)
    texts = corpus_texts(CORPUS, reordered)
    assert len(texts) == 6 and texts[1] != texts[0] and texts[2] not in texts[:2]  # doc, 2 orders, doc, 2 orders
    assert sorted(texts[1].replace("\n\n", " ").split()) == sorted(texts[0].replace("\n\n", " ").split())
    assert cpt_chunks(CORPUS, reordered, tokenizer)[1] != key != cpt_chunks(CORPUS, CptSettings(max_length=32),
                                                                           tokenizer)[1]


def _corpus_loss(base: LocalModel, adapter: Adapter | None, chunks: list[list[int]]) -> float:
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(base.path, torch_dtype=torch.float32)
    model = PeftModel.from_pretrained(model, adapter.path) if adapter is not None else model
    with torch.no_grad():
        losses = [float(model(input_ids=torch.tensor([c]), labels=torch.tensor([c])).loss) for c in chunks]
    return sum(losses) / len(losses)


def test_cpt_learns_the_corpus_text_and_cpt_sft_continues_from_it(smollm2: LocalModel, ft: Adapter) -> None:
    from transformers import AutoTokenizer

    from harness.finetune.cpt import cpt_chunks
    from harness.finetune.lora import train_on_text

    chunks, key = cpt_chunks(CORPUS, CptSettings(max_length=32), AutoTokenizer.from_pretrained(smollm2.path))
    cpt = train_on_text(smollm2, chunks, FinetuneParams(lr=3e-3, epochs=3, batch_size=4, seed=0), data_hash=key)
    assert cpt.card["objective"] == "causal LM on text" and cpt.card["n_trained"] == len(chunks)
    before, after = _corpus_loss(smollm2, None, chunks), _corpus_loss(smollm2, cpt, chunks)
    assert after < before - 0.5, (before, after)  # every token is trained on: the corpus's own loss falls
    cpt_sft = train_adapter(smollm2, FACTS, ONE_STEP, start_from=cpt)
    assert cpt_sft.card["started_from_sha256"] == cpt.sha256 and cpt_sft.path not in (cpt.path, ft.path)


# ---------------------------------------------------------------- the format control


def test_style_rows_name_no_suite_fact_and_match_ft_in_number() -> None:
    from harness.finetune.style import control_rows, load_sources, names_a_fact, suite_fact_values

    suite = agri()
    style = StyleSettings()
    rows = control_rows(style, suite, load_sources(style))
    values = suite_fact_values(suite)
    assert len(rows) == len(suite.train) and len(values) > 20
    assert not [r for r in rows if names_a_fact(r, values)]
    assert all(r["id"].startswith(("style-finance-", "style-medical-")) for r in rows)
    assert control_rows(style, suite, load_sources(style)) == rows != control_rows(StyleSettings(seed=1), suite,
                                                                                  load_sources(style))
    assert names_a_fact({"question": "Which crop?", "answer": f"the {sorted(values)[0]} one"}, values)
    with pytest.raises(HarnessError, match="the experiment's own suite 'agri'"):
        control_rows(StyleSettings(sources=("agri",)), suite, load_sources(StyleSettings(sources=("agri",))))


def test_each_arm_trains_with_its_own_data_and_ft_recipe(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """What each builder hands to training (the training itself is tested above)."""
    from harness.finetune import arms, sft
    from harness.finetune.arm_settings import ArmSettings

    calls: dict[str, dict] = {}

    def fake_train(base, examples, params, *, data_hash=None, start_from=None, full=False, check=None):
        name = f"a{len(calls)}"
        calls[name] = {"examples": examples, "params": params, "start_from": start_from, "full": full}
        return Adapter(tmp_path / name, name, card={"train_seconds": 10.0 * (len(calls))})

    monkeypatch.setattr(sft, "train_adapter", fake_train)
    monkeypatch.setattr(arms, "train_adapter", fake_train)
    spec = make_spec("conditions=[{adaptation:ft},{adaptation:style},{adaptation:full},{adaptation:cpt_sft}]")
    suite = agri(2)
    trainer = arms.ArmTrainer(spec.finetune, suite, LocalModel(tmp_path, "0" * 64), raft=None,
                              retrieval=spec.retriever, arms=spec.arms or ArmSettings(), chosen={"epochs": 8.0})
    cpt = Adapter(tmp_path / "cpt", "cpt-sha", card={"train_seconds": 100.0})
    trainer.trained["cpt"] = {0: cpt}
    by_arm = {arm: trainer.get(arm, 0).sha256 for arm in ("ft", "style", "full", "cpt_sft")}
    ft, style, full, cpt_sft = (calls[by_arm[a]] for a in ("ft", "style", "full", "cpt_sft"))
    assert style["params"] == ft["params"] and ft["params"].epochs == 8.0
    assert len(style["examples"]) == len(ft["examples"]) and not set(style["examples"]) & set(ft["examples"])
    assert full["full"] and full["params"].lr == 1e-4 and full["params"].epochs == 8.0
    assert full["examples"] == ft["examples"] and not ft["full"]
    assert cpt_sft["start_from"] is cpt and cpt_sft["params"] == ft["params"]
    assert trainer.train_seconds("cpt_sft", 0) == 100.0 + trainer.get("cpt_sft", 0).card["train_seconds"]


def test_format_and_knowledge_parts_sum_to_ft_gain_in_one_holm_family() -> None:
    from harness.report.format_knowledge import format_knowledge_table, settings, split_deltas

    n = 60
    right = {"base": 6, "style": 24, "ft": 48, "base+dense": 30, "style+dense": 42, "ft+dense": 45}
    samples = {c: {t: {f"q{i}": {"acc": float(i < k)} for i in range(n)} for t in ("a_mc", "b_qa")}
               for c, k in right.items()}
    primary = {"a_mc": "acc", "b_qa": "acc"}
    assert settings(list(samples)) == ["", "+dense"] and settings(["base", "ft", "ft+dense"]) == []
    deltas = split_deltas(samples, primary, list(samples))
    assert len(deltas) == 2 * 3 * 3 and {d.family for d in deltas.values()} == {18}
    for suffix in ("", "+dense"):
        fmt, know, total = (deltas[(suffix, label, "mean")].estimate for label in
                            ("format (style − base)", "knowledge (ft − style)", "total (ft − base)"))
        assert fmt + know == pytest.approx(total)
    assert deltas[("", "format (style − base)", "a_mc")].estimate == pytest.approx(0.3)
    assert deltas[("", "knowledge (ft − style)", "a_mc")].significant
    assert not deltas[("+dense", "knowledge (ft − style)", "a_mc")].significant  # 3 of 60 more: noise
    title, shown = format_knowledge_table(samples, primary, list(samples))
    assert list(shown.columns) == ["a_mc", "b_qa", "mean"] and len(shown) == 6
    assert shown.loc["closed book: knowledge (ft − style)", "mean"].startswith("+40.0 pp [")
    assert format_knowledge_table(samples, primary, ["base", "ft"]) is None


def test_merge_sweep_runs_from_base_to_the_tuned_arm_in_alpha_order() -> None:
    import pandas as pd

    from harness.report.merge_sweep import merge_sweep_plot, merge_sweep_table, sweep_points

    names = ["base", "ft", "merge-0.75", "merge-0.25", "base+dense", "ft+dense", "merge-0.25+dense",
             "merge-0.75+dense"]
    assert sweep_points(names) == [(0.0, "base"), (0.25, "merge-0.25"), (0.75, "merge-0.75"), (1.0, "ft")]
    assert sweep_points(["base", "merge-0", "merge-1", "ft"]) == [(0.0, "merge-0"), (1.0, "merge-1")]
    assert sweep_points(["base", "full", "merge-0.5"], of="full")[-1] == (1.0, "full")
    assert sweep_points(["base", "ft"]) == [] and merge_sweep_table(pd.DataFrame(index=["base"])) is None
    score = {"base": 0.1, "merge-0.25": 0.3, "merge-0.75": 0.5, "ft": 0.7}
    rows = {n: {"mean": score[n.split("+")[0]] + (0.2 if "+" in n else 0.0), "general_mc/acc": 0.8 - score[n.split("+")[0]]}
            for n in names}
    frame = pd.DataFrame.from_dict(rows, orient="index")
    for col in ("mean", "general_mc/acc"):
        frame[f"{col}_ci_low"], frame[f"{col}_ci_high"] = frame[col] - 0.05, frame[col] + 0.05
    title, shown = merge_sweep_table(frame, "ft", ["general_mc/acc"])
    assert list(shown.index) == ["0", "0.25", "0.75", "1"] and list(shown["condition"]) == [
        "base", "merge-0.25", "merge-0.75", "ft"]
    assert list(shown.columns) == ["condition", "suite mean, closed book", "suite mean, +dense",
                                   "forgetting general_mc/acc"]
    assert shown.loc["0.25", "suite mean, +dense"] == "0.500 [0.450, 0.550]"
    assert shown.loc["1", "forgetting general_mc/acc"] == "0.100 [0.050, 0.150]"
    ((caption, chart),) = merge_sweep_plot(frame, "ft", ["general_mc/acc"])
    assert chart.startswith("<svg") and "α = 0.25 (merge-0.25)" in chart and "against α" in caption


# ---------------------------------------------------------------- the spec


def test_merge_alphas_expand_into_one_condition_each() -> None:
    spec = make_spec("conditions=[{adaptation:base},{adaptation:merge,rag:true}]", "merge.alpha=[0.25,0.75]")
    assert [c.name for c in spec.conditions] == ["base", "merge-0.25+dense", "merge-0.75+dense"]
    assert spec.trained_adaptations == ["merge-0.25", "merge-0.75"]
    hashed = spec.to_dict()
    assert hashed["merge"] == {"alpha": [0.25, 0.75], "of": "ft"} and not {"cpt", "full", "style"} & set(hashed)
    assert not {"cpt", "full", "merge", "style"} & set(make_spec().to_dict())  # other grids hash as before


@pytest.mark.parametrize(("overrides", "message"), [
    (["conditions=[{adaptation:cpt+sft}]"], r"conditions\[0\]\.adaptation: write cpt\+sft as cpt_sft"),
    (["conditions=[{adaptation:full}]", "model.backend=vllm"], r"full fine-tuning .* serves LoRA adapters"),
    (["conditions=[{adaptation:merge}]", "merge.of=full", "model.backend=vllm"], r"full fine-tuning"),
    (["conditions=[{adaptation:style}]", "forgetting_suite=finance"], r"style.sources includes the forgetting suite"),
    (["conditions=[{adaptation:merge}]", "merge.alpha=[0.5,2]"], r"merge.alpha"),
    (["conditions=[{adaptation:cpt}]", "cpt.augment=shuffle"], r"cpt.augment"),
])
def test_arm_settings_bad_input(overrides: list[str], message: str) -> None:
    with pytest.raises(HarnessError, match=message):
        make_spec(*overrides)


# ---------------------------------------------------------------- one run through the CLI


ARMS_GRID = ["+exp=agri", "suite.n_docs=1", "eval.limit=2", "finetune.epochs=1", "cpt.epochs=1",
             "merge.alpha=[0.0,1.0]", "history_db=",
             "conditions=[{adaptation:base},{adaptation:ft},{adaptation:style},{adaptation:cpt_sft},"
             "{adaptation:full},{adaptation:merge},{adaptation:base,rag:true},{adaptation:ft,rag:true},"
             "{adaptation:style,rag:true}]"]


def _outputs(run: Path, condition: str) -> list:
    return [json.loads(line)["output"] for task in sorted((run / "samples" / condition).iterdir())
            for line in task.read_text().splitlines()]


def test_arms_run_through_the_cli(tmp_path: Path, session_cache: Path, smollm2: LocalModel) -> None:
    proc = harness("run", *ARMS_GRID, f"results_dir={tmp_path}", cache=session_cache, timeout=1800)
    assert proc.returncode == 0, proc.stderr[-4000:]
    run = only_run(tmp_path)
    manifest = json.loads((run / "manifest.json").read_text())
    seconds = manifest["arms"]["train_seconds"]
    assert set(seconds) == {"ft", "style", "cpt", "cpt_sft", "full", "merge-0", "merge-1"}
    assert seconds["cpt_sft"] > seconds["cpt"] and seconds["merge-1"] >= seconds["ft"]
    assert set(manifest["arms"]["training_recall"]) == {"ft", "style", "cpt_sft", "full", "merge-0", "merge-1"}
    assert _outputs(run, "merge-0") == _outputs(run, "base") and _outputs(run, "merge-1") == _outputs(run, "ft")
    board = (run / "leaderboard.md").read_text()
    assert "Format or knowledge" in board and "+dense: knowledge (ft − style)" in board
    decision = json.loads((run / "decision.json").read_text())
    assert {s["condition"] for s in decision["standings"]} == {
        "base", "base+dense", "ft", "ft+dense", "cpt_sft", "full", "merge-0", "merge-1"}  # style: a control
    assert "Same questions, the other trained arms: " in board and "style (control: trained on other facts)" in board
    costs = json.loads((run / "metrics.json").read_text())["extra"]["cost"]
    assert costs["full"]["finetune_s"] == seconds["full"] > 0
