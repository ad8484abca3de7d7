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
from typing import TextIO

_TOKEN_IN_URL = re.compile(r"bot\d{3,}:[A-Za-z0-9_-]{10,}")
_TOKEN_SHAPE = re.compile(r"\b\d{6,}:[A-Za-z0-9_-]{30,}\b")
_SEVERITY = {"WARNING": "WARNING", "ERROR": "ERROR", "CRITICAL": "CRITICAL", "INFO": "INFO", "DEBUG": "DEBUG"}


def redact(text: str) -> str:
    """Remove the configured secrets and anything shaped like a bot token."""
    for name in ("TELEGRAM_TOKEN", "TELEGRAM_WEBHOOK_SECRET", "DATA_PORTAL_SERVICE_KEY"):
        secret = os.environ.get(name, "").strip()
        if len(secret) >= 6:
            text = text.replace(secret, "<redacted>")
    text = _TOKEN_IN_URL.sub("bot<redacted>", text)
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


def setup(stream: TextIO | None = None) -> None:
    """Route all logging (ours, urllib3's, telepot's) to JSON lines on ``stream`` (default stdout).

    Without a stream this only installs the default once; the command line
    passes stderr so that its own output stays clean.
    """
    root = logging.getLogger()
    if stream is None and any(isinstance(h.formatter, JsonFormatter) for h in root.handlers):
        return
    for handler in list(root.handlers):
        root.removeHandler(handler)
    handler = logging.StreamHandler(stream or sys.stdout)
    handler.setFormatter(JsonFormatter())
    root.addHandler(handler)
    root.setLevel(os.environ.get("LOG_LEVEL", "INFO").upper())


def get(name: str) -> logging.Logger:
    """A logger that writes JSON lines; call ``info(msg, extra={"fields": {...}})``."""
    setup()
    return logging.getLogger(name)
