"""Hub-backed suites: public datasets converted into the suite format, once, into the cache.

``suite.hub=<name>`` (conf/suite/<name>.yaml) makes a run read the dataset's files (from
``suite.data_dir`` or the local Hugging Face hub cache; see ``source``), convert them with the
dataset's converter (one module each) and publish the result as a content-hashed cache entry
``<cache>/hub_suites/<key>/``: key = converter code × options × the raw files' hashes. The entry is
an ordinary suite folder, so retrieval, fine-tuning and evaluation run exactly as for the
shipped suites. Datasets, mappings and licences: docs/hub-suites.md.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness import cache
from harness.errors import HarnessError
from harness.registry import Registry

if TYPE_CHECKING:
    from harness.suites.hub.writer import HubConverter

# name -> the converter module's CONVERTER, imported on first use
HUB_SUITES: Registry[HubConverter] = Registry("hub suite")
for _name in ("pubmedqa", "medqa", "medmcqa", "mmlu_clinical", "fiqa", "phrasebank", "agxqa", "kisanvaani"):
    HUB_SUITES.register(_name, f"harness.suites.hub.{_name}:CONVERTER")
# suite.* keys every hub suite takes (beside the converter's own OPTIONS)
COMMON = {"name": None, "hub": None, "path": None, "n_docs": None, "data_dir": None, "revision": None,
          "max_train": None, "max_eval": None, "seed": 0}
_RUN_ONLY = ("path", "n_docs", "data_dir")  # do not change the conversion (data_dir: its files' hashes do)


def converter(name: str) -> HubConverter:
    """The converter of a hub suite (its source, options and conversion)."""
    try:
        return HUB_SUITES.get(name)
    except HarnessError as err:
        raise HarnessError(f"suite.hub={name!r}: {err}") from None


def options(name: str, settings: Mapping[str, Any]) -> dict[str, Any]:
    """The suite settings over the defaults; unknown keys and bad limits are errors naming the key."""
    known = COMMON | dict(converter(name).options)
    unknown = sorted(set(settings) - set(known))
    if unknown:
        raise HarnessError(f"suite.{unknown[0]}: unknown setting for hub suite '{name}' (known: {', '.join(sorted(known))})")
    opts = {**known, **{k: v for k, v in settings.items() if v is not None}}
    for key in ("max_train", "max_eval"):
        if opts[key] is not None and (not isinstance(opts[key], int) or opts[key] < 1):
            raise HarnessError(f"suite.{key}={opts[key]!r}: expected a positive integer or null (all rows)")
    if "eval_fraction" in opts and not 0.0 < float(opts["eval_fraction"]) < 1.0:
        raise HarnessError(f"suite.eval_fraction={opts['eval_fraction']!r}: expected a number between 0 and 1")
    return opts


def _code_hash() -> str:
    here = Path(__file__).resolve().parent
    return cache.hash_json({p.name: cache.hash_file(p) for p in sorted(here.glob("*.py"))})


def materialize_hub_suite(settings: Mapping[str, Any], data_dir: Path | None = None) -> Path:
    """The converted suite folder for ``settings`` (conf/suite/<name>.yaml), built when missing.

    ``data_dir`` is ``settings["data_dir"]`` resolved by the caller (relative to the launch dir).
    """
    from harness.suites.hub.source import locate
    from harness.suites.hub.writer import write_suite

    name = str(settings.get("hub"))
    conv = converter(name)
    opts = options(name, settings)
    raw = locate(name, conv.source, data_dir, opts["revision"])
    conversion = {k: v for k, v in opts.items() if k not in _RUN_ONLY}
    key = cache.hash_json({"hub": name, "options": conversion, "raw": raw.files_hash, "code": _code_hash()})

    def build(scratch: Path) -> None:
        provenance = [f"{k}: {v}" for k, v in raw.origin.items()] + [
            f"licence: {conv.source.licence}", f"homepage: {conv.source.homepage}", f"options: {conversion}"]
        write_suite(scratch, str(settings.get("name") or name), conv.convert(raw, opts), provenance)

    return cache.get_or_build("hub_suites", key, build, load=lambda entry: entry)


__all__ = ["HUB_SUITES", "converter", "materialize_hub_suite", "options"]
