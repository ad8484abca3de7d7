"""Official COVID-19 sources: each fetches, parses and validates one publication.

A source module exposes ``NAME``, ``OFFICIAL_URL``, ``fetch(http, cache)`` and
``parse(...)``. ``fetch`` returns an :class:`~coronabot.announcement.Announcement`,
or None when the source answered "not modified"; every failure is a
:class:`SourceError` that says what was missing.
"""

from __future__ import annotations

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


def check(announcement: Announcement, previous: dict | None) -> None:
    """Refuse figures that cannot be right before anyone is alerted; raises SanityError."""
    for figure in announcement.figures:
        if figure.value < 0:
            raise SanityError(f"{figure.label} is negative ({figure.value})")
    if not previous or previous.get("source") != announcement.source:
        return
    if previous.get("order", "") > announcement.order:
        return
    earlier = {f.get("key"): f for f in previous.get("figures") or [] if isinstance(f, dict)}
    for figure in announcement.figures:
        before = earlier.get(figure.key)
        if figure.kind == "cumulative" and before and figure.value < int(before.get("value", 0)):
            raise SanityError(f"{figure.label} went backwards: {before.get('value')} → {figure.value}")
