"""Official COVID-19 sources: each fetches, parses and validates one publication.

A source is one module that exports one value, ``SOURCE`` (a :class:`Source`): its name and URL, how it
fetches (``fetch``, and ``fetch_series`` when one answer holds many periods), what it publishes (weekly or
daily, the figure its trend follows, whether its alert compares with the previous period), its words, and
how it reads records of earlier versions. ``REGISTRY`` lists them; adding a source touches its own module,
its fixture and one line here (docs/architecture.md, "How to add a source"). Fetching returns an
:class:`~coronabot.model.announcement.Announcement`; every failure is a :class:`SourceError` saying what was
missing. Importing this package loads no parser library (bs4) and no HTTP client (requests).
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from coronabot.adapters.storage import child_items
from coronabot.config import ConfigError
from coronabot.model import history
from coronabot.model.announcement import Announcement, order_key, recorded_values
from coronabot.model.source import Pending, Series, Source, SourceTexts
from coronabot.model.weeks import Week

from . import data_portal, kdca_sentinel, mohw_daily
from ._errors import FetchError, LayoutError, SanityError, SourceError

if TYPE_CHECKING:
    from ._http import SourceHttp, rebase_url

REGISTRY: dict[str, Source] = {source.name: source for source in (
    kdca_sentinel.SOURCE,
    mohw_daily.SOURCE,
    data_portal.SOURCE,
)}

__all__ = [
    "REGISTRY",
    "FetchError",
    "LayoutError",
    "Pending",
    "SanityError",
    "Series",
    "Source",
    "SourceError",
    "SourceHttp",
    "SourceTexts",
    "check",
    "days",
    "get",
    "rebase_url",
    "restore",
    "values",
]


def __getattr__(name: str) -> object:
    """SourceHttp and rebase_url load requests: only a process that fetches pays for it (the webhook reads
    stored announcements through this package and never fetches)."""
    if name in ("SourceHttp", "rebase_url"):
        from . import _http
        return getattr(_http, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def get(name: str) -> Source:
    """The source selected by SOURCE; ConfigError for an unknown name."""
    if name not in REGISTRY:
        raise ConfigError(f"SOURCE={name!r} is not one of {', '.join(REGISTRY)}")
    return REGISTRY[name]


# COVID-19 reached Korea in January 2020: no announcement of this bot's sources is older.
FIRST_YEAR = 2020
# No published count can exceed twice Korea's population (cumulative confirmed cases peaked near 35 million).
MAX_PLAUSIBLE_COUNT = 100_000_000


def values(record: object) -> dict[str, int]:
    """The figures a stored announcement record published, by their keys now (a key its source has renamed,
    such as kdca-sentinel's ``covid_detections``, read as the figure it is): what a correction is compared
    with. {} for a record that is not one."""
    source = REGISTRY.get(str(record.get("source"))) if isinstance(record, dict) else None
    former = source.former_keys if source is not None else {}
    return {former.get(key, key): value for key, value in recorded_values(record).items()}


def restore(record: object) -> Announcement:
    """The announcement a stored record holds, in its source's words now: records hold values only (and the
    page they came from; those of earlier versions their words too, which are not read), so every record
    reads alike whichever version wrote it. ValueError for a record that is not one."""
    if not isinstance(record, dict):
        raise ValueError("an announcement record is not an object")
    source = REGISTRY.get(str(record.get("source")))
    order = record.get("order")
    announcement = source.rebuild(order, values(record)) if source is not None and isinstance(order, str) else None
    if announcement is None or announcement.id != record.get("id"):
        raise ValueError(f"not a readable announcement record: {str(record.get('id'))[:40]!r}")
    url = record.get("url")
    return announcement._replace(url=url) if isinstance(url, str) and url else announcement


def trend(records: object, source: str) -> list[history.Point]:
    """The trend figure of every readable record of a history read, oldest first (damaged ones left out)."""
    announcements = []
    for record in child_items(records).values():
        try:
            announcements.append(restore(record))
        except ValueError:
            continue
    return history.points(announcements, get(source).trend_figure)


def days(order: str) -> tuple[date, date]:
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


def check(announcement: Announcement, previous: dict[str, Any] | None, today: date) -> None:
    """Refuse what cannot be right before anyone is alerted; raises SanityError.

    ``today`` is the date in Seoul: an announcement dated after it (a typo in the source's year would
    otherwise make every real later announcement look old, a day of slack for a daily one) or before 2020 is
    refused. A week must exist in KDCA's calendar and have ended in Seoul: the running week has no figure
    yet, so a row for it is a source error or a hostile answer. (Whether its message fits in one Telegram
    message is decided where it is rendered, once: ``alerts.broadcaster.render``.)
    """
    for figure in announcement.figures:
        if figure.value < 0:
            raise SanityError(f"{figure.label} is negative ({figure.value})")
        if figure.value > MAX_PLAUSIBLE_COUNT:
            raise SanityError(f"{figure.label} is implausibly large ({len(str(figure.value))} digits)")
    first_day, last_day = days(announcement.order)
    if first_day > today + timedelta(days=1 if first_day == last_day else 0):
        raise SanityError(f"dated in the future: {announcement.order} (today is {today.isoformat()} in Seoul)")
    if first_day < last_day and last_day >= today:
        raise SanityError(f"the week {announcement.order} has not ended yet (it ends on {last_day.isoformat()}; "
                          f"today is {today.isoformat()} in Seoul)")
    if announcement.key[0] < FIRST_YEAR:
        raise SanityError(f"dated before {FIRST_YEAR}: {announcement.order}")
    if not isinstance(previous, dict) or previous.get("source") != announcement.source:
        return
    previous_key = order_key(previous.get("order"))
    if previous_key is not None and previous_key > announcement.key:
        return
    earlier = values(previous)
    for figure in announcement.figures:
        before = earlier.get(figure.key)
        if figure.kind == "cumulative" and before is not None and figure.value < before:
            raise SanityError(f"{figure.label} went backwards: {before} → {figure.value}")
