"""The decision stage: "RAG, fine-tuning, both, or neither?" for one finished run.

``decide(inputs, settings) -> Decision`` reads only the run folder (harness.decision.inputs) and
the cost assumptions (harness.decision.settings), so ``python -m harness decide`` can re-price a
run without a model. Quality (which conditions tie the best) and stability come from
harness.decision.analysis, prices from harness.decision.costs, the words from
harness.decision.render.
"""

from harness.decision.decide import Decision, decide
from harness.decision.inputs import RunInputs, load_inputs
from harness.decision.render import cost_plot, markdown, to_html, to_json, verdict
from harness.decision.settings import CostSettings, cost_settings

__all__ = ["CostSettings", "Decision", "RunInputs", "cost_plot", "cost_settings", "decide", "load_inputs", "markdown",
           "to_html", "to_json", "verdict"]
