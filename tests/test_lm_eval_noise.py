"""The lm-eval warning the harness's own task setup causes (one `--metadata` hint per task, eight
per default run) is silenced, and only that one (issue #22). Fast: loads two task definitions."""

from __future__ import annotations

import logging

import pytest

from harness.evaluate import runner
from tests.conftest import REPO


def _load_tasks(caplog: pytest.LogCaptureFixture) -> list[str]:
    from lm_eval.tasks import TaskManager, get_task_dict

    manager = TaskManager(include_path=[str(REPO / "tasks" / "agri")], include_defaults=False)
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        get_task_dict(["agri_qa", "agri_mc"], manager)
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]


def test_the_metadata_hint_is_dropped_and_nothing_else(caplog: pytest.LogCaptureFixture):
    logger = logging.getLogger("lm_eval.api.task")
    logger.removeFilter(runner._not_harness_caused)  # as a fresh process has it
    before = _load_tasks(caplog)
    assert sum("Custom kwargs can be passed" in m for m in before) == 2  # the noise: once per task
    runner.quiet_lm_eval()
    runner.quiet_lm_eval()  # idempotent: one filter
    assert logger.filters.count(runner._not_harness_caused) == 1
    after = _load_tasks(caplog)
    assert not any("Custom kwargs" in m for m in after)
    assert len(after) == len(before) - 2  # every other warning still reaches the user
