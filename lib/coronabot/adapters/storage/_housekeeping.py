"""Housekeeping records: late-announcement notices, updates already answered, and pruning what is old."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from coronabot.errors import AlreadyDone

from . import layout
from ._records import child_keys

HANDLED_UPDATE_TTL_SECONDS = 2 * 24 * 3600
FINISHED_BROADCAST_TTL_SECONDS = 30 * 24 * 3600


class Housekeeping:
    """The part of ``Database`` that keeps marks so nothing is told or answered twice, and drops old ones."""

    ref: Any  # Database.ref
    update: Any  # Database.update

    def transaction_or_none(self, path: str, take: Callable[[object], Any]) -> Any:
        """Run ``take`` in a transaction at ``path``; None when it raised AlreadyDone (nothing written)."""
        try:
            return self.ref(path).transaction(take)
        except AlreadyDone:
            return None

    def claim_late_notice(self, source: str, notice: dict[str, Any]) -> bool:
        """Record that the admins are told ``notice["window_start"]`` is late; False when a tick already did
        (a transaction, so concurrent ticks tell them once)."""
        def take(current: object) -> dict[str, Any]:
            if isinstance(current, dict) and current.get("window_start") == notice["window_start"]:
                raise AlreadyDone(source)
            return notice

        resolved: dict[str, Any] | None = self.transaction_or_none(layout.state("late_notice", source), take)
        return resolved is not None

    def resolve_late_notice(self, source: str, arrived_at: str) -> dict[str, Any] | None:
        """Mark the late announcement as arrived and return the notice; None when there was no open notice or
        another tick resolved it first (a transaction, so the admins hear of the arrival once)."""
        def take(current: object) -> dict[str, Any]:
            if not isinstance(current, dict) or current.get("arrived_at"):
                raise AlreadyDone(source)
            return dict(current, arrived_at=arrived_at)

        resolved: dict[str, Any] | None = self.transaction_or_none(layout.state("late_notice", source), take)
        return resolved

    # redelivered updates -------------------------------------------------------
    def claim_update(self, update_id: int) -> bool:
        """Mark an update as answered through sendMessage; False if an earlier delivery did."""
        ref = self.ref(layout.handled_update(update_id))
        current, etag = ref.get(etag=True)
        if current is not None:
            return False
        written, _, _ = ref.set_if_unchanged(etag, {"at": time.time()})
        return bool(written)

    def prune(self, now: float) -> int:
        """Drop what no longer matters: handled-update and unsubscribe marks after two days (Telegram
        redelivers for at most one) and finished broadcasts with their ledgers after 30 days.
        Returns how many went."""
        old_marks = [f"{marks}/{key}" for marks in ("handled_updates", "unsubscribed")
                     for key in child_keys(self.ref(marks).order_by_child("at")
                                           .end_at(now - HANDLED_UPDATE_TTL_SECONDS).limit_to_first(500).get())]
        old_broadcasts = child_keys(self.ref(layout.BROADCASTS).order_by_child("finished_at").start_at(0)
                                    .end_at(now - FINISHED_BROADCAST_TTL_SECONDS).limit_to_first(20).get())
        changes: dict[str, None] = dict.fromkeys(old_marks)
        for key in old_broadcasts:
            changes[layout.broadcast(key)] = None
            changes[layout.deliveries(key)] = None
            changes[layout.fanout(key)] = None
        self.update(changes)
        return len(old_marks) + len(old_broadcasts)
