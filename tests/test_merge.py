"""`merge`: one leaderboard across run folders (a sweep), on copies of the committed agri run.

The baseline run folder is real `run` output (metrics.json, manifest.json, samples/); a second
run is derived from it as a BM25 job of the same sweep would look (retriever kind, condition
names, retrieval metrics and RAG task data differ; suite, eval settings and questions do not).
No model runs here: merge only reads run folders.
"""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from harness.errors import HarnessError
from harness.report import compare, merge
from harness.report.runs import find_runs
from tests.conftest import REPO, harness

BASELINE = REPO / "results" / "baselines" / "agri_full"  # the whole suite: 150 open + 120 MC questions


def _rewrite(path: Path, edit) -> None:
    data = json.loads(path.read_text())
    edit(data)
    path.write_text(json.dumps(data, indent=1))


def _as_bm25(run: Path) -> None:
    """Turn a copy of the dense baseline into what the sweep's bm25 job writes."""
    def manifest(m):
        m["spec"]["retriever"] = {"kind": "bm25", "top_k": 1, "bm25_k1": 1.5, "bm25_b": 0.75, "budget_tokens": 512,
                                  "chunking": "none", "chunk_size": 128, "chunk_overlap": 16}
        for cond in m["spec"]["conditions"]:
            cond["name"] = cond["name"].replace("dense", "bm25")
            cond["retriever"] = cond["retriever"].replace("dense", "bm25")
        m["hashes"]["task_data_sha256"] = {k.replace("dense", "bm25"): ("0" * 64 if "bm25" in k.replace("dense", "bm25")
                                                                        else v)
                                           for k, v in m["hashes"]["task_data_sha256"].items()}
        m["spec_hash"] = "b" * 64

    def metrics(m):
        m["conditions"] = {k.replace("dense", "bm25"): v for k, v in m["conditions"].items()}
        m["retrieval_metrics"] = {k.replace("dense", "bm25"): dict(v, **{"recall@1": 0.5, "mrr@1": 0.5})
                                  for k, v in m["retrieval_metrics"].items()}
        m.pop("extra", None)

    _rewrite(run / "manifest.json", manifest)
    _rewrite(run / "metrics.json", metrics)
    for folder in (run / "samples").glob("*dense*"):
        folder.rename(folder.with_name(folder.name.replace("dense", "bm25")))
    # bm25 misses the first 30 MC questions in this made-up run
    path = run / "samples" / "base+bm25" / "agri_mc.jsonl"
    rows = [json.loads(line) for line in path.read_text().splitlines() if line]
    for row in rows[:30]:
        row["scores"] = dict(row["scores"], acc=0.0)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))


@pytest.fixture()
def sweep(tmp_path: Path) -> Path:
    """results/agri_full/ of a two-job sweep: a dense run and a bm25 run (+ a run still being written)."""
    root = tmp_path / "results" / "agri_full"
    shutil.copytree(BASELINE, root / "20260101-000000-aaaa")
    shutil.copytree(BASELINE, root / "20260101-000100-bbbb")
    _as_bm25(root / "20260101-000100-bbbb")
    (root / ".20260101-000200-cccc.tmp").mkdir()
    shutil.copy(BASELINE / "metrics.json", root / ".20260101-000200-cccc.tmp" / "metrics.json")
    return root


