"""The scrape function's HTTP contract: one tick per call (:mod:`coronabot.tick.ticker`), its summary as JSON
with the status Cloud Scheduler reads (:mod:`coronabot.tick.summary`)."""

from __future__ import annotations

from typing import Any

from coronabot import config
from coronabot.entry.failures import answered
from coronabot.tick.ticker import Ticker

_ticker: Ticker | None = None


def handle_request(method: str) -> tuple[int, dict[str, Any]]:
    """The scrape function's HTTP contract: run a tick, answer its JSON summary and a telling status."""
    if method not in ("POST", "GET"):
        return 405, {"error": "use POST"}

    def run() -> tuple[int, dict[str, Any]]:
        global _ticker
        if _ticker is None:
            settings = config.load()
            settings.require_token()  # a misconfigured function says so before it records anything
            settings.require_fanout()
            _ticker = Ticker(settings)
        summary = _ticker.tick()
        return summary.http_status, summary.as_dict()

    return answered("scrape", run)
