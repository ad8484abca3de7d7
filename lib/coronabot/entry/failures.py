"""What the private functions (scrape, deliver) answer when a call fails instead of finishing: a JSON body,
a status their caller (Cloud Scheduler, Cloud Tasks) reads as "retry later" (503) or "broken" (500), and
one log line, whatever broke."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from coronabot import config, log
from coronabot.errors import DatabaseError

logger = log.get("coronabot.failures")


def answered(what: str, run: Callable[[], tuple[int, dict[str, Any]]]) -> tuple[int, dict[str, Any]]:
    """``run()``'s answer, or the answer for the failure it raised (``what`` names the function)."""
    try:
        return run()
    except config.ConfigError as exc:
        logger.error("%s is misconfigured: %s", what, exc)
        return 500, {"status": "error", "error": f"configuration: {exc}"}
    except DatabaseError as exc:
        logger.error("database unavailable: %s", exc)
        return 503, {"status": "error", "error": "database unavailable"}
    except Exception as exc:  # a JSON answer and a log line, whatever broke
        logger.exception("%s failed unexpectedly", what)
        return 500, {"status": "error", "error": f"unexpected: {type(exc).__name__}"}
