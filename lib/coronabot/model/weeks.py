"""KDCA's surveillance weeks: Sunday to Saturday, week 1 being the week that holds 1 January.

This is neither ISO's rule (weeks from Monday, week 1 holds the first Thursday) nor MMWR's (week 1 holds at
least four days of January). It was checked against the portal's own year boundaries: 2020 had 52 weeks,
2022 had 53, 2025 had 52; 2025 W1 = 2024-12-29…2025-01-04, 2026 W1 = 2025-12-28…2026-01-03 and 2026 W38 =
2026-09-13…09-19 (see docs/sources.md). So a year has 53 weeks exactly when the next 1 January falls on a
Sunday, and 2027 W1 starts on 2026-12-27. Pure functions only.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import NamedTuple

_WEEK = timedelta(days=7)


def first_sunday(year: int) -> date:
    """The first day of ``year``'s week 1: the Sunday on or before 1 January."""
    new_year = date(year, 1, 1)
    return new_year - timedelta(days=(new_year.weekday() + 1) % 7)  # Monday is 0, Sunday 6


def weeks_in(year: int) -> int:
    """How many weeks ``year`` has in KDCA's calendar: 52, or 53 when the next 1 January is a Sunday."""
    return (first_sunday(year + 1) - first_sunday(year)).days // 7


class Week(NamedTuple):
    """One surveillance week, ``Week(2027, 1)``; build it with :meth:`checked` or :meth:`of` to be sure it
    exists in the calendar."""

    year: int
    number: int

    @classmethod
    def checked(cls, year: int, number: int) -> Week:
        """The week, or ValueError when the calendar has no such week (2026 W53, W0, W54)."""
        if not 1 <= number <= weeks_in(year):
            raise ValueError(f"{year} has no week {number} in KDCA's calendar (it has {weeks_in(year)})")
        return cls(year, number)

    @classmethod
    def of(cls, day: date) -> Week:
        """The week that holds ``day``: 2026-12-27 is in 2027 W1."""
        year = day.year + 1 if day >= first_sunday(day.year + 1) else day.year
        return cls(year, (day - first_sunday(year)).days // 7 + 1)

    @property
    def first_day(self) -> date:
        """The week's Sunday."""
        return first_sunday(self.year) + (self.number - 1) * _WEEK

    @property
    def last_day(self) -> date:
        """The week's Saturday."""
        return self.first_day + timedelta(days=6)

    def shifted(self, weeks: int) -> Week:
        """The week ``weeks`` later (earlier when negative), across year boundaries."""
        return Week.of(self.first_day + weeks * _WEEK)

    def next(self) -> Week:
        return self.shifted(1)

    def previous(self) -> Week:
        return self.shifted(-1)

    def a_year_earlier(self) -> Week:
        """The same week number a year earlier; week 53 of a year after a 52-week year maps to week 52."""
        return Week(self.year - 1, min(self.number, weeks_in(self.year - 1)))

    @property
    def order(self) -> str:
        """The announcement order and id of this week, ``2027-W01``."""
        return f"{self.year}-W{self.number:02d}"
