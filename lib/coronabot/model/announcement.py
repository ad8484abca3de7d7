"""The announcement: one publication of official figures, as a source reports it.

In memory an announcement carries the source's Korean words (its period, headline, note, each figure's
label and unit: what a message shows). Its record (``to_record``) holds values only: the period's order, each
figure's value by its key, the page it came from; the words come from the source again when it is read
(``sources.restore``), so no stored record has to change when the words do."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from datetime import date
from typing import Any, NamedTuple

_WEEK_ORDER = re.compile(r"(\d{4})-W(\d{2})")
_DATE_ORDER = re.compile(r"(\d{4})-(\d{2})-(\d{2})")


def order_key(order: object) -> tuple[int, int, int] | None:
    """An announcement's order as numbers that compare correctly, or None when it is not a well-formed
    ``YYYY-Www`` (week 1–53) or ``YYYY-MM-DD``: orders are never compared as text, where "26-W47" would
    sort after "2026-W39"."""
    if not isinstance(order, str):
        return None
    week = _WEEK_ORDER.fullmatch(order)
    if week:
        year, number = int(week.group(1)), int(week.group(2))
        return (year, number, 0) if 1 <= number <= 53 else None
    day = _DATE_ORDER.fullmatch(order)
    if day:
        try:
            parsed = date(int(day.group(1)), int(day.group(2)), int(day.group(3)))
        except ValueError:
            return None
        return parsed.year, parsed.month, parsed.day
    return None


class Figure(NamedTuple):
    """One published number with its Korean label; ``kind`` is cumulative, new or weekly.

    ``compared_with`` names the figure holding the same count for the previous period, when the
    source publishes that too, so the message can show both published numbers side by side.
    """

    key: str
    label: str
    value: int
    kind: str
    unit: str = "명"
    compared_with: str = ""


class Announcement(NamedTuple):
    """A source's publication, identified by its own date or week.

    ``id`` is unique within the source and ``order`` sorts publications of one
    source in time (an ISO date, or ``YYYY-Www`` for weekly series), so an old
    page is never mistaken for a new one.
    """

    source: str
    id: str
    order: str
    period: str
    figures: tuple[Figure, ...]
    url: str
    headline: str
    note: str = ""

    @property
    def key(self) -> tuple[int, int, int]:
        """Where the announcement sorts in time (``order_key`` of its order); a source only makes
        announcements whose order reads, so ValueError here is a bug of the source."""
        key = order_key(self.order)
        if key is None:
            raise ValueError(f"an announcement whose order does not read: {self.order!r}")
        return key

    def figure(self, key: str) -> Figure | None:
        """The figure with this key, or None."""
        return next((f for f in self.figures if f.key == key), None)

    def digest(self) -> str:
        """A short fingerprint of the figures: a change means the agency corrected them."""
        canonical = json.dumps([[f.key, f.value] for f in self.figures], separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()[:16]

    def values(self) -> dict[str, int]:
        """Each published figure by its key."""
        return {figure.key: figure.value for figure in self.figures}

    def revises(self, recorded: Mapping[str, int]) -> bool:
        """Whether these figures correct the recorded ones (``recorded``: a record's values): a figure whose
        value differs, or that the record lacks. A recorded figure missing here (its period now shows a
        placeholder) is no correction."""
        return any(recorded.get(figure.key) != figure.value for figure in self.figures)

    def to_record(self) -> dict[str, Any]:
        """The database form: values only (the words are the source's, given again when it is read)."""
        return {"source": self.source, "id": self.id, "order": self.order, "figures": self.values(),
                "url": self.url, "digest": self.digest()}


def recorded_values(record: object) -> dict[str, int]:
    """The figures a stored announcement record holds, by key: ``{key: value}`` as this version writes it,
    or the list of ``{key, label, value, ...}`` objects of earlier versions (an array Realtime Database may
    answer as an object keyed "0", "1"...). What does not read as a count is left out."""
    figures = record.get("figures") if isinstance(record, dict) else None
    if isinstance(figures, dict) and all(isinstance(v, dict) for v in figures.values()):
        figures = list(figures.values())  # an earlier version's list, answered as an object
    if isinstance(figures, dict):
        pairs = list(figures.items())
    elif isinstance(figures, list):
        pairs = [(f.get("key"), f.get("value")) for f in figures if isinstance(f, dict)]
    else:
        return {}
    return {key: value for key, value in pairs
            if isinstance(key, str) and isinstance(value, int) and not isinstance(value, bool)}
