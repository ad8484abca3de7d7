"""The publication model and the fetch decision: pure functions, on the Korean clock."""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime, timedelta

import pytest

from coronabot.model.publication import (
    Window,
    decide,
    expectation,
    is_late,
    lateness,
    parse_moments,
    remember,
)
from coronabot.texts import KST, en, ko


def thursdays(count: int, hour: int = 9, minute: int = 30, last: datetime | None = None) -> list[datetime]:
    """First-seen moments on consecutive Thursdays (KST), the last one on ``last``'s date."""
    last = last or datetime(2026, 10, 1, hour, minute, tzinfo=KST)  # a Thursday
    return [last - timedelta(weeks=count - 1 - i) for i in range(count)]


@pytest.mark.parametrize("count", [0, 1, 2])
def test_with_fewer_than_three_observations_there_is_no_model(count):
    assert expectation(thursdays(count), "weekly") is None


def test_three_observations_give_a_weekday_and_a_window():
    seen = [datetime(2026, 9, 17, 9, 10, tzinfo=KST), datetime(2026, 9, 24, 10, 40, tzinfo=KST),
            datetime(2026, 10, 1, 9, 55, tzinfo=KST)]
    model = expectation(seen, "weekly")
    assert model.weekday == 3 and (model.start.hour, model.start.minute) == (8, 40)
    assert (model.end.hour, model.end.minute) == (11, 10) and model.observations == 3


def test_ten_observations_use_the_recent_eight():
    seen = thursdays(2, hour=6, minute=0, last=datetime(2026, 8, 13, 6, 0, tzinfo=KST)) + thursdays(8)
    model = expectation(seen, "weekly")
    assert (model.start.hour, model.start.minute) == (9, 0), "the 06:00 habits are forgotten"
    assert model.observations == 10


def test_a_move_to_another_weekday_is_learnt_within_two_weeks():
    seen = thursdays(6)
    wednesday = datetime(2026, 10, 7, 14, 0, tzinfo=KST)
    assert expectation([*seen, wednesday], "weekly").weekday == 3
    moved = expectation([*seen, wednesday, wednesday + timedelta(weeks=1)], "weekly")
    assert moved.weekday == 2 and moved.start.hour == 13 and moved.end.hour == 14


def test_windows_current_and_upcoming():
    model = expectation(thursdays(4), "weekly")
    friday = datetime(2026, 10, 2, 12, 0, tzinfo=KST)
    assert model.current(friday).start == datetime(2026, 10, 1, 9, 0, tzinfo=KST)
    assert model.upcoming(friday).start == datetime(2026, 10, 8, 9, 0, tzinfo=KST)
    early_thursday = datetime(2026, 10, 8, 7, 0, tzinfo=KST)
    assert model.current(early_thursday).start.date().isoformat() == "2026-10-01"
    assert model.upcoming(early_thursday).start.date().isoformat() == "2026-10-08"
    assert ko.window_text(model.upcoming(friday)) == "10월 8일(목) 09:00~10:00 (KST)"
    assert en.window_text(model.upcoming(friday)) == "Thu 8 Oct, 09:00–10:00 KST"


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 10, day, hour, minute, tzinfo=KST)


def test_the_decision_polls_every_minute_in_the_window_and_slows_after_it():
    model = expectation(thursdays(4), "weekly")  # Thursdays 09:00-10:00; last seen 1 October
    seen = thursdays(4)[-1]
    assert not decide(at(6, 12), at(6, 10, 30), model, seen).fetch, "announcement seen: every three hours"
    assert decide(at(6, 12), at(6, 8, 59), model, seen).fetch
    assert decide(at(8, 7, 0), at(8, 6, 0), model, seen).reason == "announcement already seen; the next window is near"
    inside = decide(at(8, 9, 15), at(8, 9, 14), model, seen)
    assert inside.fetch and inside.reason == "inside the expected window"
    after = [decide(at(8, 11, m), at(8, 11, m) - timedelta(minutes=gap), model, seen).fetch
             for m, gap in ((0, 5), (20, 10))]
    assert after == [False, True], "every 10 minutes for the rest of the day"
    next_day = decide(at(9, 15), at(9, 14, 30), model, seen)
    assert not next_day.fetch and next_day.reason == "late, outside the expected time of day"
    assert decide(at(9, 9, 30), at(9, 9, 29), model, seen).reason == "late: inside the expected time of day"
    came = decide(at(8, 9, 40), at(8, 9, 39), model, at(8, 9, 20))
    assert not came.fetch and came.arrived


