"""Equal effort (issue #16): the dev split (no leakage, never eval rows), the tuning config and its
errors, trial bookkeeping, the verdict-stability share, the tuning line, and the spec the grid
runs after tuning — all on plain data — plus one tiny slow run through the real stack."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from harness.decision import arms
from harness.errors import HarnessError
from harness.jsonl import read_jsonl
from harness.tuning import Trial, Tuning, best, dev_split, stability, tune_settings
from harness.tuning.settings import RecallSettings
from tests.conftest import REPO, harness, only_run

AGRI = REPO / "tasks" / "agri"


def _rows(n_facts: int = 30, per_fact: int = 2) -> list[dict]:
    return [{"id": f"t{f:03d}-{q}", "question": f"question {q} about fact {f}?", "answer": f"answer {f}.",
             "fact_id": f"f{f:03d}"} for f in range(n_facts) for q in range(per_fact)]


def _eval_rows() -> list[dict]:
    return [row for path in sorted((AGRI / "eval").glob("*.jsonl")) for row in read_jsonl(path)]


def test_paraphrase_split_holds_out_one_question_per_dev_fact_and_never_an_eval_row():
    train = read_jsonl(AGRI / "train.jsonl")
    split = dev_split(train, 0.2, seed=1234)
    counts = Counter(r["fact_id"] for r in train)
    eligible = [f for f, n in counts.items() if n >= 2]  # a fact with one question has no phrasing to spare
    assert len(split.dev_facts) == round(0.2 * len(eligible)) and len(split.dev) == len(split.dev_facts)
    assert len(split.train) + len(split.dev) == len(train)
    dev_ids, train_ids = {r["id"] for r in split.dev}, {r["id"] for r in split.train}
    assert dev_ids <= {r["id"] for r in train} and not dev_ids & train_ids  # carved from train.jsonl only
    assert not dev_ids & {r["id"] for r in _eval_rows()}  # never an eval row
    eval_questions = {r["question"] for r in _eval_rows()}
    assert not {r["question"] for r in split.dev} & eval_questions
    assert not {r["question"] for r in split.dev} & {r["question"] for r in split.train}  # no dev question trained on
    kept = {r["fact_id"] for r in split.train}
    assert set(split.dev_facts) <= kept  # each dev fact keeps a phrasing in training, as eval facts do
    assert dev_split(train, 0.2, seed=1234) == split and dev_split(train, 0.2, seed=7).dev != split.dev


def test_fact_split_shares_no_fact_between_training_and_dev():
    rows = _rows()
    split = dev_split(rows, 0.25, seed=0, by="fact")
    dev_facts = {r["fact_id"] for r in split.dev}
    assert dev_facts == set(split.dev_facts) and len(dev_facts) == round(0.25 * 30)
    assert not dev_facts & {r["fact_id"] for r in split.train}  # no fact leaks
    assert len(split.dev) == 2 * len(dev_facts)
    assert split.summary()["dev_questions"] == len(split.dev)


def test_split_edges_are_one_clear_message():
    with pytest.raises(HarnessError, match="dev_by=fact"):
        dev_split(_rows(per_fact=1), 0.2, seed=0)  # nothing to hold out a paraphrase of
    with pytest.raises(HarnessError, match="fewer than two facts"):
        dev_split(_rows(n_facts=1), 0.2, seed=0, by="fact")
    assert len(dev_split(_rows(n_facts=2), 0.01, seed=0).dev) == 1  # at least one dev fact
    assert len(dev_split(_rows(n_facts=2), 0.99, seed=0, by="fact").train) == 2  # at least one training fact


FT = {"epochs": [3, 8], "lr": [1e-3, 2e-3]}


def test_tune_config_is_one_budget_for_both_arms():
    tune = tune_settings(FT, None, tunes_ft=True, has_rag=True)
    assert tune.ft_grid == [{"epochs": 3.0, "lr": 1e-3}, {"epochs": 3.0, "lr": 2e-3},
                            {"epochs": 8.0, "lr": 1e-3}, {"epochs": 8.0, "lr": 2e-3}]
    assert tune.rag_grid == [{"kind": "bm25", "top_k": 1}, {"kind": "dense", "top_k": 1},
                             {"kind": "bm25", "top_k": 3}, {"kind": "dense", "top_k": 3}]  # the default grid
    assert (tune.dev_share, tune.dev_by) == (0.2, "paraphrase")
    assert tune_settings(None, None, tunes_ft=True, has_rag=True) is None  # off by default
    alone = tune_settings(FT, None, tunes_ft=True, has_rag=False)
    assert alone.rag_grid == [] and "kinds" not in alone.to_dict()  # closed book only: FT is tuned alone
    two = tune_settings({"epochs": [1, 2], "lr": 2e-3}, {"kinds": ["dense", "bm25"], "top_k": [1]},
                        tunes_ft=True, has_rag=True)
    assert len(two.ft_grid) == len(two.rag_grid) == 2


@pytest.mark.parametrize("ft, rag, extra, message", [
    ({"epochs": [3, "x"], "lr": [1e-3]}, None, {}, r"finetune\.tune\.epochs='x': expected a number"),
    ({"epochs": [], "lr": [1e-3]}, None, {}, r"finetune\.tune\.epochs=\[\]"),
    ({"epochs": [3], "lr": [-1]}, None, {}, r"finetune\.tune\.lr=\[-1\]"),
    ({"epochs": [3], "lr": [1e-3], "dev_share": 1.5}, None, {}, r"finetune\.tune\.dev_share=1\.5"),
    ({"epochs": [3], "lr": [1e-3], "dev_by": "doc"}, None, {}, r"finetune\.tune\.dev_by='doc'"),
    ({"epochs": [3], "lr": [1e-3], "steps": 2}, None, {}, r"finetune\.tune: unknown setting\(s\) \['steps'\]"),
    ({"epochs": [3]}, None, {}, r"finetune\.tune: expected epochs and lr"),
    ("fast", None, {}, r"finetune\.tune='fast': expected a mapping"),
    (FT, {"kinds": ["dense"], "top_k": [1]}, {}, r"retriever\.tune: 1 retriever settings .* finetune\.tune has 4"),
    (FT, {"kinds": ["faiss", "bm25"], "top_k": [1, 3]}, {}, r"retriever\.tune\.kinds"),
    (FT, {"kinds": ["dense", "bm25"], "top_k": [0, 3]}, {}, r"retriever\.tune\.top_k"),
    (None, {"kinds": ["dense"], "top_k": [1]}, {}, r"retriever\.tune is set but finetune\.tune is not"),
    (FT, None, {"tunes_ft": False}, r"finetune\.tune is set but the grid has no ft condition"),
    (FT, {"kinds": ["dense"], "top_k": [1]}, {"has_rag": False}, r"retriever\.tune is set but the grid has no RAG"),
])
def test_bad_tune_config_names_the_field(ft, rag, extra, message):
    with pytest.raises(HarnessError, match=message):
        tune_settings(ft, rag, **({"tunes_ft": True, "has_rag": True} | extra))


def test_recall_settings_default_and_errors():
    assert RecallSettings.from_dict(None) == RecallSettings(60, 0.9) and RecallSettings().is_default
    assert RecallSettings.from_dict({"warn_below": 0.8}).warn_below == 0.8
    for bad, message in [({"n": 0}, r"finetune\.recall\.n=0"), ({"warn_below": 2}, r"finetune\.recall\.warn_below=2"),
                         ({"size": 3}, r"finetune\.recall: unknown")]:
        with pytest.raises(HarnessError, match=message):
            RecallSettings.from_dict(bad)


def _trials(arm: str, scores: list[float], key: str = "x") -> list[Trial]:
    return [Trial(arm, {key: i}, s, 20) for i, s in enumerate(scores)]


def test_the_pick_is_the_best_dev_score_and_the_first_among_equals():
    trials = _trials("ft", [0.2, 0.6, 0.6, 0.1])
    assert best(trials) is trials[1]
    with pytest.raises(ValueError):
        best([])


def test_verdict_stability_is_the_share_of_setting_pairs_keeping_the_sign():
    ft, rag = _trials("ft", [0.30, 0.50, 0.70]), _trials("rag", [0.40, 0.60])
    # chosen: ft 0.70, rag 0.60 -> FT ahead (sign -1); RAG - FT over the 6 pairs:
    # (0.30: +0.10, +0.30) (0.50: -0.10, +0.10) (0.70: -0.30, -0.10) -> 3 of 6 negative
    assert stability(ft, rag, best(ft), best(rag)) == pytest.approx(3 / 6)
    assert stability(ft, [], best(ft), best(rag)) is None
    tied = _trials("ft", [0.5]), _trials("rag", [0.5, 0.7])
    assert stability(*tied, tied[0][0], tied[1][0]) == pytest.approx(1 / 2)  # a tie only counts ties


def test_tuning_record_and_its_line():
    ft = [Trial("ft", {"epochs": e, "lr": lr}, s, 24) for (e, lr), s in
          zip([(3, 1e-3), (3, 2e-3), (8, 1e-3), (8, 2e-3)], [0.10, 0.30, 0.40, 0.55])]
    rag = [Trial("rag", {"kind": k, "top_k": t}, s, 24) for (t, k), s in
           zip([(1, "bm25"), (1, "dense"), (3, "bm25"), (3, "dense")], [0.50, 0.80, 0.45, 0.60])]
    grid = {"epochs": [3, 8], "lr": [1e-3, 2e-3], "kinds": ["bm25", "dense"], "top_k": [1, 3]}
    tuning = Tuning(ft, rag, grid, {"by": "paraphrase", "dev_questions": 24, "dev_facts": 24})
    record = json.loads(json.dumps(tuning.to_json()))
    assert record["ft"]["chosen"] == {"epochs": 8, "lr": 2e-3} and record["rag"]["chosen"] == {"kind": "dense", "top_k": 1}
    assert record["dev_leader"] == "rag"
    # RAG ahead at the chosen pair; RAG − FT > 0 in every pair but bm25 top_k 3 (0.45) and bm25 top_k 1
    # (0.50) against epochs 8, lr 2e-3 (0.55): 14 of 16
    assert record["verdict_stability"] == pytest.approx(14 / 16)
    (line,) = arms.tuning_line({"tuning": record})
    assert line.startswith("Tuning: FT 4 trials (epochs∈{3,8} × lr∈{1e-3,2e-3}) → epochs 8, lr 2e-3 (dev 0.55); "
                           "RAG 4 trials (top_k∈{1,3} × {bm25,dense}) → dense top_k 1 (dev 0.80); "
                           "verdict stability 88% (")
    assert "14 of the 16 (FT, RAG) setting pairs" in line and "24 training questions of 24 facts" in line
    assert arms.tuning_line({}) == [] and arms.lines({"tuning": record}) == [line]


def _compose(*overrides: str) -> dict:
    from hydra import compose, initialize_config_dir
    from omegaconf import OmegaConf

    with initialize_config_dir(config_dir=str(REPO / "conf"), version_base=None):
        return OmegaConf.to_container(compose("config", overrides=["+exp=agri", *overrides]), resolve=True)


def test_tuning_is_off_by_default_and_hashes_as_before():
    from harness import spec

    plain = spec.from_config(_compose())
    assert plain.tune is None and "tune" not in plain.finetune.raw and "tune" not in plain.retriever.raw
    assert "recall" not in plain.finetune.raw and "tune" not in plain.to_dict()
    tuned = spec.from_config(_compose("finetune.tune={epochs:[3,8],lr:[1e-3,2e-3]}"))
    assert tuned.tune is not None and len(tuned.tune.rag_grid) == 4 and tuned.hash != plain.hash
    assert spec.from_config(_compose("finetune.recall.warn_below=0.8")).hash != plain.hash
    with pytest.raises(HarnessError, match=r"finetune\.tune\.dev_share"):
        spec.from_config(_compose("finetune.tune={epochs:[3],lr:[1e-3],dev_share:0}"))


def test_after_tuning_the_rag_conditions_run_on_the_chosen_retriever(monkeypatch):
    import harness.tuning
    from harness import pipeline, spec

    asked = spec.from_config(_compose("finetune.tune={epochs:[3,8],lr:[1e-3]}",
                                      "retriever.tune={kinds:[dense,bm25],top_k:[2]}", "reference=base+dense"))
    chosen = Tuning([Trial("ft", {"epochs": 8.0, "lr": 1e-3}, 0.4, 5), Trial("ft", {"epochs": 3.0, "lr": 1e-3}, 0.1, 5)],
                    [Trial("rag", {"kind": "dense", "top_k": 2}, 0.2, 5), Trial("rag", {"kind": "bm25", "top_k": 2}, 0.6, 5)],
                    asked.tune.to_dict(), {})
    monkeypatch.setattr(harness.tuning, "tune_arms", lambda *a, **k: chosen)
    tuning, grid = pipeline.tune_arms(asked, None, None, None, pipeline.Timer())
    assert tuning is chosen and (grid.retriever.kind, grid.retriever.top_k) == ("bm25", 2)
    assert [c.name for c in grid.conditions] == ["base", "base+bm25", "ft", "ft+bm25"]
    assert grid.reference == "base+bm25" and grid.retriever.retriever.embedder == asked.retriever.retriever.embedder
    untuned = spec.from_config(_compose())
    assert pipeline.tune_arms(untuned, None, None, None, pipeline.Timer()) == (None, untuned)


@pytest.mark.slow
def test_tiny_tuned_run_reports_recall_and_both_arms_trials(tmp_path, session_cache, smollm2):
    """Two trials per arm on one agri document (one optimizer step per trial): the manifest holds
    the trials, the chosen settings and the final adapter's training-set recall; the leaderboard
    says so under the Decision."""
    proc = harness("run", "+exp=agri", "suite.n_docs=1", "eval.limit=3", "history_db=",
                   "conditions=[{adaptation: base, rag: true}, {adaptation: ft, rag: false}]",
                   "finetune.tune={epochs:[1],lr:[1e-3,2e-3]}", "retriever.tune={kinds:[dense,bm25],top_k:[1]}",
                   f"results_dir={tmp_path}", cache=session_cache, timeout=1500)
    assert proc.returncode == 0, proc.stderr[-4000:]
    run = only_run(tmp_path)
    block = json.loads((run / "manifest.json").read_text())["arms"]
    tuning, recall = block["tuning"], block["training_recall"]["ft"]["0"]
    assert [t["settings"]["lr"] for t in tuning["ft"]["trials"]] == [1e-3, 2e-3]
    assert [t["settings"]["kind"] for t in tuning["rag"]["trials"]] == ["dense", "bm25"]
    assert tuning["dev"]["dev_questions"] >= 1 and 0.0 <= tuning["verdict_stability"] <= 1.0
    assert all(0.0 <= t["dev_score"] <= 1.0 for t in tuning["ft"]["trials"] + tuning["rag"]["trials"])
    first = read_jsonl(AGRI / "corpus.jsonl")[0]["id"]
    assert recall["n"] == min(60, sum(r.get("doc_id") in (None, first) for r in read_jsonl(AGRI / "train.jsonl")))
    assert 0.0 <= recall["ci_low"] <= recall["recall"] <= recall["ci_high"] <= 1.0
    board = (run / "leaderboard.md").read_text()
    assert "FT training-set recall" in board and "Tuning: FT 2 trials (epochs∈{1} × lr∈{1e-3,2e-3})" in board
    assert "FT training-set recall" in proc.stdout
    chosen = tuning["rag"]["chosen"]["kind"]
    assert f"base+{chosen}" in board  # the RAG conditions ran on the retriever the trials chose


def test_an_untuned_run_states_the_one_setting_each_arm_got() -> None:
    from harness.decision.arms import lines

    block = {"settings": {"ft": {"epochs": 3, "lr": 0.001}, "rag": {"kind": "dense", "top_k": 1}}}
    (line,) = lines(block)
    assert "Tuning: none" in line and "FT 1 setting (epochs 3, lr 1e-3)" in line and "RAG 1 setting (dense top_k 1)" in line
    assert lines({"settings": {"ft": {"epochs": 3, "lr": 0.001}, "rag": {"kind": "none"}}})[0].count("setting (") == 1
    assert lines({}) == []
