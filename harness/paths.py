"""Where the harness's shipped data lives: ``conf/`` (the Hydra configs) and ``tasks/`` (the
shipped suites and their lm-eval tasks).

In a checkout (the editable install `scripts/setup.sh` makes) they sit beside the package. A
built wheel carries them inside it, as ``harness/_data/conf`` and ``harness/_data/tasks``
(setup.py maps them in as package data), so ``pip install .`` gives a harness that finds its
configs wherever it is run from. Everything that needs one of these folders asks here.
"""

from __future__ import annotations

from pathlib import Path

PACKAGE = Path(__file__).resolve().parent
CHECKOUT = PACKAGE.parent
_BUNDLED = PACKAGE / "_data"
INSTALLED = (_BUNDLED / "conf").is_dir()  # a wheel's install: the data travels inside the package
DATA_ROOT = _BUNDLED if INSTALLED else CHECKOUT
CONF_DIR = DATA_ROOT / "conf"
TASKS_DIR = DATA_ROOT / "tasks"

__all__ = ["CHECKOUT", "CONF_DIR", "DATA_ROOT", "INSTALLED", "PACKAGE", "TASKS_DIR"]
