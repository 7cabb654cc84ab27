"""Find a public dataset's files on this machine and read them, never downloading by surprise.

A hub suite names the dataset repositories it reads and, per part (a split, the corpus, the
qrels), the file patterns inside a repository, as the files lie on the Hugging Face hub. The
files are looked for in ``suite.data_dir`` (a pre-downloaded copy in the same layout), else in
the local hub cache (``hf download … --repo-type dataset`` puts them there); only when the user
has switched the offline variables off (``HF_HUB_OFFLINE=0 HF_DATASETS_OFFLINE=0``; the harness
sets both to 1 unless told otherwise) are the matching files fetched. When the files are not
here, one ``HarnessError`` says how to get them.
"""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness import cache
from harness.errors import HarnessError

OFFLINE_VARS = ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE")


@dataclass(frozen=True)
class HubSource:
    """Where a hub suite's raw data lives: repositories and, per part, file patterns in them.

    ``parts`` maps a part name (``train``, ``test``, ``corpus`` …) to ``(repo key, patterns)``;
    the first pattern that matches any file wins, so one source can accept the hub layout and
    the dataset's original release layout. ``optional`` parts may be absent.
    """

    repos: Mapping[str, str]  # key -> "org/name"
    parts: Mapping[str, tuple[str, Sequence[str]]]
    licence: str
    homepage: str = ""
    optional: frozenset[str] = field(default_factory=frozenset)


@dataclass(frozen=True)
class RawData:
    """The files found for each part, and what identifies them (for the cache key and the card)."""

    files: dict[str, list[Path]]
    origin: dict[str, str]  # repo key -> "data_dir <path>" or "hub cache <repo>@<commit>"
    files_hash: str


def offline() -> bool:
    """True unless the user explicitly switched both hub and datasets offline modes off."""
    return any(os.environ.get(name, "1").strip().lower() not in ("0", "false", "no", "off", "")
               for name in OFFLINE_VARS)


def predownload_help(repo_ids: Sequence[str]) -> str:
    """The commands that put a dataset where a run finds it, and the variables a run uses."""
    ids = list(dict.fromkeys(repo_ids))
    cli = "\n".join(f"  hf download {rid} --repo-type dataset      (older huggingface_hub: huggingface-cli download "
                    f"--repo-type dataset {rid})" for rid in ids)
    py = "; ".join(f"snapshot_download('{rid}', repo_type='dataset')" for rid in ids)
    return (
        "Pre-download it on a machine with network access:\n"
        f"{cli}\n"
        f"  or: python -c \"from huggingface_hub import snapshot_download; {py}\"\n"
        "and copy the hub cache (HF_HUB_CACHE, default ~/.cache/huggingface/hub) here; runs read it with "
        "HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 (the harness sets both). Or point suite.data_dir=<folder> at "
        "a copy of the repository's files. Set HF_HUB_OFFLINE=0 HF_DATASETS_OFFLINE=0 to let the run download them."
    )


def _snapshot(repo_id: str, revision: str | None, patterns: Sequence[str]) -> Path | None:
    """The local snapshot folder of a dataset repository (downloading only when online)."""
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import LocalEntryNotFoundError

    try:
        if offline():
            return Path(snapshot_download(repo_id, repo_type="dataset", revision=revision, local_files_only=True))
        allow = [p for pat in patterns for p in (pat, pat + ".*")]
        return Path(snapshot_download(repo_id, repo_type="dataset", revision=revision, allow_patterns=allow))
    except LocalEntryNotFoundError:
        return None
    except Exception as err:  # noqa: BLE001 - network or auth failure: same advice, with the cause
        raise HarnessError(f"dataset '{repo_id}' could not be fetched ({type(err).__name__}: {err}).\n"
                           f"{predownload_help([repo_id])}") from err


def _match(root: Path, patterns: Sequence[str]) -> list[Path]:
    """Files under ``root`` matching the first pattern that matches anything (sorted)."""
    files = sorted(p for p in root.rglob("*") if p.is_file())
    for pattern in patterns:
        hits = [p for p in files if fnmatch.fnmatch(p.relative_to(root).as_posix(), pattern)]
        if hits:
            return hits
    return []


def locate(name: str, source: HubSource, data_dir: Path | None, revision: str | None = None) -> RawData:
    """Find every part's files: in ``data_dir`` when given, else in the hub cache (see module doc)."""
    roots: dict[str, Path] = {}
    origin: dict[str, str] = {}
    for key, repo_id in source.repos.items():
        if data_dir is not None:
            if not data_dir.is_dir():
                raise HarnessError(f"suite.data_dir={data_dir}: no such folder (the pre-downloaded copy of "
                                   f"'{repo_id}' for suite '{name}')")
            roots[key], origin[key] = data_dir, f"data_dir {data_dir}"
            continue
        patterns = [p for k, pats in source.parts.values() if k == key for p in pats]
        snap = _snapshot(repo_id, revision if key == next(iter(source.repos)) else None, patterns)
        if snap is None:
            where = f" at revision {revision}" if revision else ""
            raise HarnessError(f"suite '{name}': dataset '{repo_id}'{where} is not available offline (not in the "
                               f"Hugging Face hub cache, and suite.data_dir is not set).\n"
                               f"{predownload_help(list(source.repos.values()))}")
        roots[key], origin[key] = snap, f"hub cache {repo_id}@{snap.name}"
    files: dict[str, list[Path]] = {}
    for part, (key, patterns) in source.parts.items():
        found = _match(roots[key], patterns)
        if not found and part not in source.optional:
            raise HarnessError(
                f"suite '{name}': no file for part '{part}' of dataset '{source.repos[key]}' in {roots[key]} "
                f"(looked for {', '.join(patterns)}); is this a complete copy of the repository?\n"
                f"{predownload_help([source.repos[key]])}")
        files[part] = found
    digest = cache.hash_json({part: [cache.hash_file(p) for p in paths] for part, paths in sorted(files.items())})
    return RawData(files, origin, digest)


_BUILDERS = {".parquet": ("parquet", {}), ".jsonl": ("json", {}), ".json": ("json", {}),
             ".csv": ("csv", {}), ".tsv": ("csv", {"sep": "\t"})}


def _builder(path: Path) -> tuple[str, dict[str, Any]]:
    suffixes = [s for s in path.suffixes if s not in (".gz", ".bz2", ".xz", ".zst")]
    suffix = suffixes[-1] if suffixes else ""
    if suffix not in _BUILDERS:
        raise HarnessError(f"{path}: cannot read a '{suffix or path.name}' file as a table "
                           f"(expected {', '.join(_BUILDERS)})")
    return _BUILDERS[suffix]


def read_table(paths: Sequence[Path]) -> list[dict[str, Any]]:
    """Rows of parquet / JSON(L) / CSV / TSV files (optionally compressed) via ``datasets``.

    Read through ``datasets.load_dataset`` — the loader every hub user has — into the harness
    cache, so the arrow copy never lands in the user's datasets cache by surprise.
    """
    import datasets

    if not paths:
        return []
    builder, kwargs = _builder(paths[0])
    try:
        table = datasets.load_dataset(builder, data_files=[str(p) for p in paths], split="train",
                                      cache_dir=str(cache.cache_root() / "hub_raw"), **kwargs)
    except Exception as err:  # noqa: BLE001 - any parse error: name the file
        raise HarnessError(f"{paths[0]}: cannot be read as {builder} ({type(err).__name__}: {err})") from err
    return table.to_list()
