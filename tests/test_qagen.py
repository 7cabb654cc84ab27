"""generate-qa: documents (Markdown, text, JSONL and a PDF written here) → a validated suite.

Content is checked with the deterministic extractive generator through the CLI; the embedded
LLM runs once on one tiny section (only that it runs and reports parsed/unparsable counts);
the OpenAI-compatible generator is checked against an unreachable URL (one clear error, no key).
Both split modes are checked: paraphrase (the default: every eval question a trained fact in a
held-out wording) and transfer (``split.unit=fact``: no eval fact trained).
"""

from __future__ import annotations

import importlib.util
import io
import json
import re
from pathlib import Path

import pytest

from harness.errors import HarnessError
from harness.qagen import run
from harness.qagen.extractive import ExtractiveGenerator
from harness.qagen.filters import FilterReport, FilterSettings, apply_filters, deduplicate
from harness.qagen.generators import QAPair, parse_pairs
from harness.qagen.lexical import jaccard, normalize_text, same_answer, tokens
from harness.qagen.llm import LLMGenerator
from harness.qagen.quality import fluency, measure
from harness.qagen.sections import Section, document_sections, split_sentences
from harness.qagen.split import split_pairs
from harness.suites import load_suite
from tests.conftest import REPO, harness
from tests.test_ingest import make_pdf

MAIZE = """# Maize in the Velmora Plateau

Fields on the Velmora Plateau sit on shallow red loam above 1,400 metres.
Sow maize in mid-October, once the topsoil is moist to a hand's depth.
The recommended maize variety for the Velmora Plateau is Lusk-9.

## Pests and water

Of all pests, the pewter stem borer causes the greatest losses here.
During dry spells, apply irrigation every 27 days.
Keep records of planting dates and yields to compare seasons.

## Summary

Sow maize in mid-October, once the topsoil is moist to a hand's depth.
"""

ORCHARDS = """Orchard Notes

Growers rent bee hives each February to pollinate almonds. Coffee is grown in the Kestrel Highlands.
Blueberries need acidic soil, pH 4.5 to 5.5. Merino sheep yield five kilograms of wool.

Keep records of planting dates and yields to compare seasons.
"""

MEASURES = ("relevance", "global_relevance", "coverage", "overlap", "diversity", "detail", "fluency")


@pytest.fixture
def docs(tmp_path: Path) -> Path:
    root = tmp_path / "docs"
    (root / "guides").mkdir(parents=True)
    (root / "maize.md").write_text(MAIZE)
    (root / "orchards.txt").write_text(ORCHARDS)
    (root / "guides" / "tomato.pdf").write_bytes(make_pdf(
        ["Tomato Blight", "Late blight browns tomato leaves in wet weather.",
         "Spray copper fungicide every 10 days during wet spells."], title="Tomato blight"))
    (root / "rice.jsonl").write_text(json.dumps(
        {"id": "rice-01", "title": "Rice", "text": "Transplant rice seedlings in late June. Flooded rice fields "
                                                    "release methane."}) + "\n")
    return root


def _near(a: str, b: str) -> float:
    return jaccard(set(tokens(a)), set(tokens(b)))


def assert_paraphrase_split(train: list[dict], evals: list[dict]) -> None:
    """Every eval question asks a trained fact (its fact_id has a training row with its answer) in
    words of its own: not equal, and below the near-duplicate threshold, to each of its fact's rows."""
    by_fact: dict[str, list[dict]] = {}
    for row in train:
        by_fact.setdefault(row["fact_id"], []).append(row)
    assert evals and len({r["fact_id"] for r in evals}) == len(evals)  # one held-out wording per fact
    for row in evals:
        siblings = by_fact[row["fact_id"]]
        assert any(same_answer(t["answer"], row["answer"]) for t in siblings), row
        assert all(normalize_text(t["question"]) != normalize_text(row["question"]) for t in siblings)
        assert all(_near(t["question"], row["question"]) < 0.8 for t in siblings), row


