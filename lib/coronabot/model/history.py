"""A source's published figure over time: what /history, the chart and the backfill work on.

Each announcement is kept under ``/history/{source}/{id}`` (the same record as ``state/latest``); ids sort
in time (``2026-W39``, ``2021-06-05``), so the newest periods are one key-ordered query away. Pure
functions only: no database, no Telegram, no matplotlib.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from datetime import date, timedelta
from typing import NamedTuple

from coronabot.model.announcement import Announcement, order_key
from coronabot.model.weeks import Week

TABLE_PERIODS = 12
SUMMARY_PERIODS = 4
CHART_PERIODS = 52
# A chart of the last 52 periods also draws the same periods a year earlier.
CHART_READ = 2 * CHART_PERIODS + 2
MIN_CHART_PERIODS = 2
FLAT_BAND = 0.10  # a change under 10% over the summary's periods is "flat"


class Point(NamedTuple):
    """One period's published trend figure."""

    id: str
    key: tuple[int, int, int]  # order_key: (year, week, 0) or (year, month, day)
    value: int
    kind: str  # weekly, new or cumulative
    unit: str

    @property
    def weekly(self) -> bool:
        return self.key[2] == 0


class Direction(NamedTuple):
    """Where the figure went over the last few periods: ``trend`` is rising, falling or flat."""

    trend: str
    rises: int
    falls: int
    first: Point
    last: Point


def points(announcements: list[Announcement], figure_key: str) -> list[Point]:
    """The trend figure (``Source.trend_figure``) of each announcement that has it, oldest first
    (``sources.trend`` reads them from a history read)."""
    found = []
    for announcement in announcements:
        key, figure = order_key(announcement.order), announcement.figure(figure_key)
        if key is not None and figure is not None and figure.value >= 0:
            found.append(Point(announcement.id, key, figure.value, figure.kind, figure.unit))
    return sorted(found, key=lambda p: p.key)


def _day(key: tuple[int, int, int]) -> date:
    return date(*key)


def follows(earlier: Point, later: Point) -> bool:
    """Whether ``later`` is the period right after ``earlier`` (a KDCA week, or a day)."""
    if earlier.weekly != later.weekly:
        return False
    if later.weekly:
        return Week(*earlier.key[:2]).next() == Week(*later.key[:2])
    return _day(later.key) - _day(earlier.key) == timedelta(days=1)


def change(earlier: Point | None, later: Point) -> int | None:
    """The difference between two published per-period figures of consecutive periods; None for a gap, the
    first period, or a cumulative series (whose difference would be a computed count the source never
    published)."""
    if earlier is None or later.kind == "cumulative" or not follows(earlier, later):
        return None
    return later.value - earlier.value


def direction(series: list[Point], periods: int = SUMMARY_PERIODS) -> Direction | None:
    """The direction over the last ``periods`` periods (``periods + 1`` points), or None when the series is
    shorter, cumulative, or has a gap there."""
    window = series[-(periods + 1):]
    if len(window) < periods + 1 or window[-1].kind == "cumulative":
        return None
    found = [change(a, b) for a, b in itertools.pairwise(window)]
    steps = [step for step in found if step is not None]
    if len(steps) < len(found):
        return None
    first, last = window[0], window[-1]
    if first.value == 0:
        trend = "rising" if last.value > 0 else "flat"
    else:
        ratio = last.value / first.value - 1
        trend = "rising" if ratio >= FLAT_BAND else "falling" if ratio <= -FLAT_BAND else "flat"
    return Direction(trend, sum(step > 0 for step in steps), sum(step < 0 for step in steps), first, last)


def year_before(point: Point) -> tuple[int, int, int] | None:
    """The order key of the same week (or day) a year earlier: the same week number (week 53 compares with
    week 52 after a year of 52 weeks)."""
    year, part, day = point.key
    if point.weekly:
        return (*Week(year, part).a_year_earlier(), 0)
    try:
        earlier = _day(point.key).replace(year=year - 1)
    except ValueError:  # 29 February
        return None
    return earlier.year, earlier.month, earlier.day


class ChartSeries(NamedTuple):
    """What the chart draws: the last periods up to the current one, and the year before where known."""

    recent: list[Point]
    year_earlier: list[Point | None]  # aligned with ``recent``


def chart_series(series: list[Point], current_id: str, periods: int = CHART_PERIODS) -> ChartSeries | None:
    """The chart's data for the announcement ``current_id``; None when there are too few periods to draw."""
    upto = [p for p in series if p.id == current_id]
    if not upto:
        return None
    recent = [p for p in series if p.key <= upto[0].key][-periods:]
    if len(recent) < MIN_CHART_PERIODS:
        return None
    by_key = {p.key: p for p in series}
    return ChartSeries(recent, [_at(by_key, year_before(p)) for p in recent])


def _at(points: dict[tuple[int, int, int], Point], key: tuple[int, int, int] | None) -> Point | None:
    return points.get(key) if key is not None else None


def series_digest(announcements: list[Announcement]) -> str:
    """A fingerprint of earlier periods as the source shows them now: a change means new or revised weeks."""
    canonical = json.dumps([[a.id, a.digest()] for a in announcements], separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]
