"""Structured logging: one JSON object per line on stdout, secrets redacted.

Cloud Logging reads ``severity`` and ``message`` from such lines without a
client library. Every line passes through :func:`redact`, so neither the bot
token (which telepot and urllib3 put in URLs) nor the webhook secret can leak.
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
import threading
from functools import lru_cache
from types import TracebackType
from typing import TextIO
from urllib.parse import quote, quote_plus

from coronabot.config import VARIABLES

_TOKEN_IN_URL = re.compile(r"bot\d{3,}:[A-Za-z0-9_-]{10,}")
_TOKEN_SHAPE = re.compile(r"\b\d{6,}:[A-Za-z0-9_-]{30,}\b")
_TOKEN_SHAPE_ENCODED = re.compile(r"\b\d{6,}%3[Aa][A-Za-z0-9_-]{30,}")
_SEVERITY = {"WARNING": "WARNING", "ERROR": "ERROR", "CRITICAL": "CRITICAL", "INFO": "INFO", "DEBUG": "DEBUG"}
SECRET_VARIABLES = tuple(variable.name for variable in VARIABLES if variable.secret)


@lru_cache(maxsize=16)
def _forms(secret: str) -> tuple[str, ...]:
    """The secret as it may appear in output: raw, and percent-encoded in a URL (both cases of the hex
    digits, with + or %20 for a space), longest first so a longer form is never left half replaced."""
    forms = {secret}
    for encoded in (quote(secret, safe=""), quote_plus(secret, safe=""), quote(secret, safe="/:")):
        forms.add(encoded)
        forms.add(re.sub(r"%[0-9A-F]{2}", lambda m: m.group(0).lower(), encoded))
    return tuple(sorted(forms, key=len, reverse=True))


def redact(text: str) -> str:
    """Remove the configured secrets (raw or URL-encoded) and anything shaped like a bot token."""
    for name in SECRET_VARIABLES:
        secret = os.environ.get(name, "").strip()
        if len(secret) >= 6:
            for form in _forms(secret):
                text = text.replace(form, "<redacted>")
    text = _TOKEN_IN_URL.sub("bot<redacted>", text)
    text = _TOKEN_SHAPE_ENCODED.sub("<redacted>", text)
    return _TOKEN_SHAPE.sub("<redacted>", text)


class JsonFormatter(logging.Formatter):
    """Formats a record as one JSON line; extra fields given as ``extra={"fields": {...}}``."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "severity": _SEVERITY.get(record.levelname, "DEFAULT"),
            "message": record.getMessage(),
            "logger": record.name,
        }
        entry.update(getattr(record, "fields", None) or {})
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return redact(json.dumps(entry, ensure_ascii=False, default=str))


def _log_uncaught(exc_type: type[BaseException], exc: BaseException | None, tb: TracebackType | None,
                  thread_name: str | None = None) -> None:
    exc = exc if exc is not None else exc_type()  # a thread's hook may have no exception value
    if issubclass(exc_type, KeyboardInterrupt):
        sys.__excepthook__(exc_type, exc, tb)
        return
    where = f"in thread {thread_name}" if thread_name else "in the main thread"
    logging.getLogger("coronabot").critical("uncaught exception %s", where, exc_info=(exc_type, exc, tb))


def _thread_hook(args: threading.ExceptHookArgs) -> None:
    if args.exc_type is SystemExit:
        return
    _log_uncaught(args.exc_type, args.exc_value, args.exc_traceback,
                  args.thread.name if args.thread is not None else "?")


def setup(stream: TextIO | None = None) -> None:
    """Route all logging (ours, urllib3's, telepot's) to JSON lines on ``stream`` (default stdout), and the
    tracebacks of uncaught exceptions (any thread's) through the same redacting formatter.

    Without a stream this only installs the default once; the command line
    passes stderr so that its own output stays clean.
    """
    sys.excepthook = _log_uncaught
    threading.excepthook = _thread_hook
    root = logging.getLogger()
    if stream is None and any(isinstance(h.formatter, JsonFormatter) for h in root.handlers):
        return
    for handler in list(root.handlers):
        root.removeHandler(handler)
    handler = logging.StreamHandler(stream or sys.stdout)
    handler.setFormatter(JsonFormatter())
    root.addHandler(handler)
    level = os.environ.get("LOG_LEVEL", "").strip().upper() or "INFO"
    # An unknown level is reported by config.load() as a configuration error; logging itself goes on at INFO.
    root.setLevel(level if isinstance(logging.getLevelName(level), int) else "INFO")


def get(name: str) -> logging.Logger:
    """A logger that writes JSON lines; call ``info(msg, extra={"fields": {...}})``."""
    setup()
    return logging.getLogger(name)
