"""What one scrape tick came to: typed, and the one place that turns it into an HTTP status.

Cloud Scheduler reads the status: 200 when the tick is done, 502 when the source failed, 503 while a
broadcast (or the morning delivery) has chats left, so its retry resumes it. The JSON body, also stored as
``state/last_tick``, is :meth:`TickSummary.as_dict`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from coronabot.alerts.report import NOTHING, BroadcastReport

DONE, FAILED, UNFINISHED = 200, 502, 503
STATUSES = ("unchanged", "pending", "alerted", "corrected", "resumed", "idle", "error")


@dataclass
class TickSummary:
    """One tick: its ``status`` (one of STATUSES), the announcement it is about, what its broadcast and the
    morning delivery came to, and notes (the error, why it was idle, a broadcast resumed before a new one)."""

    status: str
    source: str
    announcement: str | None = None
    broadcast: BroadcastReport = NOTHING
    morning: BroadcastReport = NOTHING
    notes: dict[str, Any] = field(default_factory=dict[str, Any])
    at: str = ""

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"unknown tick status {self.status!r}")

    @property
    def http_status(self) -> int:
        """A failure or an unfinished broadcast is not a 200, so Cloud Scheduler shows it and retries."""
        if self.status == "error":
            return FAILED
        return UNFINISHED if self.broadcast.unfinished or self.morning.unfinished else DONE

    def as_dict(self) -> dict[str, Any]:
        """The JSON the function answers and the state keeps."""
        if self.status == "idle":
            return {"status": "idle", "source": self.source, **self.notes}
        summary = {"status": self.status, "source": self.source, "announcement": self.announcement,
                   "sent": 0, "failed": 0, "removed": 0, "pending": 0, **self.broadcast.fields(), **self.notes}
        if self.morning.counts or self.morning.busy:
            summary["morning"] = self.morning.fields()
        if self.at:
            summary["at"] = self.at
        return summary
