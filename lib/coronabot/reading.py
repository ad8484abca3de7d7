"""Reading the source for a tick: its current announcement, checked, and the earlier periods it shows."""

from __future__ import annotations

from datetime import datetime

from . import log, sources
from .announcement import Announcement
from .seoul import KST
from .sources import LayoutError, SanityError, Source, SourceError, SourceHttp

logger = log.get("coronabot.scrape")


class SourceReader:
    """Fetches one source through one HTTP session (kept warm between ticks: the portal's cookie lives in it)."""

    def __init__(self, source: Source, http: SourceHttp):
        self.source, self.http = source, http

    def read(self, cache: dict, latest: dict | None, now: datetime,
             weeks: int = 0) -> tuple[Announcement | None, list[Announcement]]:
        """The current announcement, checked against ``latest`` (None: not modified), and the earlier periods
        the answer also showed (none for a source that publishes one period at a time); ``weeks`` asks for
        that many (a backfill). Any failure, expected or not, is a SourceError; an earlier period that fails
        the checks is left out with a warning."""
        seoul = now.astimezone(KST)
        try:
            series = self.source.series(self.http, cache, seoul, weeks)
            announcement, earlier = (series[-1], series[:-1]) if series else (None, [])
            if announcement is not None:
                sources.check(announcement, latest or None, seoul.date())
        except SourceError:
            raise
        except Exception as exc:  # content no parser anticipated must not become a 500 with health unsaved
            logger.exception("the source's answer broke the parser")
            raise LayoutError(f"unexpected content ({type(exc).__name__})") from None
        return announcement, [a for a in earlier if _plausible(a, seoul)]


def _plausible(announcement: Announcement, seoul: datetime) -> bool:
    try:
        sources.check(announcement, None, seoul.date())
    except SanityError as exc:
        logger.warning("an earlier period fails the checks; not kept in history: %s", exc,
                       extra={"fields": {"announcement": announcement.id}})
        return False
    return True
