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

from .. import texts
from ..announcement import Announcement, order_key
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


# COVID-19 reached Korea in January 2020: no announcement of this bot's sources is older.
FIRST_YEAR = 2020
# No published count can exceed twice Korea's population (cumulative confirmed cases peaked near 35 million).
MAX_PLAUSIBLE_COUNT = 100_000_000


def _first_day(order: str) -> date | None:
    """The first day an announcement's order (``YYYY-MM-DD`` or ``YYYY-Www``) covers, or None if unreadable."""
    key = order_key(order)
    if key is None:
        return None
    year, part, day = key
    if day:
        return date(year, part, day)
    try:
        return date.fromisocalendar(year, min(part, 52), 1) - timedelta(days=1)  # KDCA weeks start on Sunday
    except ValueError:
        return None


def _previous_value(figure: dict) -> int | None:
    value = figure.get("value")
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def check(announcement: Announcement, previous: dict | None, today: date) -> None:
    """Refuse what cannot be right before anyone is alerted; raises SanityError.

    ``today`` is the date in Seoul: an announcement dated after it (a typo in the source's year would
    otherwise make every real later announcement look old) or before 2020 is refused, with a day of slack.
    An alert Telegram could never accept (over 4,096 characters, counted on the HTML, which is never
    shorter than what Telegram counts) is refused too, rather than retried forever.
    """
    for figure in announcement.figures:
        if figure.value < 0:
            raise SanityError(f"{figure.label} is negative ({figure.value})")
        if figure.value > MAX_PLAUSIBLE_COUNT:
            raise SanityError(f"{figure.label} is implausibly large ({len(str(figure.value))} digits)")
    first_day = _first_day(announcement.order)
    if first_day is None:
        raise SanityError(f"unreadable date or week {announcement.order[:40]!r}")
    if first_day > today + timedelta(days=1):
        raise SanityError(f"dated in the future: {announcement.order} (today is {today.isoformat()} in Seoul)")
    if order_key(announcement.order)[0] < FIRST_YEAR:
        raise SanityError(f"dated before {FIRST_YEAR}: {announcement.order}")
    for render in (texts.alert, texts.correction):
        length = len(render(announcement))
        if length > texts.MAX_MESSAGE_CHARS:
            raise SanityError(f"the message would be {length:,} characters, over Telegram's "
                              f"{texts.MAX_MESSAGE_CHARS:,}")
    if not isinstance(previous, dict) or previous.get("source") != announcement.source:
        return
    previous_key = order_key(previous.get("order"))
    if previous_key is not None and previous_key > order_key(announcement.order):
        return
    figures = previous.get("figures")
    earlier = {f.get("key"): f for f in figures if isinstance(f, dict)} if isinstance(figures, list) else {}
    for figure in announcement.figures:
        before = _previous_value(earlier.get(figure.key) or {})
        if figure.kind == "cumulative" and before is not None and figure.value < before:
            raise SanityError(f"{figure.label} went backwards: {before} → {figure.value}")
