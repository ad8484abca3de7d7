"""The history of a source as multi-path changes: each period under ``history/{source}/{id}``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import layout

if TYPE_CHECKING:
    from coronabot.model.announcement import Announcement

# Fields of a history record that a later revision of the source rewrites; first_seen and recorded_at stay.
REVISED_FIELDS = ("source", "id", "order", "figures", "url", "digest")
# What records of earlier versions also held, the source's words of the time: dropped when one is rewritten.
FORMER_WORDS = ("period", "headline", "note")


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
