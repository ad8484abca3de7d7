"""Alerts held overnight for the chats that asked for them in the morning.

A broadcast in the quiet hours writes, for each such chat, ``/held/{chat_id}/{broadcast_key}`` (which
announcement, its order, alert or correction) in the same ledger write that records ``held``
for the chat, and sets ``/state/held``. The first tick outside the quiet hours (08:00 KST by default)
sends each chat one message: the newest announcement it holds, with its figures as now recorded, and a
line naming every period it covers; the chat's entries are deleted in the write that records its
delivery, so nothing is sent twice. Pure functions only.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, NamedTuple

from coronabot.adapters.storage import layout
from coronabot.model.announcement import order_key
from coronabot.model.schedule import is_quiet

KIND_RANK = {"alert": 0, "correction": 1}  # a correction is newer than the alert it corrects


class HeldAlert(NamedTuple):
    """What one chat is owed in the morning."""

    broadcast: str  # the key of the newest broadcast it holds (its chart is that broadcast's)
    announcement: str
    kind: str  # alert, or correction when the chat got the alert before the quiet hours began
    periods: tuple[tuple[int, int, int], ...]  # every period the held broadcasts covered (order keys), oldest first
    paths: tuple[str, ...]  # the entries to delete once the chat is settled


def due(marker: object, now: datetime, quiet_hours: tuple[int, int] | None) -> bool:
    """Whether a tick at ``now`` delivers held alerts: some are held (``/state/held``) and the quiet hours,
    read on the Korean clock whatever the host's zone, are over (08:00 KST by default)."""
    return bool(marker) and not is_quiet(now, quiet_hours)


def entry(announcement: str, order: str, kind: str, at: str) -> dict[str, Any]:
    """The record of one held broadcast for one chat."""
    return {"announcement": announcement, "order": order, "kind": kind, "at": at}


def _rank(item: tuple[str, dict[str, Any]]) -> tuple[Any, ...]:
    key = order_key(item[1].get("order")) or (0, 0, 0)
    return key, KIND_RANK.get(str(item[1].get("kind")), 0), item[0]


def collapse(chat_id: str, entries: object) -> HeldAlert | None:
    """One chat's held broadcasts as the one message it gets, or None when no entry is readable (the
    caller drops them). ``paths`` lists every entry, damaged ones too, so one delivery clears them all."""
    if not isinstance(entries, dict):
        return None
    readable = [(key, value) for key, value in entries.items()
                if isinstance(value, dict) and isinstance(value.get("announcement"), str)
                and order_key(value.get("order")) is not None]
    if not readable:
        return None
    readable.sort(key=_rank)
    newest_key, newest = readable[-1]
    same = [value for _, value in readable if value["announcement"] == newest["announcement"]]
    kind = "alert" if any(value.get("kind") != "correction" for value in same) else "correction"
    periods: list[tuple[int, int, int]] = []
    for _, value in readable:
        period = order_key(value["order"])
        if period is not None and period not in periods:
            periods.append(period)
    return HeldAlert(newest_key, newest["announcement"], kind, tuple(periods),
                     tuple(layout.held(chat_id, key) for key in entries))
