"""The Asia/Seoul scrape schedule."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from coronabot import config
from coronabot.config import ConfigError
from coronabot.model.schedule import DEFAULT_RETRY_DELAYS, DEFAULT_SCHEDULES, Schedule, is_quiet, retry_delays


def test_the_original_schedule():
    schedule = Schedule(DEFAULT_SCHEDULES)
    assert schedule.times_per_day() == 65
    # 2026-09-30 23:59 UTC is 08:59 KST: the next run is 09:00 KST.
    assert schedule.next_after(datetime(2026, 9, 30, 23, 59, tzinfo=UTC)).strftime("%H:%M") == "09:00"
    assert schedule.next_after(datetime(2026, 10, 1, 4, 54, 30, tzinfo=UTC)).strftime("%H:%M") == "14:00"
    after_last = schedule.next_after(datetime(2026, 10, 1, 13, 0, tzinfo=UTC))  # 22:00 KST
    assert (after_last.day, after_last.strftime("%H:%M")) == (2, "08:00")
    assert "Asia/Seoul" in schedule.describe()


@pytest.mark.parametrize("raw", ["* * * * 1", "61 8 * * *", "*/0 8 * * *", "a b * * *", "0 8-30 * * *"])
def test_bad_expressions(raw):
    with pytest.raises(ConfigError):
        Schedule([raw])


def test_from_env():
    assert Schedule.from_env("", "always").expressions == DEFAULT_SCHEDULES
    assert Schedule.from_env("").expressions == ("* * * * *",), "adaptive polling: called every minute"
    assert Schedule.from_env("").times_per_day() == 24 * 60
    assert Schedule.from_env("0 9 * * *; 30 21 * * *").times_per_day() == 2


def test_retry_delays():
    assert retry_delays("") == DEFAULT_RETRY_DELAYS == (60.0, 120.0)
    assert retry_delays("1, 2.5") == (1.0, 2.5)
    for bad in ("soon", "0", "5,-1"):
        with pytest.raises(ConfigError, match="SCRAPE_RETRY_SECONDS"):
            retry_delays(bad)


def test_quiet_hours_are_read_on_the_korean_clock():
    """The host runs on UTC: 13:30 UTC is 22:30 in Seoul, 23:00 UTC is 08:00 the next morning."""
    night, morning = datetime(2026, 9, 30, 13, 30, tzinfo=UTC), datetime(2026, 9, 30, 23, 0, tzinfo=UTC)
    late = datetime(2026, 9, 30, 22, 59, tzinfo=UTC)
    assert is_quiet(night, (22, 8)) and is_quiet(late, (22, 8)) and not is_quiet(morning, (22, 8))
    assert is_quiet(morning, (8, 9)) and not is_quiet(night, (8, 9))
    assert not is_quiet(night, None)


@pytest.mark.parametrize("raw, expected", [("", (22, 8)), ("23-7", (23, 7)), ("0-24", (0, 24)),
                                           ("none", None), ("OFF", None)])
def test_quiet_hours_setting(monkeypatch, raw, expected):
    monkeypatch.setenv("QUIET_HOURS", raw)
    assert config.load().quiet_hours == expected


@pytest.mark.parametrize("raw", ["22", "22-22", "25-3", "night"])
def test_a_bad_quiet_hours_setting_names_the_variable(monkeypatch, raw):
    monkeypatch.setenv("QUIET_HOURS", raw)
    with pytest.raises(ConfigError, match="QUIET_HOURS"):
        config.load()
