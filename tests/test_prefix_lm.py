"""Shared-prompt log-likelihoods equal lm-eval's own, on the embedded model and real suite prompts."""

from __future__ import annotations

import json

import pytest

from harness.models.prefix_lm import PrefixSharingHFLM, group_by_prompt
from lm_eval.models.huggingface import HFLM

from tests.conftest import REPO


@pytest.fixture(scope="module")
def lm(smollm2):
    return PrefixSharingHFLM(pretrained=str(smollm2.path), dtype="float32", batch_size=8, device="cpu",
                             max_length=512)


def _requests(lm, n_questions: int) -> list:
    """The agri suite's first multiple-choice questions as lm-eval builds its requests."""
    rows = [json.loads(line) for line in (REPO / "tasks/agri/eval/mc.jsonl").read_text().splitlines()]
    requests = []
    for row in rows[:n_questions]:
        prompt = f"Question: {row['question']}\nAnswer:"
        for choice in row["choices"]:
            context, continuation = prompt, " " + choice
            requests.append(((context, continuation), lm.tok_encode(context), lm.tok_encode(continuation)))
    return requests


def test_scores_equal_lm_eval_and_keep_request_order(lm):
    requests = _requests(lm, 4)
    # one option per prompt, single-token continuations and a prompt repeated out of order
    requests += [(("Question: Is soil alive?\nAnswer:", " Yes"), lm.tok_encode("Question: Is soil alive?\nAnswer:"),
                  lm.tok_encode(" Yes"))]
    requests += [requests[1], requests[0]]
    assert any(len(g) > 1 for g in group_by_prompt(requests).values())
    assert len({len(r[2]) for r in requests}) > 1, "options of different lengths exercise the padding"

    ours = lm._loglikelihood_tokens(requests, disable_tqdm=True)
    reference = HFLM._loglikelihood_tokens(lm, requests, disable_tqdm=True)

    assert len(ours) == len(requests)
    for (logp, greedy), (ref_logp, ref_greedy) in zip(ours, reference):
        assert logp == pytest.approx(ref_logp, abs=1e-3)
        assert greedy == ref_greedy
    assert ours[-1] == ours[0] and ours[-2] == ours[1]


def test_over_long_requests_take_lm_eval_truncation(lm):
    requests = _requests(lm, 1)
    context, continuation = requests[0][1], requests[0][2]
    long_context = context * (lm.max_length // len(context) + 2)
    long = (("long", "x"), long_context, continuation)
    ours = lm._loglikelihood_tokens([long, requests[0]], disable_tqdm=True)
    reference = HFLM._loglikelihood_tokens(lm, [long, requests[0]], disable_tqdm=True)
    assert ours[0][0] == pytest.approx(reference[0][0], abs=1e-3)
    assert ours[1][0] == pytest.approx(reference[1][0], abs=1e-3)
