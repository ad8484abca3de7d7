"""What a source is to the rest of the bot: one value that carries everything the code asks about it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..announcement import Announcement
    from ._http import SourceHttp


@dataclass(frozen=True)
class SourceTexts:
    """A source's own words, in Korean (texts.py puts them into every message that names the source)."""

    name: str  # the "출처:" line of every message and admin notice
    description: str  # /about
    trend_title: str  # /history's heading, the chart's title
    trend_axis: str = ""  # the chart's vertical axis ("" for "주간 수치"/"일간 수치")
    trend_note: str = ""  # what a reader of the trend must not take the figure for
    comparison_note: str = ""  # /settings: what its conditions compare
    previous: str = "직전 발표"  # the previous period in /settings' conditions ("전주")


@dataclass(frozen=True)
class Source:
    """One official source: what it is called and how it reads, what it publishes and how the bot shows it.

    ``fetch(http, cache, now)`` returns the current announcement (None: not modified) and ``fetch_series``,
    for a source whose answer holds many periods, all of them, oldest first (what the backfill and the
    history sync use). Both raise SourceError. ``now`` is Seoul's time.
    """

    name: str  # SOURCE=...
    official_url: str
    cadence: str  # "weekly" or "daily": when its announcements are expected (publication.py)
    trend_figure: str  # the key of the figure /history and the chart follow
    compared: bool  # its alert shows the previous period's published figure: /settings' conditions apply
    texts: SourceTexts
    fetch: Callable[[SourceHttp, dict, datetime], Announcement | None]
    fetch_series: Callable[..., list[Announcement]] | None = None
    renew: Callable[[dict], dict] | None = None  # a stored record in this version's words (figures renamed)

    @property
    def has_series(self) -> bool:
        """Whether one answer holds earlier periods too (a year of history in one request)."""
        return self.fetch_series is not None

    def series(self, http: SourceHttp, cache: dict, now: datetime, weeks: int = 0) -> list[Announcement]:
        """The periods one answer shows, oldest first (the last is the current announcement): ``weeks`` of
        them for a backfill, else the source's usual few; a source that publishes one period at a time
        gives it alone (or nothing when not modified)."""
        if self.fetch_series is not None:
            extra: dict[str, Any] = {"weeks": weeks} if weeks else {}
            return self.fetch_series(http, cache, now, **extra)
        current = self.fetch(http, cache, now)
        return [current] if current is not None else []
