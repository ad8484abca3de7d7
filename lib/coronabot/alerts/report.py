"""What one broadcast attempt reports to the tick or the morning delivery that made it: its counts, or busy.
(One run's own figures are ``alerts.sending.BroadcastResult``.)"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class BroadcastReport:
    """What one broadcast attempt of a tick came to: its counts as reported (sent, failed, removed, pending,
    the broadcast's key, a fan-out's plan...), or that another run holds it (``busy``)."""

    counts: dict[str, Any] = field(default_factory=dict[str, Any])
    busy: bool = False

    @property
    def unfinished(self) -> bool:
        """Chats are left (pending, unread or not planned yet): the next call goes on."""
        return bool(self.counts.get("pending") or self.counts.get("unread"))

    @property
    def happened(self) -> bool:
        """Something was resumed or sent (not nothing, not another run's)."""
        return bool(self.counts) and not self.busy

    def fields(self) -> dict[str, Any]:
        return {**self.counts, **({"busy": True} if self.busy else {})}


NOTHING = BroadcastReport()
