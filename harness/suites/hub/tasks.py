"""The lm-eval task YAMLs of hub suites, with prompts taken from lm-eval's registered tasks.

Each prompt is one Jinja template: the task YAML's ``doc_to_text`` and, rendered by lm-eval's
own ``apply_template`` with an empty context, the training prompt — so the fine-tuned model is
trained on exactly the prompt shape it is evaluated on. The retrieved context goes in front,
under the heading lm-eval uses where it has one (PubMedQA's ``Abstract:``), else ``Context:``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import yaml

from harness.suites import writer

LETTERS = "ABCDEFGHIJ"


def context_block(heading: str = "Context:") -> str:
    return "{% if context %}" + heading + "\n{{context}}\n\n{% endif %}"


# lm-eval 0.4.13 tasks/medqa/preprocess_medqa.py: "Question: {q}\nA. {a}\n...Answer:"
def letters_prompt(n: int, *, header: str = "", choices_line: bool = False, strip: bool = False) -> str:
    """lm-eval's lettered multiple-choice prompt over ``choices`` (medqa_4options, medmcqa, mmlu)."""
    question = "{{question.strip()}}" if strip else "{{question}}"
    options = "".join(f"{LETTERS[i]}. {{{{choices[{i}]}}}}\n" for i in range(n))
    lead = "" if header or strip else "Question: "
    return header + lead + question + "\n" + ("Choices:\n" if choices_line else "") + options + "Answer:"


QA_PROMPT = "Question: {{question}}\nAnswer:"  # the shipped suites' open-QA prompt (tasks/agri/agri_qa.yaml)


class _Fn(str):
    """A ``!function utils.x`` value in a task YAML."""


class _Dumper(writer.Dumper):
    """Multi-line prompts as one double-quoted line, as the shipped task YAMLs have them."""


_Dumper.add_representer(_Fn, lambda dumper, value: dumper.represent_scalar("!function", str(value)))


@dataclass(frozen=True)
class TaskSpec:
    """One eval task of a hub suite: how it is prompted and scored."""

    name: str
    kind: str  # open_qa | multiple_choice | classification
    primary_metric: str
    template: str  # doc_to_text, context block included
    data: str  # eval file, e.g. eval/qa.jsonl (the loader utils.py has for it)
    letters: int = 0  # multiple choice answered with a letter (lm-eval's A/B/C/D), else the choice text
    max_gen_toks: int = 32
    labels: tuple[str, ...] = ()
    source: str = ""  # the lm-eval task the prompt follows (a YAML comment)

    def yaml_text(self) -> str:
        loader = {"eval/qa.jsonl": "load_qa", "eval/mc.jsonl": "load_mc", "eval/cls.jsonl": "load_cls"}[self.data]
        if self.kind == "classification":
            # tasks/finance/finance_cls.yaml (its prompt is context_block() + QA_PROMPT)
            return writer.derived_task_yaml("classification", self.name)
        spec: dict[str, Any] = {"task": self.name, "custom_dataset": _Fn(f"utils.{loader}"), "test_split": "test"}
        if self.kind == "open_qa":
            spec |= {"output_type": "generate_until", "doc_to_text": self.template, "doc_to_target": "answer",
                     "generation_kwargs": {"until": ["\n", "<|im_end|>"], "max_gen_toks": self.max_gen_toks,
                                           "do_sample": False},
                     "process_results": _Fn("utils.process_qa"),
                     "metric_list": [{"metric": m, "aggregation": "mean", "higher_is_better": True}
                                     for m in ("correct", "contains", "exact_match", "f1")]}
        else:
            choice: Any = list(LETTERS[: self.letters]) if self.letters else "{{choices}}"
            spec |= {"output_type": "multiple_choice", "doc_to_text": self.template, "doc_to_choice": choice,
                     "doc_to_target": "label",
                     "metric_list": [{"metric": m, "aggregation": "mean", "higher_is_better": True}
                                     for m in ("acc", "acc_norm")]}
        spec["metadata"] = {"version": 1.0}
        head = f"# Hub suite task; prompt follows lm-eval's `{self.source}`.\n" if self.source else ""
        text = yaml.dump(spec, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=10_000)
        return head + re.sub(r"!function '([\w.]+)'", r"!function \1", text)

    def render(self, row: dict[str, Any]) -> str:
        """The prompt lm-eval renders for ``row`` (context empty unless the row has one)."""
        from lm_eval.utils import apply_template

        return apply_template(self.template, {"context": "", **row})

    def answer_text(self, row: dict[str, Any]) -> str:
        """What the model should say for a row: the letter (lettered MC) or the choice/label/answer."""
        if self.kind == "multiple_choice":
            return LETTERS[row["label"]] if self.letters else row["choices"][row["label"]]
        return str(row["label"] if self.kind == "classification" else row["answer"])


def task_utils(specs: Sequence[TaskSpec]) -> str:
    """utils.py of a hub suite: the shipped loaders and scorers (tasks/agri, tasks/finance)."""
    cls = next((s.name for s in specs if s.kind == "classification"), None)
    return writer.task_utils(cls)
