"""Reading the source for a tick: its current announcement, checked, the earlier periods it shows, and the
period it lists as still being counted."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, NamedTuple

from coronabot import log, sources
from coronabot.model.announcement import Announcement, order_key
from coronabot.model.seoul import KST
from coronabot.sources import LayoutError, Pending, SanityError, Source, SourceError, SourceHttp

logger = log.get("coronabot.scrape")


class Reading(NamedTuple):
    """What one fetch of the source came to."""

    current: Announcement | None  # the newest published period, checked (None: not modified)
    earlier: list[Announcement]  # the earlier periods the answer showed that pass the checks
    pending: Pending | None = None  # a later period the source lists without a figure yet


class SourceReader:
    """Fetches one source through one HTTP session (kept warm between ticks: the portal's cookie lives in it)."""

    def __init__(self, source: Source, http: SourceHttp):
        self.source, self.http = source, http

    def read(self, cache: dict[str, Any], latest: dict[str, Any] | None, now: datetime, weeks: int = 0) -> Reading:
        """The current announcement, checked against ``latest``, the earlier periods the answer also showed
        (none for a source that publishes one period at a time) and the period still being counted;
        ``weeks`` asks for that many (a backfill). Any failure, expected or not, is a SourceError; an earlier
        period that fails the checks is left out with a warning, and so is a pending one; an earlier period
        whose comparison the answer lacks (its previous period a placeholder) is left out of history."""
        seoul = now.astimezone(KST)
        try:
            series = self.source.series(self.http, cache, seoul, weeks)
            periods = list(series.periods)
            current, earlier = (periods[-1], periods[:-1]) if periods else (None, [])
            if current is not None:
                sources.check(current, latest or None, seoul.date())
        except SourceError:
            raise
        except Exception as exc:  # content no parser anticipated must not become a 500 with health unsaved
            logger.exception("the source's answer broke the parser")
            raise LayoutError(f"unexpected content ({type(exc).__name__})") from None
        pending = series.pending if series.pending and _possible(series.pending, seoul.date()) else None
        if series.incomplete & {a.id for a in earlier}:
            logger.info("periods after a placeholder are left out of history this time",
                        extra={"fields": {"periods": sorted(series.incomplete)}})
        return Reading(current, [a for a in earlier if a.id not in series.incomplete and _plausible(a, seoul)],
                       pending)


def _plausible(announcement: Announcement, seoul: datetime) -> bool:
    try:
        sources.check(announcement, None, seoul.date())
    except SanityError as exc:
        logger.warning("an earlier period fails the checks; not kept in history: %s", exc,
                       extra={"fields": {"announcement": announcement.id}})
        return False
    return True


def _possible(pending: Pending, today: date) -> bool:
    """A pending period must exist in the calendar and have begun by ``today``: anything else is left out
    with a warning (it would only ever be shown as "being counted", never alerted)."""
    key = order_key(pending.id)
    try:
        first_day = sources.days(pending.id)[0]
    except SanityError:
        first_day = None
    if first_day is None or key is None or first_day > today or key[0] < sources.FIRST_YEAR:
        logger.warning("the source lists an impossible period as pending; ignored",
                       extra={"fields": {"pending": pending.id[:40]}})
        return False
    return True
