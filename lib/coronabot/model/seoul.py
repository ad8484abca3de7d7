"""Seoul's clock: Korean Standard Time (UTC+9, no daylight saving), which every stored time and every time a
user reads is written in, whatever the host's zone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

KST = timezone(timedelta(hours=9), "KST")


def seoul_time(moment: datetime | None = None) -> str:
    """``moment`` (now when None) as an ISO time in Seoul to the second: '2026-09-30T14:05:00+09:00'."""
    return (moment or datetime.now(UTC)).astimezone(KST).isoformat(timespec="seconds")
