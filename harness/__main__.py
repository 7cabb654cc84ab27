"""`python -m harness <verb> [hydra overrides]` — verb dispatch.

Hydra parses everything after the verb, so overrides, `-m` multirun and `--cfg job` work as
in any Hydra app; HarnessError becomes one clear line on stderr and exit status 2. `--version`
prints the installed package's version; output cut short by its reader (`-h | head`) ends
quietly, as `git` and `ls` do, instead of in a BrokenPipeError traceback. Every log
record, traceback and warning is redacted of API keys (:mod:`harness.redact`), from here and again
when a Hydra job has configured its own logging. The verbs themselves are registered in
:mod:`harness.cli` (one entry each).
"""

from __future__ import annotations

import logging
import os
import sys
from importlib import metadata

from harness.cli import experiment, folders, documents  # noqa: F401, I001 - importing registers the verbs, in help order
from harness.cli.registry import VERBS, config_groups, fail
from harness.errors import HarnessError
from harness.redact import install as redact_logs
from harness.redact import redact

USAGE = """usage: python -m harness <verb> [overrides ...]

verbs:
{verbs}

Overrides are Hydra's: `python -m harness run +exp=agri retriever.top_k=5 finetune.epochs=5`;
`-m` sweeps: `python -m harness run -m +exp=agri retriever=dense,bm25`.
Config groups (conf/): {groups}
`python -m harness <verb> --help` describes one verb; `python -m harness --version` prints the version.
"""
DISTRIBUTION = "rag-ft-harness"
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE: what a shell reports for a writer whose reader left


def usage() -> str:
    verbs = "\n".join(f"  {name:<9} {VERBS.get(name).summary}" for name in VERBS.names())
    return USAGE.format(verbs=verbs, groups=config_groups())


def version() -> str:
    """The installed distribution's version (the package's own when it runs uninstalled)."""
    try:
        return metadata.version(DISTRIBUTION)
    except metadata.PackageNotFoundError:
        from harness import __version__

        return __version__


def main(argv: list[str] | None = None) -> None:
    """Dispatch, and leave quietly when the reader of stdout has gone (``-h | head``)."""
    try:
        _dispatch(list(sys.argv[1:] if argv is None else argv))
        sys.stdout.flush()  # a closed pipe raises here, not in the interpreter's exit flush
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # the exit flush finds nowhere to fail
        sys.exit(EXIT_BROKEN_PIPE)


def _dispatch(args: list[str]) -> None:
    if not args or args[0] in ("-h", "--help", "help"):
        print(usage())
        return
    if args[0] in ("--version", "-V"):
        print(f"{DISTRIBUTION} {version()}")
        return
    if args[:2] == ["suite", "build"]:  # `suite build` is build-suite
        args = ["build-suite", *args[2:]]
    name, rest = args[0], args[1:]
    if name not in VERBS:
        fail(f"unknown verb '{name}'; choose one of: {', '.join(VERBS.names())} (python -m harness --help)")
    chosen = VERBS.get(name)
    if "-h" in rest or "--help" in rest:
        print(chosen.help(chosen))
        return
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    redact_logs()
    try:
        chosen.main(rest)
    except HarnessError as err:
        fail(redact(str(err)))


if __name__ == "__main__":
    main()
