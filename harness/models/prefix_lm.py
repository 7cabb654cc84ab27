"""lm-eval's hf backend with multiple-choice log-likelihoods computed once per shared prompt.

A multiple-choice question asks for log p(option | prompt) of every option. lm-eval's HFLM
scores each (prompt + option) as its own sequence, so a four-option question with a 300-token
retrieved passage runs the passage through the model four times, and it computes the output
layer and a log-softmax over the whole vocabulary at every prompt position it then throws away.
On a CPU that is most of a RAG grid's evaluation time.

Here requests that share a prompt are scored together: the prompt runs once (keeping its
key/value cache and only its last position's logits), then all options run as one batch on
top of that cache. The numbers are the same log-probabilities up to float rounding (a test
compares them with lm-eval's own implementation); requests lm-eval would truncate, and
non-causal models, go through the original code path.
"""

from __future__ import annotations

from collections import defaultdict

from lm_eval.models.huggingface import HFLM

Request = tuple[tuple[str, str], list[int], list[int]]


def group_by_prompt(requests: list[Request]) -> dict[tuple[int, ...], list[int]]:
    """Indices of ``requests`` per distinct prompt (context token ids), in first-seen order."""
    groups: dict[tuple[int, ...], list[int]] = defaultdict(list)
    for index, (_, context, _) in enumerate(requests):
        groups[tuple(context)].append(index)
    return groups


class PrefixSharingHFLM(HFLM):
    """HFLM whose log-likelihood pass runs each shared prompt once."""

    def _loglikelihood_tokens(
        self,
        requests: list[Request],
        disable_tqdm: bool = False,
        override_bs: int | None = None,
    ) -> list[tuple[float, bool]]:
        if self.backend != "causal":
            return super()._loglikelihood_tokens(requests, disable_tqdm, override_bs)
        from tqdm import tqdm

        results: list[tuple[float, bool] | None] = [None] * len(requests)
        too_long = [i for i, (_, ctx, cont) in enumerate(requests) if len(ctx) + len(cont) > self.max_length + 1]
        if too_long:  # lm-eval truncates these from the left; keep its exact behaviour
            for i, answer in zip(too_long, super()._loglikelihood_tokens(
                    [requests[i] for i in too_long], disable_tqdm, override_bs)):
                results[i] = answer
        skip = set(too_long)
        groups = group_by_prompt(requests)
        bar = tqdm(total=len(requests) - len(skip), disable=disable_tqdm or self.rank != 0,
                   desc="Running loglikelihood requests (shared prompts)")
        # longest prompts first, as lm-eval does: time estimates err high, memory peaks early
        for context, indices in sorted(groups.items(), key=lambda kv: -len(kv[0])):
            indices = [i for i in indices if i not in skip]
            if not indices:
                continue
            scored = self._score_options(list(context), [requests[i][2] for i in indices])
            for i, answer in zip(indices, scored):
                results[i] = answer
                request_str = requests[i][0]
                if request_str is not None:  # commit as produced: a killed run resumes from here
                    self.cache_hook.add_partial("loglikelihood", request_str, answer)
            bar.update(len(indices))
        bar.close()
        assert all(r is not None for r in results)
        return results  # type: ignore[return-value]

    def _score_options(self, context: list[int], options: list[list[int]]) -> list[tuple[float, bool]]:
        """(sum log p(option | context), option is the greedy continuation) for each option."""
        import torch
        import torch.nn.functional as F

        device = self.device
        with torch.no_grad():
            prompt = torch.tensor([context], dtype=torch.long, device=device)
            out = self.model(prompt, use_cache=True, logits_to_keep=1)
            first = F.log_softmax(out.logits[:, -1, :].to(torch.float32), dim=-1)[0]  # [vocab]
            cache = out.past_key_values
            longest = max(len(o) for o in options)
            if longest == 1:  # every option is one token: the prompt's last logits decide them all
                greedy = int(first.argmax())
                return [(float(first[o[0]]), o[0] == greedy) for o in options]
            cache.batch_repeat_interleave(len(options))
            # right padding: a pad only follows an option's own tokens, so it changes nothing before it
            pad = options[0][0]
            batch = torch.tensor([o + [pad] * (longest - len(o)) for o in options], dtype=torch.long, device=device)
            rest = self.model(batch[:, :-1], past_key_values=cache, use_cache=True).logits
            rest = F.log_softmax(rest.to(torch.float32), dim=-1)  # [n, longest-1, vocab]
            scored: list[tuple[float, bool]] = []
            for row, option in enumerate(options):
                logprobs = [first] + [rest[row, j] for j in range(len(option) - 1)]
                total = sum(float(lp[tok]) for lp, tok in zip(logprobs, option))
                is_greedy = all(int(lp.argmax()) == tok for lp, tok in zip(logprobs, option))
                scored.append((total, is_greedy))
            return scored
