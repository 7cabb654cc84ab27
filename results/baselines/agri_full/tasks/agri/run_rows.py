"""Written by the harness: the suite's own row loaders, pointed at this tree's rows
(paths relative to this file), so lm-eval evaluates the tasks from any directory."""

import runpy
from pathlib import Path

HERE = Path(__file__).resolve().parent
_MODULES = {}


def _call(module, name, data_file, kwargs):
    if module not in _MODULES:
        _MODULES[module] = runpy.run_path(str(HERE / f"{module}.py"))
    path = str((HERE / data_file).resolve()) if data_file else None
    return _MODULES[module][name](data_file=path, **kwargs)


def utils__load_mc(data_file=None, **kwargs):
    return _call('utils', 'load_mc', data_file, kwargs)


def utils__load_qa(data_file=None, **kwargs):
    return _call('utils', 'load_qa', data_file, kwargs)
