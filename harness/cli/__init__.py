"""The command line: the verb registry (:mod:`harness.cli.registry`) and the verbs, grouped by
what they work on — an experiment's config (:mod:`harness.cli.experiment`) or finished run
folders and files (:mod:`harness.cli.folders`). ``python -m harness`` dispatches to them."""
