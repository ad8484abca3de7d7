"""The deliver function's HTTP contract: a Cloud Tasks task's body, checked, handed to the chunk's delivery
(:mod:`coronabot.alerts.chunks`); 400 for a body no task of ours has, 405 for another method."""

from __future__ import annotations

import json
import re
from typing import Any

from coronabot import config, log
from coronabot.alerts.chunks import Deliverer
from coronabot.entry.failures import answered

logger = log.get("coronabot.deliver")

_KEY = re.compile(r"[A-Za-z0-9_.-]{1,300}")
MAX_CHUNK = 10_000_000


def _count(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value < MAX_CHUNK


def parse_task(body: bytes) -> tuple[str, int, int] | None:
    """The broadcast key, chunk and generation a task's body names (a task of an earlier version has no
    generation: 0), or None when it is not a task of ours."""
    try:
        task = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(task, dict) or set(task) - {"generation"} != {"broadcast", "chunk"}:
        return None
    key, chunk, generation = task["broadcast"], task["chunk"], task.get("generation", 0)
    if not isinstance(key, str) or not _KEY.fullmatch(key) or not _count(chunk) or not _count(generation):
        return None
    return key, chunk, generation



_deliverer: Deliverer | None = None


def handle_request(method: str, body: bytes, headers: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    """The deliver function's HTTP contract: one chunk per task (see the module's docstring)."""
    if method != "POST":
        return 405, {"error": "use POST"}
    task = parse_task(body)
    if task is None:
        logger.warning("a request that is not a chunk task; refused", extra={"fields": {"bytes": len(body)}})
        return 400, {"status": "error", "error": "the body must be {\"broadcast\": KEY, \"chunk\": N}"}

    def run() -> tuple[int, dict[str, Any]]:
        global _deliverer
        if _deliverer is None:
            _deliverer = Deliverer(config.load())
        key, chunk, generation = task
        return _deliverer.deliver(key, chunk, str(headers.get("X-CloudTasks-TaskRetryCount", "")), generation)

    return answered("deliver", run)
