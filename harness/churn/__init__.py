"""Knowledge churn: when a share of the documents' facts change, what each arm costs to update
and how many stale answers it then gives (``churn.fraction``; docs/churn.md).

derive  churn_suite(suite, fraction, seed) -> ChurnedSuite    the updated suite, what changed
update  time_reindex / retrained / continued                 each arm's update, timed
stage   run_churn(ChurnInputs, ChurnSettings, RunFolder)     every fraction evaluated -> churn.json
measure measure(...)                                         changed / stale / unchanged shares
report  churn_tables / churn_plots                           the leaderboard table and the plot
"""

from harness.churn.document import CHURN_DIR, CHURN_FILE, read_churn
from harness.churn.settings import ChurnSettings

__all__ = ["CHURN_DIR", "CHURN_FILE", "ChurnSettings", "read_churn"]  # the stage: harness.churn.stage (imports the models)
