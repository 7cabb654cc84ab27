"""Equal effort for both arms: one stated tuning budget (``finetune.tune`` × ``retriever.tune``).

Entry: :func:`tune_arms` (TuneSettings, suite, the arms' sections, base model) → :class:`Tuning`
— each arm's trials on a dev split carved from the training questions (never the eval set),
the settings each arm is then run with, and how stable the sign of RAG − FT is over the trials.
Pure parts: :mod:`harness.tuning.split` (the dev split), :mod:`harness.tuning.trials` (the pick
and the stability share), :mod:`harness.tuning.settings` (the config, parsed by the spec).
"""

from harness.tuning.settings import RecallSettings, TuneSettings, tune_settings
from harness.tuning.split import DevSplit, dev_split
from harness.tuning.stage import tune_arms, tuned_retrieval
from harness.tuning.trials import Trial, Tuning, best, stability

__all__ = ["DevSplit", "RecallSettings", "Trial", "TuneSettings", "Tuning", "best", "dev_split", "stability",
           "tune_arms", "tune_settings", "tuned_retrieval"]
