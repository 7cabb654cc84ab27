"""`python -m harness run +exp=all`: every listed suite's experiment in turn, then one leaderboard.

conf/exp/all.yaml lists the suites (``suites: [agri, finance, ...]``). Each runs exactly as
``run +exp=<suite> <the other overrides>`` would: Hydra composes conf/exp/<suite>.yaml (the
suite's own retriever settings) with the command line's overrides, so the suite's run folder,
spec hash and cache entries are the ones a run of that suite alone makes — a rerun, or a suite
added to the list, recomputes only what changed. Every suite is composed and validated before
the first one runs. Then ``<results_dir>/all/<time>-<hash>/`` joins their leaderboards by
condition (harness.report.across_suites), written under a temporary name and renamed when
complete; a failing suite leaves no combined folder.
"""

from __future__ import annotations

import json
import logging
import os
import time
from pathlib import Path
from typing import Any

from harness import cache, paths, pipeline, spec
from harness.errors import HarnessError
from harness.records import RunFolder
from harness.spec import RunSpec

log = logging.getLogger(__name__)

CONF_DIR = paths.CONF_DIR
# overrides that configure the `all` experiment itself and are not passed on to the suites
OWN_KEYS = ("exp", "suites", "exp_name")


def known_suites(conf_dir: Path = CONF_DIR) -> list[str]:
    """Suites with an experiment of their own (conf/suite/<name>.yaml and conf/exp/<name>.yaml)."""
    return sorted(p.stem for p in (conf_dir / "suite").glob("*.yaml") if (conf_dir / "exp" / p.name).is_file())


def suite_names(cfg: dict[str, Any], known: list[str] | None = None) -> list[str]:
    """The validated ``suites`` list of the config."""
    known = known_suites() if known is None else known
    raw = cfg.get("suites")
    hint = f"known suites: {', '.join(known)}"
    if not isinstance(raw, list) or not raw or not all(isinstance(s, str) for s in raw):
        raise HarnessError(f"suites={raw!r}: expected a non-empty list of suite names, e.g. suites=[agri,finance]; {hint}")
    unknown = [s for s in raw if s not in known]
    if unknown:
        raise HarnessError(f"suites: unknown suite(s) {', '.join(unknown)}; {hint} "
                           "(a suite needs conf/suite/<name>.yaml and conf/exp/<name>.yaml)")
    if len(set(raw)) != len(raw):
        raise HarnessError(f"suites={raw}: a suite is listed twice")
    return list(raw)


def suite_overrides(overrides: list[str]) -> list[str]:
    """The command line's overrides minus those of the `all` experiment itself (``+exp=all``,
    ``suites=``, ``exp_name=``: every suite keeps its own results folder)."""
    return [o for o in overrides if o.lstrip("~+").split("=", 1)[0].strip() not in OWN_KEYS]


def compose_suites(names: list[str], overrides: list[str]) -> dict[str, dict[str, Any]]:
    """Each suite's resolved config: ``+exp=<suite>`` plus ``overrides``, composed by Hydra
    (inside the running app, or from conf/ when called outside one)."""
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra
    from hydra.errors import HydraException
    from omegaconf import OmegaConf

    def one(name: str) -> dict[str, Any]:
        try:
            cfg = compose(config_name="config", overrides=[f"+exp={name}", *overrides])
        except HydraException as err:
            raise HarnessError(f"suite '{name}': +exp={name} with the overrides {overrides} does not compose: "
                               f"{str(err).splitlines()[0]}") from None
        return OmegaConf.to_container(cfg, resolve=True)  # type: ignore[return-value]

    if GlobalHydra.instance().is_initialized():
        return {name: one(name) for name in names}
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        return {name: one(name) for name in names}


def _specs(configs: dict[str, dict[str, Any]]) -> dict[str, RunSpec]:
    out = {}
    for name, cfg in configs.items():
        try:
            out[name] = spec.from_config(cfg)
        except HarnessError as err:
            raise HarnessError(f"suite '{name}': {err}") from None
    return out


