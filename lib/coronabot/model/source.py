"""What a source is to the rest of the bot: one value that carries everything the code asks about it.

The values are NamedTuples, immutable as frozen dataclasses are and several times cheaper to define: this
module loads with every cold start of the webhook."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, NamedTuple

from coronabot.model.announcement import order_key

if TYPE_CHECKING:
    from coronabot.model.announcement import Announcement
    from coronabot.sources._http import SourceHttp


class SourceTexts(NamedTuple):
    """A source's own words in one language (the texts package puts them into every message that names the
    source). An announcement is recorded in Korean, as the source words it; another language shows it with
    ``headline``, ``note`` and ``figures`` (each figure's label by its key; ``{previous}`` in a label is the
    period before the announcement's, with its days)."""

    name: str  # the source line of every message ("출처: ...", "Source: ...")
    description: str  # /about
    trend_title: str  # /history's heading, the chart's title
    trend_axis: str = ""  # the chart's vertical axis ("" for the language's "weekly figure"/"daily figure")
    trend_note: str = ""  # what a reader of the trend must not take the figure for
    comparison_note: str = ""  # /settings: what its conditions compare
    previous: str = ""  # the previous period in /settings' conditions ("전주"; "" for the language's default)
    headline: str = ""  # an alert's heading ("" : the recorded one)
    note: str = ""  # what the figure is, under an alert ("" : the recorded one)
    figures: Mapping[str, str] = MappingProxyType({})  # a figure's key -> its label


class Pending(NamedTuple):
    """A period the source already lists but has not published a figure for: ``counting`` when it says so
    ("집계 중", being counted), else its cell is empty or "-" (no value yet)."""

    id: str  # the period's id, as its announcement will have it ("2026-W40")
    counting: bool = True

    def follows(self, order: object) -> bool:
        """Whether this period comes after the announcement of ``order`` (None or unreadable: nothing to
        follow, so it does). A week that KDCA turns back into "being counted" after publishing does not: it
        keeps its recorded figures, shown without a marker."""
        mine, other = order_key(self.id), order_key(order)
        return mine is not None and (other is None or mine > other)

    def as_record(self) -> dict[str, Any]:
        """The form kept beside the latest announcement (``state/latest/pending``)."""
        return {"id": self.id, "counting": self.counting}

    @classmethod
    def from_record(cls, value: object) -> Pending | None:
        """The stored marker, or None for nothing stored or anything unreadable."""
        if not isinstance(value, dict) or not isinstance(value.get("id"), str):
            return None
        return cls(value["id"], value.get("counting") is not False)


class Series(NamedTuple):
    """What one answer of a source shows: the published periods, oldest first (the last is the current
    announcement), and the first period it lists after them without a figure yet (``pending``)."""

    periods: tuple[Announcement, ...] = ()
    pending: Pending | None = None
    # Periods whose previous period the answer lists without a figure: shown without their comparison, so
    # this answer never rewrites their stored record.
    incomplete: frozenset[str] = frozenset()

    @classmethod
    def of(cls, value: Series | list[Announcement]) -> Series:
        """A series as a source's ``fetch_series`` gives it: a Series, or simply its periods as a list."""
        return value if isinstance(value, Series) else cls(tuple(value))


class Source(NamedTuple):
    """One official source: what it is called and how it reads, what it publishes and how the bot shows it.

    ``fetch(http, cache, now)`` returns the current announcement (None: not modified) and ``fetch_series``,
    for a source whose answer holds many periods, all of them, oldest first (what the backfill and the
    history sync use), as a list or as a :class:`Series` that also names a period still being counted. Both
    raise SourceError. ``now`` is Seoul's time.
    """

    name: str  # SOURCE=...
    official_url: str
    cadence: str  # "weekly" or "daily": when its announcements are expected (publication.py)
    trend_figure: str  # the key of the figure /history and the chart follow
    compared: bool  # its alert shows the previous period's published figure: /settings' conditions apply
    texts: Mapping[str, SourceTexts]  # language -> the source's words, every language the bot speaks
    fetch: Callable[[SourceHttp, dict[str, Any], datetime], Announcement | None]
    fetch_series: Callable[..., Series | list[Announcement]] | None = None
    # The announcement of an order with these values, in the source's words (None: the values lack its
    # figure): what a stored record, which holds values only, is read back as.
    rebuild: Callable[[str, Mapping[str, int]], Announcement | None] = lambda order, values: None
    former_keys: Mapping[str, str] = MappingProxyType({})  # a figure's earlier key -> its key now

    def words(self, lang: str) -> SourceTexts:
        """The source's words in ``lang`` (Korean for a language it lacks: a test keeps every source complete)."""
        return self.texts.get(lang) or self.texts["ko"]

    @property
    def has_series(self) -> bool:
        """Whether one answer holds earlier periods too (a year of history in one request)."""
        return self.fetch_series is not None

    def series(self, http: SourceHttp, cache: dict[str, Any], now: datetime, weeks: int = 0) -> Series:
        """The periods one answer shows, oldest first (the last is the current announcement): ``weeks`` of
        them for a backfill, else the source's usual few; a source that publishes one period at a time
        gives it alone (or nothing when not modified)."""
        if self.fetch_series is not None:
            extra: dict[str, Any] = {"weeks": weeks} if weeks else {}
            return Series.of(self.fetch_series(http, cache, now, **extra))
        current = self.fetch(http, cache, now)
        return Series((current,) if current is not None else ())
