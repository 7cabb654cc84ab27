"""The verbs of ``python -m harness``: one registry entry each (what it does, its help, its entry).

Why a registry: the verb list, the help screens and the dispatch used to be three parallel
if-chains; now adding a verb is one ``VERBS.register`` call. Verbs that take Hydra overrides
run their job through :func:`hydra_job`; the others parse their own arguments (argparse).
Heavy imports stay inside the jobs so ``--help`` answers at once.
"""

from __future__ import annotations

import errno
import sys
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness import paths, redact
from harness.errors import HarnessError
from harness.registry import Registry

CONF_DIR = paths.CONF_DIR
Job = Callable[[dict[str, Any]], None]


@dataclass(frozen=True)
class Verb:
    """One verb: its one-line purpose, one example command, its help screen and its entry."""

    name: str
    summary: str
    main: Callable[[list[str]], None]
    help: Callable[["Verb"], str]
    example: str = ""  # what follows ``python -m harness`` in the help's example


VERBS: Registry[Verb] = Registry("verb", hint=" (python -m harness --help)")


def verb(name: str, summary: str, example: str, help: Callable[[Verb], str] | None = None
         ) -> Callable[[Callable[[list[str]], None]], Callable[[list[str]], None]]:
    """Register the decorated ``main(args)`` as verb ``name`` (help: the overrides screen)."""

    def decorate(main: Callable[[list[str]], None]) -> Callable[[list[str]], None]:
        VERBS.register(name, Verb(name, summary, main, help or overrides_help(), example))
        return main

    return decorate


def fail(message: str) -> None:
    """The one way a verb stops on bad input: ``error: <message>`` on stderr, exit status 2."""
    print(f"error: {message}", file=sys.stderr)
    sys.exit(2)


def config_groups() -> str:
    """``group={option,...}`` for every Hydra config group a run takes (qagen: generate-qa's own)."""
    parts = []
    for group in sorted(p for p in CONF_DIR.iterdir() if p.is_dir() and p.name != "qagen"):
        options = sorted(f.stem for f in group.glob("*.yaml"))
        parts.append(f"{group.name}={{{','.join(options)}}}")
    return "  ".join(parts)


def purpose(v: Verb) -> str:
    """The summary as the help's one sentence."""
    return v.summary[:1].upper() + v.summary[1:] + ("" if v.summary.endswith(".") else ".")


# The one rule for arguments, stated in every --help: verbs that compose an experiment's config
# take Hydra overrides (key=value); verbs that work on run folders and files take --flags.
RULE_OVERRIDES = "Arguments: key=value Hydra overrides (this verb composes an experiment's config; conf/)."
RULE_FLAGS = "Arguments: --flags (this verb works on run folders and files, not on an experiment's config)."


def screen(v: Verb, usage: str, body: str, rule: str = RULE_OVERRIDES) -> str:
    """Every verb's help in one shape: usage line, one-line purpose, the argument rule, options,
    one example."""
    return (f"usage: python -m harness {v.name} {usage}\n\n{purpose(v)}\n{rule}\n\n{body.rstrip()}\n\n"
            f"example:\n  python -m harness {v.example}\n")


def _conf_default(path: str, key: str) -> Any:
    import yaml

    node: Any = yaml.safe_load((CONF_DIR / path).read_text())
    for part in key.split("."):
        node = node.get(part) if isinstance(node, dict) else None
    return "null" if node is None else node


def most_used() -> list[tuple[str, str]]:
    """The overrides people reach for first, each with its default as conf/ sets it."""
    return [("+exp=<name>", "the experiment (suite, grid, settings): agri, finance, knowledge, all, ..."),
            ("suite.path=<folder>", "your own suite (no +exp: the standard grid, results/<suite name>/)"),
            ("suite.n_docs=<n>", "use the first n documents (quick runs)"),
            ("eval.limit=<n>", f"evaluate the first n questions of each task [{_conf_default('config.yaml', 'eval.limit')}]"),
            ("retriever=<kind>", "dense, bm25, hybrid or none [dense]"),
            ("retriever.top_k=<k>", f"passages per question [{_conf_default('retriever/dense.yaml', 'top_k')}]"),
            ("finetune.epochs=<n>", f"LoRA epochs [{_conf_default('finetune/lora.yaml', 'epochs')}]"),
            ("finetune.lr=<x>", f"LoRA learning rate [{_conf_default('finetune/lora.yaml', 'lr')}]"),
            ("model.backend=vllm", f"serve through vLLM instead of in process [{_conf_default('model/smollm2-135m.yaml', 'backend')}]"),
            ("results_dir=<folder>", f"where run folders go [{_conf_default('config.yaml', 'results_dir')}]")]