def run(cfg: dict[str, Any], overrides: list[str]) -> Path:
    """Run every suite of ``cfg['suites']`` with ``overrides``; returns the combined run folder."""
    from harness.report import across_suites, merge

    spec.check_exp_name(str(cfg.get("exp_name") or "all"))  # the combined folder lands under results_dir
    names = suite_names(cfg)
    configs = compose_suites(names, suite_overrides(overrides))
    specs = _specs(configs)
    done: dict[str, Path] = {}
    seconds: dict[str, float] = {}
    for name in names:
        log.info("+exp=all: suite %s (%d of %d)", name, len(done) + 1, len(names))
        start = time.perf_counter()
        try:
            done[name] = pipeline.run(specs[name], configs[name])
        except HarnessError as err:
            raise HarnessError(_failed(name, str(err), done)) from None
        except Exception as err:
            log.error("%s", _failed(name, f"{type(err).__name__}: {err}", done))
            raise
        seconds[name] = round(time.perf_counter() - start, 3)
    combined = across_suites.combine({name: merge.load_run(path) for name, path in done.items()})
    results_dir = spec.resolve_path(cfg.get("results_dir", "results"))
    digest = cache.hash_json({name: specs[name].hash for name in names})
    folder = RunFolder.create(results_dir / str(cfg.get("exp_name") or "all"), digest)
    tmp = folder.path
    try:
        across_suites.write(combined, tmp, base=results_dir)
        for name, path in done.items():  # relative links stay valid when the folder is renamed
            (tmp / "runs").mkdir(exist_ok=True)
            (tmp / "runs" / name).symlink_to(os.path.relpath(path, tmp / "runs"), target_is_directory=True)
        folder.write_config({"exp_name": cfg.get("exp_name"), "suites": names,  # what reproduces it
                             "overrides": suite_overrides(overrides), "results_dir": str(cfg.get("results_dir"))})
        folder.write_manifest(_manifest(specs, done, digest, overrides, seconds))
        final = folder.publish()
    except BaseException:
        folder.discard()
        raise
    print_summary(final, combined, done, seconds)
    return final


def is_combined(folder: Path) -> bool:
    """A combined run folder (``results/all/<run>``): its metrics.json names the suites' runs."""
    try:
        return "suites" in RunFolder(folder).read_metrics()
    except (OSError, ValueError):
        return False


def rebuild(folder: Path) -> str:
    """``report`` on a combined folder: its leaderboard again from the suites' run folders
    (a run leaderboard written over it would lose the suite columns); returns the markdown."""
    from harness.report import across_suites, merge

    stored = RunFolder(folder).read_metrics()
    runs = {}
    for name, info in stored["suites"].items():
        path = Path(str(info.get("run")))
        if not RunFolder(path).metrics_file.is_file():
            raise HarnessError(f"{folder}: suite '{name}' ran in {path}, which is gone; the combined "
                               "leaderboard is rebuilt from the suites' run folders")
        runs[name] = merge.load_run(path)
    return across_suites.write(across_suites.combine(runs), folder, base=folder.parent.parent)


def _failed(name: str, reason: str, done: dict[str, Path]) -> str:
    finished = f"; completed before it: {', '.join(f'{n} ({p})' for n, p in done.items())}" if done else ""
    return (f"+exp=all: suite '{name}' failed: {reason}{finished}; no combined leaderboard was written "
            "(fix it and rerun: the completed suites come back from the caches)")


def _manifest(specs: dict[str, RunSpec], done: dict[str, Path], digest: str, overrides: list[str],
              seconds: dict[str, float]) -> dict[str, Any]:
    """The combined run's manifest: shared settings, each suite's spec and run folder, and the
    hashes ``compare`` checks (suites, task data) so two combined runs can be gated."""
    from harness.report import manifest

    first = next(iter(specs.values())).to_dict()
    hashes: dict[str, Any] = {"suite": {}, "task_data_sha256": {}, "base_model_sha256": None, "suite_runs": {}}
    for name, path in done.items():
        own = json.loads(RunFolder(path).manifest_file.read_text())
        got = own.get("hashes") or {}
        hashes["suite"][name] = got.get("suite")
        hashes["task_data_sha256"].update(got.get("task_data_sha256") or {})
        hashes["base_model_sha256"] = hashes["base_model_sha256"] or got.get("base_model_sha256")
        hashes["suite_runs"][name] = {"spec_hash": own.get("spec_hash"), "run": str(path)}
    combined_spec = {
        "exp_name": "all", "suites": list(specs), "overrides": list(overrides), "seed": first["seed"],
        "model": first["model"], "eval": first["eval"], "conditions": first["conditions"],
        "reference": first["reference"], "suite": {name: s.suite for name, s in specs.items()},
        "per_suite": {name: {k: v for k, v in s.to_dict().items() if k in ("retriever", "finetune")}
                      for name, s in specs.items()},
    }
    return manifest.build(combined_spec, digest, hashes, seconds, manifest.command_line())


def print_summary(folder: Path, combined: Any, done: dict[str, Path], seconds: dict[str, float]) -> None:
    """One screen on stdout: suite means, every task, where each suite's run folder is."""
    from harness.report import across_suites

    shown = across_suites.tables(combined)
    print(f"\n== all suites: {', '.join(done)} ==\n")
    for title, table in (shown[0], shown[2]):
        print(f"{title}\n\n{table.to_markdown()}\n")
    for name, path in done.items():
        print(f"{name:<10} {seconds[name]:7.1f}s  {path}")
    print(f"combined run folder: {folder}")
