"""A built wheel carries its configs and suites (issue #22): built from this checkout, installed
apart from it (pip --target, on top of this environment's dependencies), and run from an
unrelated directory, the harness answers --help, composes +exp=agri and loads the agri suite
from inside the installed package."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO


def _run(args: list[str], cwd: Path, env: dict[str, str], timeout: int = 300) -> subprocess.CompletedProcess:
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str], Path]:
    root = tmp_path_factory.mktemp("wheel")
    wheels, target, elsewhere = root / "wheels", root / "site", root / "elsewhere"
    elsewhere.mkdir()
    env = dict(os.environ, PIP_NO_INDEX="1", PIP_DISABLE_PIP_VERSION_CHECK="1")
    built = _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-w", str(wheels),
                  str(REPO)], root, env)
    assert built.returncode == 0, built.stderr[-3000:]
    (wheel,) = wheels.glob("rag_ft_harness-*.whl")
    done = _run([sys.executable, "-m", "pip", "install", "--no-deps", "--target", str(target), str(wheel)], root, env)
    assert done.returncode == 0, done.stderr[-3000:]
    env = dict(os.environ, PYTHONPATH=str(target), HARNESS_CACHE=str(root / "cache"))
    return target, env, elsewhere


def test_the_installed_package_is_the_one_that_runs_and_has_its_data(installed):
    target, env, elsewhere = installed
    proc = _run([sys.executable, "-c", "import harness, harness.paths as p; print(harness.__file__); "
                 "print(p.INSTALLED, p.CONF_DIR.is_dir(), (p.TASKS_DIR / 'agri' / 'suite.yaml').is_file())"],
                elsewhere, env)
    where, flags = proc.stdout.split("\n")[:2]
    assert where.startswith(str(target)), proc.stdout + proc.stderr  # not the checkout's editable install
    assert flags == "True True True"


def test_help_and_the_composed_config_work_from_anywhere(installed):
    _, env, elsewhere = installed
    top = _run([sys.executable, "-m", "harness", "--help"], elsewhere, env)
    assert top.returncode == 0 and "run" in top.stdout and "exp={agri," in top.stdout, top.stderr[-2000:]
    job = _run([sys.executable, "-m", "harness", "run", "+exp=agri", "--cfg", "job"], elsewhere, env)
    assert job.returncode == 0 and "exp_name: agri" in job.stdout, job.stderr[-2000:]


def test_the_shipped_suite_loads_from_the_installed_package(installed):
    target, env, elsewhere = installed
    code = ("from harness import suites; from harness.sections import SuiteRef; "
            "s = suites.load(SuiteRef.from_dict({'name': 'agri', 'path': 'tasks/agri'})); "
            "print(s.name, len(s.corpus), s.root)")
    proc = _run([sys.executable, "-c", code], elsewhere, env)
    assert proc.returncode == 0, proc.stderr[-2000:]
    name, docs, root = proc.stdout.split()
    assert name == "agri" and int(docs) == 84 and root.startswith(str(target))