def overrides_help(usage: str = "[-m] [overrides ...]", extra: str = "") -> Callable[[Verb], str]:
    """Help of a verb that takes Hydra overrides: the config groups and the most used overrides."""

    def render(v: Verb) -> str:
        groups = "\n".join(f"  {g}" for g in config_groups().split("  "))
        used = "\n".join(f"  {name:<22} {what}" for name, what in most_used())
        body = (f"{extra.rstrip()}\n\n" if extra else "") + (
            f"config groups (conf/):\n{groups}\n\nmost used overrides [default]:\n{used}\n\n"
            f"-m sweeps (retriever=dense,bm25); --cfg job prints the resolved config without running.")
        return screen(v, usage, body)

    return render


def parser_help(module: str) -> Callable[[Verb], str]:
    """Help from an argparse verb's own ``parser()`` (imported only when asked), in the common
    shape: its usage, the verb's purpose, every option with its default, the example."""

    def render(v: Verb) -> str:
        import argparse
        import importlib

        class Formatter(argparse.RawDescriptionHelpFormatter, argparse.ArgumentDefaultsHelpFormatter):
            def _get_help_string(self, action: argparse.Action) -> str:  # no "(default: None)" noise
                shown = action.default is None or action.default is False or action.default == argparse.SUPPRESS
                if shown or not action.option_strings or "(default" in (action.help or ""):
                    return action.help or ""
                return super()._get_help_string(action) or ""

        parser = importlib.import_module(module).parser()
        parser.formatter_class = Formatter
        parser.description = f"{purpose(v)}\n{RULE_FLAGS}"
        parser.epilog = f"example:\n  python -m harness {v.example}"
        return parser.format_help()

    return render


def hydra_job(name: str, job: Job, overrides: list[str], config_dir: Path = CONF_DIR,
              config_name: str = "config") -> None:
    """Compose the config from ``overrides`` (multirun, ``--cfg job`` included) and run ``job`` on it.

    Each job first redacts the logging Hydra has just configured (its console and ``<job>.log``
    handlers) and registers the keys behind the config's ``*api_key_env`` names; a key put in
    the config itself is refused (and masked in Hydra's own copies of the overrides)."""
    import hydra
    from omegaconf import DictConfig, OmegaConf

    if any(a in ("-sc", "--shell-completion") or a.startswith("--shell-completion=") for a in overrides):
        fail("shell completion is not offered: Hydra would register it for 'harness-" + name + "', a command "
             f"that does not exist; python -m harness {name} --help lists the config groups and overrides, "
             f"and python -m harness {name} <overrides> --cfg job shows the resolved config")
    sys.argv = [f"harness-{name}", *overrides]

    @hydra.main(version_base="1.3", config_path=str(config_dir), config_name=config_name)
    def entry(cfg: DictConfig) -> None:
        redact.install()
        try:
            config = OmegaConf.to_container(cfg, resolve=True)
            _check_secrets(config)
            if name != "run" and "suites" in cfg:
                raise HarnessError(f"+exp=all (a list of suites) is for the run verb; {name} takes one suite: +exp=<suite>")
            job(config)  # type: ignore[arg-type]
        except HarnessError as err:
            fail(redact.redact(str(err)))
        except OSError as err:
            if err.errno not in OS_FAILURES:
                raise
            fail(redact.redact(os_failure(err)))
        except Exception:  # noqa: BLE001 - Hydra would print the traceback as it is, a key included
            text = traceback.format_exc()
            if redact.redact(text) == text:
                raise
            sys.stderr.write(redact.redact(text))
            sys.exit(1)

    entry()


OS_FAILURES = {errno.ENOSPC: "the disk is full", errno.EDQUOT: "the disk quota is exhausted",
               errno.EROFS: "the file system is read-only", errno.EACCES: "permission denied",
               errno.EPERM: "operation not permitted"}


def os_failure(err: OSError) -> str:
    """One message for the machine refusing a write (disk full, read-only, permissions): where,
    why, and that nothing half-written was kept (a run folder is only published when complete)."""
    where = f"{err.filename}: " if err.filename else ""
    return (f"{where}{OS_FAILURES.get(err.errno or 0, err.strerror)} ({err.strerror}); free space or fix the "
            "permissions and rerun — nothing half-written was published, and finished stages are cached")


def _check_secrets(config: Any) -> None:
    """:func:`harness.redact.check_config`; on a refused key, Hydra's copies of the config are masked."""
    try:
        redact.check_config(config)
    except HarnessError:
        from hydra.core.hydra_config import HydraConfig

        redact.redact_files(Path(HydraConfig.get().runtime.output_dir))
        raise


def first_argument(args: list[str], message: str) -> str:
    """A verb's leading positional argument (a query, a run folder), before the overrides."""
    if not args or args[0].startswith("-") or "=" in args[0]:
        fail(message)
    return args[0]
