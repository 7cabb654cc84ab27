"""API keys never reach a log line, a traceback or a file the harness writes.

The harness reads keys from the environment only: the config names the variable
(``model.api_key_env``, ``judge.api_key_env``, ``generator.api_key_env``) and a key given in the
config itself is refused (:func:`check_config`). But the libraries it calls log what they hold:
lm-eval's API client logs ``Exception: {e!r}`` on every failed request, and aiohttp's error repr
carries the request headers (``Authorization: Bearer <key>``). So :func:`install` redacts every
log record the process emits — a filter on the root logger and on every handler (Hydra's console
and ``<job>.log`` file included), and a record factory for loggers with their own handlers that
are configured later (lm-eval's) — and the text of uncaught exceptions and warnings.

What is redacted: the value of every key the harness reads (:func:`register`, called by
:meth:`harness.models.endpoint.Endpoint.api_key` and for every ``*api_key_env`` of a config),
of environment variables named like keys (``*_API_KEY``, ``*_TOKEN``, ``*_SECRET``), and any
``Authorization: …``, ``Bearer …``, ``api_key=…`` or ``://user:password@`` in the text.
"""

from __future__ import annotations

import logging
import os
import re
import sys
import threading
import traceback
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from harness.errors import HarnessError

MASK = "***"
_SECRETS: set[str] = set()
_KEY_NAMES = re.compile(r"(^|_)(API_?KEY|TOKEN|SECRET|PASSWORD|PASSWD)$", re.IGNORECASE)
_STOP = r"""[^\s'",;)>\]}]+"""
_PATTERNS = [
    (re.compile(r"""(authorization['"]?\s*[:=]\s*['"]?)(?:(?:bearer|basic|token)\s+)?""" + _STOP, re.I), rf"\g<1>{MASK}"),
    (re.compile(r"(bearer\s+)(?!\*\*\*)" + _STOP, re.I), rf"\g<1>{MASK}"),
    (re.compile(r"""((?:api[_-]?key|x-api-key)['"]?\s*[:=]\s*['"]?)[\w.~+/=-]{8,}""", re.I), rf"\g<1>{MASK}"),
    (re.compile(r"(://[^/\s:@'\"]+:)[^@\s/'\"]+@"), rf"\g<1>{MASK}@"),
]
# config keys that would hold a secret themselves (the harness only ever takes the variable's name)
_SECRET_KEYS = {"api_key", "apikey", "token", "access_token", "hf_token", "password", "secret", "authorization"}


def register(value: str | None, min_length: int = 4) -> None:
    """Redact ``value`` (a key the harness read) from everything logged from now on."""
    if value and len(value.strip()) >= min_length:
        _SECRETS.add(value.strip())


def register_environment() -> None:
    """Every environment variable named like a key (``OPENAI_API_KEY``, ``HF_TOKEN``, ...)."""
    for name, value in os.environ.items():
        if _KEY_NAMES.search(name):
            register(value, min_length=8)


def redact(text: str) -> str:
    """``text`` with every registered key and every auth header or token in it masked."""
    if not text:
        return text
    for secret in sorted(_SECRETS, key=len, reverse=True):
        if secret in text:
            text = text.replace(secret, MASK)
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def scrub(record: logging.LogRecord) -> None:
    """Redact one log record in place: its message (args merged in), exception and stack text."""
    try:
        message = record.getMessage()
    except Exception:  # noqa: BLE001 - a record with bad args still logs, redacted
        message = f"{record.msg} {record.args!r}"
    record.msg, record.args = redact(message), None
    if record.exc_info:
        if not record.exc_text:
            record.exc_text = "".join(traceback.format_exception(*record.exc_info)).rstrip("\n")
        record.exc_info = None  # formatters print exc_text; the live exception (and its repr) goes
    if record.exc_text:
        record.exc_text = redact(record.exc_text)
    if record.stack_info:
        record.stack_info = redact(record.stack_info)


class RedactingFilter(logging.Filter):
    """A logging filter that passes every record, redacted (:func:`scrub`)."""

    def filter(self, record: logging.LogRecord) -> bool:
        scrub(record)
        return True


FILTER = RedactingFilter()
_installed: dict[str, Any] = {}


def _record_factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
    record = _installed["factory"](*args, **kwargs)
    scrub(record)
    return record


def _excepthook(kind: type[BaseException], value: BaseException, tb: Any) -> None:
    sys.stderr.write(redact("".join(traceback.format_exception(kind, value, tb))))


def _thread_excepthook(args: Any) -> None:
    name = args.thread.name if args.thread is not None else "?"
    sys.stderr.write(f"Exception in thread {name}:\n")
    _excepthook(args.exc_type, args.exc_value, args.exc_traceback)


def install() -> None:
    """Redact every log record from here on: the filter on the root logger and on every handler
    of every logger that exists now (call again after Hydra configures logging), the record
    factory (handlers added later), uncaught exceptions and warnings. Idempotent."""
    register_environment()
    root = logging.getLogger()
    loggers = [root, *(x for x in logging.Logger.manager.loggerDict.values() if isinstance(x, logging.Logger))]
    for target in (root, *(h for logger in loggers for h in logger.handlers)):
        if FILTER not in target.filters:
            target.addFilter(FILTER)
    if "factory" not in _installed:
        _installed["factory"] = logging.getLogRecordFactory()
        logging.setLogRecordFactory(_record_factory)
        sys.excepthook = _excepthook
        threading.excepthook = _thread_excepthook
        original = warnings.formatwarning
        warnings.formatwarning = lambda *a, **k: redact(original(*a, **k))  # type: ignore[assignment]


def check_config(config: Any, where: str = "") -> None:
    """Register the key behind every ``*api_key_env`` of a config; refuse a key in the config."""
    if isinstance(config, Mapping):
        for key, value in config.items():
            path = f"{where}.{key}" if where else str(key)
            if str(key).endswith("api_key_env") and isinstance(value, str):
                register(os.environ.get(value))
            elif str(key).lower() in _SECRET_KEYS and value not in (None, ""):
                register(str(value))
                parent = f"{where}." if where else ""
                raise HarnessError(f"{path}: the config never holds a key (it would be written to the run folder); "
                                   f"export it as an environment variable and name that: {parent}api_key_env=<VARIABLE>")
            else:
                check_config(value, path)
    elif isinstance(config, (list, tuple)):
        for i, value in enumerate(config):
            check_config(value, f"{where}[{i}]")


def redact_files(folder: Path) -> None:
    """Rewrite every text file under ``folder`` that holds a registered key, the key masked."""
    for path in (p for p in folder.rglob("*") if p.is_file()) if folder.is_dir() else ():
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        if any(secret in text for secret in _SECRETS):
            path.write_text(redact(text), encoding="utf-8")
