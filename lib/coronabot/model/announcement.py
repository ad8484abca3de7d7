"""The announcement: one publication of official figures, as a source reports it."""

from __future__ import annotations

import hashlib
import json
import re
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

    def revises(self, record: dict[str, Any]) -> bool:
        """Whether these figures correct the recorded ones: a figure whose value differs, or that the record
        lacks. A recorded figure missing here (its period now shows a placeholder) is no correction."""
        if self.digest() == record.get("digest"):
            return False
        try:
            recorded = {figure.key: figure.value for figure in Announcement.from_record(record).figures}
        except (KeyError, TypeError, ValueError):
            return True
        return any(recorded.get(figure.key) != figure.value for figure in self.figures)

    def to_record(self) -> dict[str, Any]:
        """The database form (figures as a list of objects, plus the digest)."""
        record = self._asdict()
        record["figures"] = [f._asdict() for f in self.figures]
        record["digest"] = self.digest()
        return record

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> Announcement:
        """Rebuild from the database form; raises KeyError or TypeError on a damaged record."""
        figures = record.get("figures") or []
        if isinstance(figures, dict):
            figures = [figures[k] for k in sorted(figures, key=int)]
        return cls(
            source=record["source"], id=record["id"], order=record["order"], period=record["period"],
            figures=tuple(Figure(**f) for f in figures if f), url=record["url"],
            headline=record["headline"], note=record.get("note", ""),
        )