def _jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


# ----------------------------------------------------------------------------- the verb, end to end


def test_generate_qa_writes_a_valid_suite_with_quality(docs, tmp_path):
    out = tmp_path / "agri_generated"
    proc = harness("generate-qa", f"source={docs}", f"out={out}",  # the default generator: extractive, offline
                   "filters.max_question_words=16", timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "quality (embedding cosine" in proc.stdout and "relevance" in proc.stdout
    assert "generator extractive: rule-based questions" in proc.stdout and "favours retrieval" in proc.stdout
    assert "generate with a real model: generator=openai" in proc.stdout  # what to use for a suite that decides

    suite = load_suite(out, out.parent)  # the loader's validation: ids, gold ids, task YAML, leakage
    assert suite.name == "agri_generated" and [t.name for t in suite.tasks] == ["agri_generated_qa"]
    assert {d["id"] for d in suite.corpus} == {"maize.md", "orchards.txt", "guides/tomato.pdf", "rice-01"}

    report = json.loads((out / "qa_quality.json").read_text())
    measures = report["measures"]
    assert all(m in measures for m in MEASURES)
    assert 0 < measures["relevance"] <= 1 and 0 < measures["global_relevance"] <= 1
    assert 0.5 < measures["coverage"]["sections"] <= 1.0 and 0.5 < measures["coverage"]["sentences"] <= 1.0
    assert measures["overlap"]["answer"] == 1.0  # extractive answers are spans of the section
    assert 0 < measures["diversity"]["distinct_2"] <= 1 and measures["fluency"] > 0.9
    # the summary repeats a sentence, so its questions come twice: removed as duplicates
    assert report["filters"]["duplicates"]["exact"] >= 1
    # long fill-in-the-blank questions exceed max_question_words=16 and are counted
    assert report["filters"]["filtered"]["question_length"] >= 1
    counts = report["counts"]
    assert counts["kept"] == counts["generated"] - sum(report["filters"]["filtered"].values()) - sum(
        report["filters"]["duplicates"].values())
    assert report["split"]["train"] + report["split"]["eval"] == counts["kept"] == len(suite.train) + len(
        suite.tasks[0].rows)

    rows = suite.train + suite.tasks[0].rows
    pairs = {(r["question"], r["answer"]) for r in rows}
    # a question that does not name its document's subject gets the document title in front
    assert ("Maize in the Velmora Plateau — When should you sow maize?", "mid-October") in pairs
    assert ("What is the recommended maize variety for the Velmora Plateau?", "Lusk-9") in pairs
    assert ("Maize in the Velmora Plateau — How often should you apply irrigation during dry spells?",
            "every 27 days") in pairs
    assert ("Orchards — What do blueberries need?", "acidic soil") in pairs
    assert ("Tomato blight — How often should you spray copper fungicide during wet spells?",
            "every 10 days") in pairs  # the PDF
    assert ("When should you transplant rice seedlings?", "late June") in pairs  # the JSONL row
    # several wordings of one question, the rule's own first ("passive", "blanked")
    assert ("Orchards — What is needed by blueberries?", "acidic soil") in pairs
    assert ("At what time of year is it recommended to transplant rice seedlings?", "late June") in pairs
    # the default split is paraphrase: each eval question is a trained fact asked in held-out words
    assert_paraphrase_split(suite.train, suite.tasks[0].rows)
    split = report["split"]
    assert split["mode"] == "paraphrase" and split["unit"] == "paraphrase" and suite.split_mode == "paraphrase"
    assert split["eval"] == split["eval_groups"] and split["eval_near_identical_to_own_fact"] == 0
    assert split["facts_with_phrasings"] + split["facts_single_phrasing"] + split[
        "facts_near_identical_phrasings"] == split["groups"]
    assert split["facts_single_phrasing"] >= 1  # fill-in-the-blank-only sentences: one wording, train only
    assert "split: paraphrase (every eval question asks a trained fact in new words)" in proc.stdout
    assert "split: {mode: paraphrase, unit: paraphrase}" in (out / "suite.yaml").read_text()
    card = (out / "README.md").read_text()
    assert "Split: paraphrase (every eval question asks a trained fact in new words)" in card
    assert f"{split['facts_single_phrasing']} facts with one phrasing" in card
    for row in suite.tasks[0].rows:
        assert row["gold_ids"] == [row["section_id"].split("#")[0]] and row["context"] == ""

    # the task code is the agri suite's, and its loader and scorer work on the generated rows
    agri_utils = (REPO / "tasks" / "agri" / "utils.py").read_text()
    assert (out / "utils.py").read_text().endswith(agri_utils)
    spec = importlib.util.spec_from_file_location("generated_utils", out / "utils.py")
    utils = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(utils)
    data = utils.load_qa()["test"]
    assert len(data) == len(suite.tasks[0].rows)
    assert utils.process_qa(data[0], [f"It is {data[0]['answer']}."])["contains"] == 1.0
    assert (out / "README.md").is_file() and not list(tmp_path.glob(".*.tmp"))


def test_transfer_split_keeps_every_fact_on_one_side(docs, tmp_path):
    """split.unit=fact: the transfer mode, as before paraphrase existed — no fact on both sides."""
    out = tmp_path / "transfer"
    report = run({"source": str(docs), "out": str(out), "generator": {"kind": "extractive"},
                  "quality": {"similarity": "lexical"}, "split": {"unit": "fact"}}, stream=io.StringIO())
    suite = load_suite(out, out.parent)
    train_facts, eval_facts = {r["fact_id"] for r in suite.train}, {r["fact_id"] for r in suite.tasks[0].rows}
    assert train_facts and eval_facts and not train_facts & eval_facts
    assert report["split"]["mode"] == "transfer" and suite.split_mode == "transfer"
    assert "facts_single_phrasing" not in report["split"]
    assert "split: {mode: transfer, unit: fact}" in (out / "suite.yaml").read_text()
    card = (out / "README.md").read_text()
    assert "Split: transfer (eval facts were never trained)" in card and "no eval fact is trained on" in card


def test_same_documents_give_the_same_suite(docs, tmp_path):
    base = {"source": str(docs), "generator": {"kind": "extractive"}, "quality": {"similarity": "lexical"}}
    for name in ("a", "b"):
        run({**base, "out": str(tmp_path / name), "name": "same"}, stream=io.StringIO())
    for rel in ("corpus.jsonl", "train.jsonl", "eval/qa.jsonl", "suite.yaml", "same_qa.yaml", "utils.py"):
        assert (tmp_path / "a" / rel).read_bytes() == (tmp_path / "b" / rel).read_bytes()
    with pytest.raises(HarnessError, match="already exists"):
        run({**base, "out": str(tmp_path / "a")})
    printed = io.StringIO()
    run({**base, "out": str(tmp_path / "a"), "overwrite": True}, stream=printed)
    assert "fluency" in printed.getvalue() and load_suite(tmp_path / "a", tmp_path).name == "a"


@pytest.mark.parametrize(
    ("setup", "args", "message"),
    [
        ("empty", [], r"holds no documents"),
        ("broken_pdf", [], r"broken\.pdf: unreadable PDF"),
        ("docs", ["out=<docs>/suite"], r"lies inside source"),
        ("docs", ["out=<existing>", "overwrite=true"], r"was not written by generate-qa"),
        ("nosource", [], r"needs source="),
        ("docs", ["split.unit=sentence"], r"split\.unit is 'sentence'; expected one of paraphrase, fact, section, "
                                          r"document \(paraphrase: .*transfer"),
        ("docs", ["generator.phrasings=9"], r"generator\.phrasings is 9; expected a whole number from 1 to 5"),
    ],
)
def test_bad_input_is_one_clear_error(tmp_path, docs, setup, args, message):
    folder = tmp_path / "in"
    folder.mkdir()
    if setup == "broken_pdf":
        (folder / "broken.pdf").write_bytes(b"%PDF-1.4\nnot really a pdf")
    if setup == "docs":
        folder = docs
    (tmp_path / "existing").mkdir()
    argv = [] if setup == "nosource" else [f"source={folder}"]
    argv += [a.replace("<docs>", str(docs)).replace("<existing>", str(tmp_path / "existing")) for a in args]
    if not any(a.startswith("out=") for a in argv):
        argv.append(f"out={tmp_path / 'out'}")
    proc = harness("generate-qa", *argv, "generator=extractive", "quality.similarity=lexical", timeout=300)
    assert proc.returncode == 2
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and re.search(message, errors[0]), proc.stderr
    assert "Traceback" not in proc.stderr and not (tmp_path / "out").exists()


def test_llm_generator_runs_and_reports_parse_counts(tmp_path, smollm2):
    root = tmp_path / "tiny"
    root.mkdir()
    (root / "maize.md").write_text("# Maize\n\nSow maize in mid-October. The best maize variety here is Lusk-9.\n")
    proc = harness("generate-qa", f"source={root}", f"out={tmp_path / 'out'}", "generator=smollm2", "sections.limit=1",
                   "generator.max_new_tokens=40", "generator.threads=1", "quality.similarity=lexical", timeout=300)
    text = proc.stdout + proc.stderr
    found = re.search(r"(\d+) pairs \((\d+) outputs, (\d+) unparsable", text) or re.search(
        r"of (\d+) parsed pairs kept \((\d+) outputs, (\d+) unparsable", text)
    assert found, text
    parsed, outputs, unparsable = map(int, found.groups())
    assert outputs == 1 and unparsable in (0, 1) and (parsed == 0) == (unparsable == 1)
    if proc.returncode == 0:  # enough usable pairs: a real suite
        report = json.loads((tmp_path / "out" / "qa_quality.json").read_text())
        assert report["counts"]["outputs"] == 1 and report["generator"].startswith("llm[hf:")
    else:  # too few: one clear error that still reports what was parsed
        assert proc.returncode == 2 and "Traceback" not in proc.stderr


@pytest.mark.parametrize("client", ["auto", "urllib"])
def test_unreachable_endpoint_fails_once_without_the_key(docs, tmp_path, client):
    secret = "sk-test-DO-NOT-PRINT-4242"
    env = {"QAGEN_TEST_KEY": secret}
    proc = harness("generate-qa", f"source={docs}", f"out={tmp_path / 'out'}", "generator=openai",
                   "generator.base_url=http://127.0.0.1:9/v1", "generator.model=some-model",
                   "generator.api_key_env=QAGEN_TEST_KEY", "generator.max_retries=0", "generator.timeout_s=5",
                   f"generator.client={client}", "quality.similarity=lexical", env=env, timeout=300)
    assert proc.returncode == 2
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "cannot reach http://127.0.0.1:9/v1" in errors[0], proc.stderr
    assert secret not in proc.stdout + proc.stderr and "Traceback" not in proc.stderr
    unset = harness("generate-qa", f"source={docs}", f"out={tmp_path / 'out'}", "generator=openai", "generator.model=m",
                    "generator.api_key_env=QAGEN_UNSET_VARIABLE", env=env, timeout=300)
    assert unset.returncode == 2 and "QAGEN_UNSET_VARIABLE, which is not set" in unset.stderr


# ----------------------------------------------------------------------------- the pieces


def test_sections_keep_structure():
    pdf_text = "Irrigation Guide\nDrip lines water the roots directly and save water in dry irri-\ngation seasons.\n" \
               "Harvest Timing\nHarvest when the kernels dent, e.g. in late summer. Dr. Okafor agrees."
    sections, _ = document_sections({"id": "g.pdf", "text": pdf_text, "source": "/x/g.pdf"}, min_words=3)
    assert [s.heading for s in sections] == ["Irrigation Guide", "Harvest Timing"]
    assert sections[0].sentences == ("Drip lines water the roots directly and save water in dry irrigation seasons.",)
    assert sections[1].sentences[-1] == "Dr. Okafor agrees." and sections[1].id == "g.pdf#2"
    md = "# Soil\n\n- Lime raises **pH** slowly.\n- See [the guide](http://x) for rates.\n\n" \
         "| crop | pH |\n|---|---|\n| rice | 6 |\n"
    (section,), _ = document_sections({"id": "s.md", "text": md, "source": "/x/s.md"}, min_words=3)
    assert section.sentences == ("Lime raises pH slowly.", "See the guide for rates.", "crop: rice; pH: 6.")
    assert split_sentences("Apply 4.5 kg per ha. Then water.") == ["Apply 4.5 kg per ha.", "Then water."]


def test_parse_pairs_reads_lines_and_json_and_counts_garbage():
    assert parse_pairs("Q: When to sow?\nA: mid-October\n\n2. Question: Which variety?\nAnswer: Lusk-9") == [
        ("When to sow?", "mid-October"), ("Which variety?", "Lusk-9")]
    assert parse_pairs("Q1: When to sow? A: In mid-October.") == [("When to sow?", "In mid-October")]
    assert parse_pairs('Sure!\n```json\n[{"question": "When?", "answer": "May"}]\n```') == [("When?", "May")]
    assert parse_pairs('{"questions": [{"Q": "Which pest?", "A": "stem borer"}]}') == [("Which pest?", "stem borer")]
    assert parse_pairs("The text is about maize.") == [] and parse_pairs('[{"question": "no answer"}]') == []


def test_filters_and_dedup_count_every_drop():
    section = Section("d#1", "d", "t", "", ("Sow maize in mid-October.", "The best maize is maize."))
    pairs = [
        QAPair("When should you sow maize?", "mid-October", "d#1", 0, "x"),
        QAPair("When should you sow maize ?", "mid October", "d#1", 0, "x"),  # exact after normalisation
        QAPair("When, exactly, should you sow maize?", "mid-October", "d#1", 0, "x"),  # near duplicate
        QAPair("What is the best maize?", "maize", "d#1", 1, "x"),  # answer in question
        QAPair("Which pest attacks maize?", "the fall armyworm", "d#1", 0, "x"),  # not in the section
        QAPair("When?", "mid-October", "d#1", 0, "x"),  # question too short
    ]
    report = FilterReport()
    settings = FilterSettings()
    kept = deduplicate(apply_filters(pairs, {"d#1": section}, settings, report), settings, report)
    assert [p.question for p in kept] == ["When should you sow maize?"]
    assert report.as_dict() == {"filtered": {"question_length": 1, "answer_length": 0, "answer_in_question": 1,
                                             "answer_unsupported": 1}, "duplicates": {"exact": 1, "near": 1}}


def test_split_keeps_restated_facts_on_one_side():
    a = Section("a#1", "a", "", "", ("Sow maize in mid-October in the Velmora Plateau.", "Plant beans in May."))
    b = Section("b#1", "b", "", "", ("In the Velmora Plateau, sow maize in mid-October.", "Harvest tea in June.",
                                     "Prune coffee in July.", "Lime fields in March."))
    gen = ExtractiveGenerator(max_per_sentence=1)
    pairs = gen.generate([a, b]).pairs
    split = split_pairs(pairs, {"a#1": a, "b#1": b}, name="t", unit="fact", eval_fraction=0.4)
    maize = [(p, f) for p, f in split.train + split.eval if "maize" in p.question]
    assert {p.section_id for p, _ in maize} == {"a#1", "b#1"} and len({f for _, f in maize}) == 1
    train_facts, eval_facts = {f for _, f in split.train}, {f for _, f in split.eval}
    assert split.train and split.eval and not train_facts & eval_facts
    with pytest.raises(HarnessError, match="one fact group"):
        split_pairs(pairs[:1], {"a#1": a, "b#1": b}, name="t", unit="fact")


def test_paraphrase_split_holds_out_one_wording_per_fact():
    sections = {"a#1": Section("a#1", "a", "", "", (
        "Sow maize in mid-October.", "Blueberries need acidic soil.", "Prune coffee in July.",
        "Growers rent bee hives each February.", "Late blight browns tomato leaves in wet weather."))}
    gen = ExtractiveGenerator(phrasings=3)
    pairs = gen.generate(list(sections.values())).pairs
    wordings = [p.question for p in pairs if p.answer == "mid-October"]
    assert wordings[:2] == ["When should you sow maize?", "At what time of year is it recommended to sow maize?"]
    assert len(wordings) == 3 and ExtractiveGenerator(phrasings=1).questions("Sow maize in mid-October.", set())[0][0][0] \
        == wordings[0]
    split = split_pairs(pairs, sections, name="t", eval_fraction=0.5)  # the default unit: paraphrase
    rows = [[{"question": p.question, "answer": p.answer, "fact_id": f} for p, f in side]
            for side in (split.train, split.eval)]
    assert_paraphrase_split(*rows)
    report = split.report
    assert report["mode"] == "paraphrase" and report["eval_groups"] == len(split.eval) == round(0.5 * report["groups"])
    assert report["eval_fact_fraction"] == round(len(split.eval) / report["groups"], 4)
    # the same pairs and seed give the same split; another seed may hold out other wordings
    again = split_pairs(pairs, sections, name="t", eval_fraction=0.5)
    assert [p.question for p, _ in again.eval] == [p.question for p, _ in split.eval]
    single = [p for p in pairs if p.origin == "cloze"]  # one wording each: they only train
    only = split_pairs(single + pairs[:3], sections, name="t", eval_fraction=0.5)
    assert only.report["facts_single_phrasing"] >= 1 and all(p.origin != "cloze" for p, _ in only.eval)
    with pytest.raises(HarnessError, match=r"nothing to hold out \(\d+ with one phrasing.*split\.unit=fact"):
        split_pairs(single, sections, name="t")


def test_llm_prompt_asks_for_phrasings_and_keeps_them_on_one_sentence():
    class Backend:
        name = "fake"

    prompt = {"user": "Text: {text}\nWrite {n} questions, each in {phrasings} wordings."}
    gen = LLMGenerator(Backend(), prompt, per_section=2, phrasings=4)
    section = Section("d#1", "d", "Maize", "", ("Maize likes sun.", "Sow maize in mid-October."))
    assert "each in 4 wordings" in gen.messages(section)[-1]["content"]
    located = gen.located(section, [("When should maize be sown?", "mid-October"),
                                    ("Which month suits maize sowing, in mid-what?", "in mid-October")])
    assert [p.sentence for p in located] == [1, 1]
    with pytest.raises(HarnessError, match="generator.phrasings is 0"):
        LLMGenerator(Backend(), prompt, phrasings=0)


def test_quality_measures_lexical_and_fluency():
    section = Section("d#1", "d", "", "", ("Sow maize in mid-October.", "Growers rent hives each February."))
    pairs = [QAPair("When should you sow maize?", "mid-October", "d#1", 0, "x")]
    m = measure(pairs, [section], similarity="lexical")
    assert m["similarity"] == "lexical TF-IDF cosine" and m["relevance"] > 0.3
    assert m["coverage"] == {"sections": 1.0, "sentences": 0.5} and m["overlap"]["answer"] == 1.0
    assert m["diversity"]["distinct_1"] == 1.0 and m["detail"]["question_words"] == 5.0
    assert fluency("When should you sow maize?") == 1.0 and fluency("the the ### ((") < 0.5
