"""The history of a source as multi-path changes: each period under ``history/{source}/{id}``."""

from __future__ import annotations

from typing import Any

from coronabot.model.announcement import Announcement
from coronabot.model.history import FORMER_WORDS, REVISED_FIELDS

from . import layout


def history_changes(announcements: list[Announcement], synced_at: str) -> dict[str, Any]:
    """Multi-path changes that store or revise these periods in history, field by field, so a period the bot
    alerted keeps its ``first_seen`` and ``recorded_at``."""
    changes: dict[str, Any] = {}
    for announcement in announcements:
        record = announcement.to_record()
        changes.update({layout.history(announcement.source, announcement.id, field): record[field]
                        for field in REVISED_FIELDS})
        changes.update({layout.history(announcement.source, announcement.id, field): None for field in FORMER_WORDS})
        changes[layout.history(announcement.source, announcement.id, "synced_at")] = synced_at
    return changes
