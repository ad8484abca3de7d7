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
from typing import TYPE_CHECKING

from .. import history, texts
from ..announcement import Announcement, order_key
from ..config import ConfigError
from ..weeks import Week
from ._errors import FetchError, LayoutError, SanityError, SourceError

if TYPE_CHECKING:
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
    "renew",
    "restore",
]


def __getattr__(name: str) -> object:
    """SourceHttp and rebase_url load requests: only a process that fetches pays for it (the webhook reads
    stored announcements through this package and never fetches)."""
    if name in ("SourceHttp", "rebase_url"):
        from . import _http
        return getattr(_http, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def get(name: str) -> ModuleType:
    """The source module selected by SOURCE; ConfigError for an unknown name."""
    if name not in _MODULES:
        raise ConfigError(f"SOURCE={name!r} is not one of {', '.join(_MODULES)}")
    return import_module(f".{_MODULES[name]}", __name__)


# COVID-19 reached Korea in January 2020: no announcement of this bot's sources is older.
FIRST_YEAR = 2020
# No published count can exceed twice Korea's population (cumulative confirmed cases peaked near 35 million).
MAX_PLAUSIBLE_COUNT = 100_000_000


def renew(record: object) -> object:
    """A stored announcement record in this version's words: a source that rewords or renames its figures
    (kdca-sentinel's "검출 건수" became "입원환자") rebuilds older records from the values they published, so
    /now, /history, the chart and the correction check read every record alike. Anything else, damaged
    records included, comes back as it was."""
    if not isinstance(record, dict) or record.get("source") not in _MODULES:
        return record
    renewer = getattr(get(record["source"]), "renew", None)
    return renewer(record) if renewer else record


def restore(record: dict) -> Announcement:
    """The announcement a stored record holds, in this version's words; KeyError, TypeError or ValueError
    for a damaged record."""
    renewed = renew(record)
    if not isinstance(renewed, dict):
        raise TypeError("an announcement record is not an object")
    return Announcement.from_record(renewed)


def trend(records: object, source: str) -> list[history.Point]:
    """The trend figure of every readable record of a history read, renewed first, oldest first."""
    values = records.values() if isinstance(records, dict) else records if isinstance(records, list) else []
    return history.points([renew(record) for record in values], source)


def _days(order: str) -> tuple[date, date]:
    """The first and last day an announcement's order covers: the day itself, or a KDCA week's Sunday and
    Saturday; SanityError for an order that is unreadable or names a week KDCA's calendar does not have."""
    key = order_key(order)
    if key is None:
        raise SanityError(f"unreadable date or week {order[:40]!r}")
    year, part, day = key
    if day:
        return date(year, part, day), date(year, part, day)
    try:
        week = Week.checked(year, part)
    except ValueError as exc:
        raise SanityError(str(exc)) from None
    return week.first_day, week.last_day


def _previous_value(figure: dict) -> int | None:
    value = figure.get("value")
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def check(announcement: Announcement, previous: dict | None, today: date) -> None:
    """Refuse what cannot be right before anyone is alerted; raises SanityError.

    ``today`` is the date in Seoul: an announcement dated after it (a typo in the source's year would
    otherwise make every real later announcement look old, a day of slack for a daily one) or before 2020 is
    refused. A week must exist in KDCA's calendar and have ended in Seoul: the running week has no figure
    yet, so a row for it is a source error or a hostile answer. An alert Telegram could never accept (over
    4,096 characters, counted on the HTML, which is never shorter than what Telegram counts) is refused too,
    rather than retried forever.
    """
    for figure in announcement.figures:
        if figure.value < 0:
            raise SanityError(f"{figure.label} is negative ({figure.value})")
        if figure.value > MAX_PLAUSIBLE_COUNT:
            raise SanityError(f"{figure.label} is implausibly large ({len(str(figure.value))} digits)")
    first_day, last_day = _days(announcement.order)
    if first_day > today + timedelta(days=1 if first_day == last_day else 0):
        raise SanityError(f"dated in the future: {announcement.order} (today is {today.isoformat()} in Seoul)")
    if first_day < last_day and last_day >= today:
        raise SanityError(f"the week {announcement.order} has not ended yet (it ends on {last_day.isoformat()}; "
                          f"today is {today.isoformat()} in Seoul)")
    if order_key(announcement.order)[0] < FIRST_YEAR:
        raise SanityError(f"dated before {FIRST_YEAR}: {announcement.order}")
    for render in (texts.alert, texts.correction):
        length = len(render(announcement))
        if length > texts.MAX_MESSAGE_CHARS:
            raise SanityError(f"the message would be {length:,} characters, over Telegram's "
                              f"{texts.MAX_MESSAGE_CHARS:,}")
    previous = renew(previous)
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