def _merge(args: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = merge.main([str(a) for a in args], out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def test_merge_labels_rows_by_what_differs_and_puts_retrieval_beside_answers(sweep: Path, tmp_path: Path) -> None:
    out = tmp_path / "merged"
    code, printed, err = _merge([sweep, "--out", out])
    assert code == 0, err
    csv = pd.read_csv(out / "leaderboard.csv", index_col="condition")
    # 4 conditions per run; only retriever.kind differs (bm25 has no embedder/index: not news)
    assert list(csv.index) == [f"retriever=dense · {c}" for c in ("base", "base+dense", "ft", "ft+dense")] + \
        [f"retriever=bm25 · {c}" for c in ("base", "base+bm25", "ft", "ft+bm25")]
    assert list(csv["spec:retriever.kind"]) == ["dense"] * 4 + ["bm25"] * 4
    # answer metrics with CIs equal each run's own leaderboard
    own = pd.read_csv(BASELINE / "leaderboard.csv", index_col="condition")
    for cond in ("base", "base+dense", "ft+dense"):
        for col in ("agri_qa/correct", "agri_qa/correct_ci_low", "agri_mc/acc_ci_high", "mean"):
            assert csv.loc[f"retriever=dense · {cond}", col] == pytest.approx(own.loc[cond, col], abs=1e-5)
    rows = [json.loads(x) for x in (sweep / "20260101-000100-bbbb/samples/base+bm25/agri_mc.jsonl").open()]
    bm25_acc = sum(r["scores"]["acc"] for r in rows) / len(rows)
    assert bm25_acc < own.loc["base+dense", "agri_mc/acc"] - 0.2
    assert csv.loc["retriever=bm25 · base+bm25", "agri_mc/acc"] == pytest.approx(bm25_acc)
    # deltas against the first run's reference, paired across runs (same questions)
    ref = "delta_vs_retriever=dense · base"
    assert csv.loc["retriever=bm25 · base", ref] == pytest.approx(0.0)
    assert csv.loc["retriever=bm25 · base+bm25", "agri_mc/acc_delta"] == pytest.approx(
        bm25_acc - own.loc["base", "agri_mc/acc"], abs=1e-5)
    assert csv.loc["retriever=bm25 · base+bm25", "agri_mc/acc_delta_p"] < 0.05
    # retrieval metrics per retriever, empty for closed book
    recall = json.loads((BASELINE / "metrics.json").read_text())["retrieval_metrics"]["agri_qa__dense"]["recall@1"]
    assert csv.loc["retriever=dense · base+dense", "retrieval:agri_qa:recall@k"] == pytest.approx(recall, abs=1e-4)
    assert csv.loc["retriever=bm25 · ft+bm25", "retrieval:agri_mc:mrr@k"] == 0.5
    assert csv.loc["retriever=bm25 · ft+bm25", "retrieval:top_k"] == 1
    assert pd.isna(csv.loc["retriever=dense · ft", "retrieval:agri_qa:recall@k"])
    md = (out / "leaderboard.md").read_text()
    header = md.splitlines()[0]
    assert header.index("agri_qa/correct") < header.index("Δ mean vs") < header.index("agri_qa recall@k")
    assert "| retriever=bm25 · ft+bm25 " in md and "0.500" in md and "**Runs**" in md
    assert "20260101-000200-cccc" not in md  # the run still being written is not merged
    assert printed.startswith(md.splitlines()[0])
    # the merged csv is a leaderboard compare can read: primary columns only from <task>/<metric>
    data = compare.load(out / "leaderboard.csv")
    assert data.primary == {"agri_mc": "acc", "agri_qa": "correct"}
    assert json.loads((out / "merge.json").read_text())["differing_keys"] == ["retriever.kind"]


def test_merge_refuses_runs_over_other_data_unless_forced(sweep: Path, tmp_path: Path) -> None:
    other = sweep / "20260101-000300-dddd"
    shutil.copytree(BASELINE, other)

    def edit(m):
        m["spec"]["eval"]["limit"] = 20
        m["hashes"]["task_data_sha256"]["agri_qa__closed"] = "1" * 64

    _rewrite(other / "manifest.json", edit)
    code, _, err = _merge([sweep, "--out", tmp_path / "m1"])
    assert code == 2 and "not comparable" in err
    assert "eval.limit: null vs 20" in err and "task data hash of agri_qa__closed" in err
    assert not (tmp_path / "m1").exists()
    code, _, err = _merge([sweep, "--out", tmp_path / "m2", "--force"])
    assert code == 0 and "merged despite" in err
    labels = pd.read_csv(tmp_path / "m2" / "leaderboard.csv", index_col="condition").index
    assert "eval.limit=20 retriever=dense · base" in labels and "eval.limit=null retriever=bm25 · ft" in labels


def test_a_hydra_multirun_folder_selects_its_jobs_runs(sweep: Path, tmp_path: Path) -> None:
    """results/.hydra/multirun-<time>/<job>/.hydra/config.yaml ↔ the run folder with that config."""
    import yaml

    configs = []
    for name, kind in (("20260101-000000-aaaa", "dense"), ("20260101-000100-bbbb", "bm25")):
        cfg = yaml.safe_load((sweep / name / "config.yaml").read_text())
        cfg["results_dir"], cfg["retriever"]["kind"] = "results", kind
        (sweep / name / "config.yaml").write_text(yaml.safe_dump(cfg))
        configs.append(cfg)
    shutil.copytree(sweep / "20260101-000000-aaaa", sweep / "20251231-230000-old0")  # an earlier, identical run
    multirun = sweep.parent / ".hydra" / "multirun-20260101-000000"
    for job, cfg in enumerate(configs + [dict(configs[0], seed=99)]):  # job 2 failed: no run folder
        (multirun / str(job) / ".hydra").mkdir(parents=True)
        (multirun / str(job) / ".hydra" / "config.yaml").write_text(yaml.safe_dump(cfg))
    (multirun / "multirun.yaml").write_text("hydra: {}\n")
    assert [p.name for p in find_runs([multirun])] == ["20260101-000000-aaaa", "20260101-000100-bbbb"]


def test_identical_specs_are_told_apart_by_run_folder(tmp_path: Path) -> None:
    runs = [tmp_path / "r1", tmp_path / "r2"]
    for run in runs:
        shutil.copytree(BASELINE, run)
    merged = merge.merge_runs([merge.load_run(r) for r in runs])
    assert merged.keys == []
    assert list(merged.frame.index[:2]) == ["run=r1 · base", "run=r1 · base+dense"]
    assert "run=r2 · ft+dense" in merged.frame.index


def test_merge_errors_are_clear(tmp_path: Path) -> None:
    with pytest.raises(HarnessError, match="at least two run folders"):
        find_runs([BASELINE])
    (tmp_path / "empty").mkdir()
    with pytest.raises(HarnessError, match="no run folder"):
        find_runs([tmp_path / "empty"])
    with pytest.raises(HarnessError, match="not a merged row"):
        merge.merge_runs([merge.load_run(BASELINE), merge.load_run(BASELINE)], reference="nope")


def test_merge_verb_from_the_command_line(sweep: Path, tmp_path: Path) -> None:
    proc = harness("merge", sweep / "20260101-000000-aaaa", sweep / "20260101-000100-bbbb", "--out", tmp_path / "cli",
                   "--reference", "retriever=bm25 · base+bm25", timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "Δ mean vs retriever=bm25 · base+bm25" in proc.stdout
    assert (tmp_path / "cli" / "leaderboard.csv").is_file()
    help_text = harness("merge", "--help", timeout=60).stdout
    assert "--force" in help_text and "--out" in help_text
