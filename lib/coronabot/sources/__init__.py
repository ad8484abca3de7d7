"""Official COVID-19 sources: each fetches, parses and validates one publication.

A source module exposes ``NAME``, ``OFFICIAL_URL``, ``fetch(http, cache)`` and
``parse(...)``. ``fetch`` returns an :class:`~coronabot.announcement.Announcement`,
or None when the source answered "not modified"; every failure is a
:class:`SourceError` that says what was missing.
"""

from __future__ import annotations

from datetime import date, timedelta
from importlib import import_module
from types import ModuleType

from ..announcement import Announcement
from ..config import ConfigError
from ._errors import FetchError, LayoutError, SanityError, SourceError
from ._http import SourceHttp, rebase_url

_MODULES = {
    "kdca-sentinel": "kdca_sentinel",
    "mohw-daily": "mohw_daily",
    "data-portal": "data_portal",
}

__all__ = [
    "FetchError",
    "LayoutError",
    "SanityError",
    "SourceError",
    "SourceHttp",
    "check",
    "get",
    "rebase_url",
]


def get(name: str) -> ModuleType:
    """The source module selected by SOURCE; ConfigError for an unknown name."""
    if name not in _MODULES:
        raise ConfigError(f"SOURCE={name!r} is not one of {', '.join(_MODULES)}")
    return import_module(f".{_MODULES[name]}", __name__)


def _first_day(order: str) -> date | None:
    """The first day an announcement's order (``YYYY-MM-DD`` or ``YYYY-Www``) covers, or None if unreadable."""
    try:
        if "-W" in order:
            year, week = order.split("-W")
            return date.fromisocalendar(int(year), min(int(week), 52), 1) - timedelta(days=1)  # weeks start on Sunday
        return date.fromisoformat(order)
    except ValueError:
        return None


def check(announcement: Announcement, previous: dict | None, today: date) -> None:
    """Refuse figures that cannot be right before anyone is alerted; raises SanityError.

    ``today`` is the date in Seoul: an announcement dated after it (a typo in the source's year would
    otherwise make every real later announcement look old) is refused, with a day of slack.
    """
    for figure in announcement.figures:
        if figure.value < 0:
            raise SanityError(f"{figure.label} is negative ({figure.value})")
    first_day = _first_day(announcement.order)
    if first_day is None:
        raise SanityError(f"unreadable date or week {announcement.order!r}")
    if first_day > today + timedelta(days=1):
        raise SanityError(f"dated in the future: {announcement.order} (today is {today.isoformat()} in Seoul)")
    if not previous or previous.get("source") != announcement.source:
        return
    if previous.get("order", "") > announcement.order:
        return
    earlier = {f.get("key"): f for f in previous.get("figures") or [] if isinstance(f, dict)}
    for figure in announcement.figures:
        before = earlier.get(figure.key)
        if figure.kind == "cumulative" and before and figure.value < int(before.get("value", 0)):
            raise SanityError(f"{figure.label} went backwards: {before.get('value')} → {figure.value}")
