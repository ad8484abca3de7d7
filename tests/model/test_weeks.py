"""KDCA's surveillance calendar at every boundary the portal's data shows (docs/sources.md)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from coronabot.model.weeks import Week, first_sunday, weeks_in


@pytest.mark.parametrize("year, weeks", [(2020, 52), (2021, 52), (2022, 53), (2023, 52), (2024, 52), (2025, 52),
                                         (2026, 52), (2027, 52), (2028, 53)])
def test_weeks_in_a_year(year, weeks):
    assert weeks_in(year) == weeks


@pytest.mark.parametrize("week, first, last", [
    (Week(2025, 1), date(2024, 12, 29), date(2025, 1, 4)),
    (Week(2026, 1), date(2025, 12, 28), date(2026, 1, 3)),
    (Week(2026, 38), date(2026, 9, 13), date(2026, 9, 19)),
    (Week(2026, 39), date(2026, 9, 20), date(2026, 9, 26)),
    (Week(2026, 52), date(2026, 12, 20), date(2026, 12, 26)),
    (Week(2027, 1), date(2026, 12, 27), date(2027, 1, 2)),
    (Week(2022, 1), date(2021, 12, 26), date(2022, 1, 1)),
    (Week(2022, 53), date(2022, 12, 25), date(2022, 12, 31)),
    (Week(2023, 1), date(2023, 1, 1), date(2023, 1, 7)),
])
def test_first_and_last_day(week, first, last):
    assert (week.first_day, week.last_day) == (first, last)
    assert first.weekday() == 6 and last.weekday() == 5, "Sunday to Saturday"
    for day in range(7):
        assert Week.of(first + timedelta(days=day)) == week


def test_week_one_holds_new_year_unlike_iso():
    for year in range(2020, 2041):
        assert Week.of(date(year, 1, 1)) == Week(year, 1)
        assert first_sunday(year) <= date(year, 1, 1) < first_sunday(year) + timedelta(days=7)
    # ISO puts 2027-W01 a week later (from Monday 4 January): the predecessor's rule was a week late.
    assert date(2027, 1, 1).isocalendar()[:2] == (2026, 53)
    assert Week.of(date(2027, 1, 1)) == Week(2027, 1)


def test_every_day_belongs_to_exactly_one_existing_week():
    day, week = date(2019, 12, 29), Week(2020, 1)
    while day < date(2031, 1, 1):
        assert Week.of(day) == week
        assert Week.checked(*week) == week
        day += timedelta(days=1)
        if day.weekday() == 6:
            week = week.next()


@pytest.mark.parametrize("week, previous", [
    (Week(2027, 1), Week(2026, 52)), (Week(2023, 1), Week(2022, 53)), (Week(2026, 1), Week(2025, 52)),
    (Week(2026, 39), Week(2026, 38)),
])
def test_next_and_previous_across_year_boundaries(week, previous):
    assert week.previous() == previous and previous.next() == week
    assert week.shifted(-52).shifted(52) == week


def test_weeks_that_do_not_exist_are_refused():
    for year, number in ((2026, 53), (2026, 54), (2026, 0), (2025, 53)):
        with pytest.raises(ValueError, match="no week"):
            Week.checked(year, number)
    assert Week.checked(2022, 53) == Week(2022, 53)


def test_the_same_week_a_year_earlier():
    assert Week(2027, 1).a_year_earlier() == Week(2026, 1)
    assert Week(2028, 53).a_year_earlier() == Week(2027, 52)
    assert Week(2026, 39).order == "2026-W39" and Week(2027, 1).order == "2027-W01"
