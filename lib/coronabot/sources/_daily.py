"""What a daily source's announcements say (the original bot's page, the public data portal): one day's
figures at midnight, in the source's Korean words, made the same way when parsed and when read back."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import NamedTuple

from coronabot.model.announcement import Announcement, Figure, order_key


class DailyAnnouncements(NamedTuple):
    source: str
    url: str
    headline: str
    figures: tuple[tuple[str, str, str], ...]  # (key, label, kind) of each figure, in the order a message shows
    main_figure: str  # the figure every announcement of the source has

    def of(self, as_of: date, values: Mapping[str, int]) -> Announcement:
        """The day's announcement with these values (the figures it has, in order)."""
        return Announcement(
            source=self.source, id=as_of.isoformat(), order=as_of.isoformat(),
            period=f"{as_of.year}년 {as_of.month}월 {as_of.day}일 0시 기준",
            figures=tuple(Figure(key, label, values[key], kind) for key, label, kind in self.figures
                          if key in values),
            url=self.url, headline=self.headline,
        )

    def rebuild(self, order: str, values: Mapping[str, int]) -> Announcement | None:
        """A stored day read back in these words (None: not a day, or without the main figure)."""
        key = order_key(order)
        if key is None or not key[2] or self.main_figure not in values:
            return None
        return self.of(date(*key), values)