def test_without_a_model_the_fixed_schedule_is_kept():
    assert decide(at(8, 8, 6), None, None, None).fetch
    assert not decide(at(8, 8, 7), None, None, None).fetch
    assert decide(at(8, 22, 0), at(8, 18, 0), None, None).fetch
    assert not decide(at(8, 22, 0), at(8, 22, 0) - timedelta(seconds=20), None, None).fetch, "once per minute"


def test_a_skipped_week_is_late_once_its_window_passed_by_the_margin():
    model = expectation(thursdays(4), "weekly")
    seen = thursdays(4)[-1]
    for moment, late in ((at(8, 12, 59), False), (at(8, 13, 0), True), (at(12, 9, 0), True)):
        decision = decide(moment, moment - timedelta(hours=2), model, seen)
        assert is_late(moment, decision, timedelta(hours=3)) is late, moment
    next_week = at(15, 9, 30)
    decision = decide(next_week, next_week - timedelta(minutes=1), model, seen)
    assert decision.window.start == at(15, 9, 0) and decision.fetch


def test_a_daily_source_has_a_window_every_day():
    seen = [datetime(2021, 6, d, 9, 40, tzinfo=KST) for d in (2, 3, 4, 5)]
    model = expectation(seen, "daily")
    assert model.weekday is None
    moment = datetime(2021, 6, 6, 9, 45, tzinfo=KST)
    assert decide(moment, moment - timedelta(minutes=1), model, seen[-1]).reason == "inside the expected window"
    assert not decide(moment, moment - timedelta(minutes=1), model, moment - timedelta(minutes=2)).fetch


@pytest.mark.parametrize("zone", ["UTC", "America/Los_Angeles", "Asia/Seoul", "Pacific/Kiritimati"])
def test_the_host_time_zone_changes_nothing(zone, monkeypatch):
    monkeypatch.setenv("TZ", zone)
    time.tzset()
    try:
        model = expectation([m.astimezone(UTC) for m in thursdays(4)], "weekly")
        assert model.weekday == 3 and model.start.hour == 9
        moment = at(8, 9, 15).astimezone(UTC)
        assert decide(moment, moment - timedelta(minutes=1), model, thursdays(4)[-1]).fetch
        assert ko.window_text(model.upcoming(moment)) == "10월 8일(목) 09:00~10:00 (KST)"
    finally:
        monkeypatch.setenv("TZ", os.environ.get("TZ", "UTC"))
        time.tzset()


def test_first_seen_moments_are_kept_as_the_newest_twelve():
    kept: list[str] = []
    for moment in thursdays(15):
        kept = remember(kept, moment)
    assert len(kept) == 12 and kept[-1] == "2026-10-01T09:30:00+09:00"
    assert parse_moments([*kept, "garbage", 5, None, "2026-10-01T09:30:00"]) == parse_moments(kept)
    assert parse_moments("not a list") == []


def test_lateness_reads_naturally():
    assert lateness(timedelta(days=2, hours=3, minutes=5)) == "2일 3시간 5분"
    assert lateness(timedelta(hours=4)) == "4시간"
    assert lateness(timedelta(seconds=20)) == "0분"
    assert isinstance(Window(at(1, 9), at(1, 10)).start, datetime)
