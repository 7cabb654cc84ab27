"""Optional LLM judge: rubric scores (correctness, succinctness) for every open-QA answer.

``prepare(cfg["judge"])`` checks a ``+judge=...`` config before a run spends time;
``judge_run(run_dir, config)`` judges a run folder's answers (cached per judge identity) and
stores the judgments in it; ``summary`` turns them into report columns without a model.
Modules: config (settings, identity), parse (reading scores from replies), store (cache and
run-folder files), runner (the pass), summary (means, CIs, deltas, unparsable counts).
"""

from harness.scoring.judge.config import JudgeConfig, from_dict
from harness.scoring.judge.runner import JudgePass, judge_run, prepare

__all__ = ["JudgeConfig", "JudgePass", "from_dict", "judge_run", "prepare"]
