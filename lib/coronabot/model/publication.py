"""When the source publishes: a model learnt from the moments the bot first saw each announcement, and the
decision, on every call of the scrape function, whether to fetch now.

Pure functions, no I/O, every time read on the Korean clock whatever the host's zone. A weekly source
(``kdca-sentinel``) is expected on one weekday within a window of time; a daily one within a window every
day. With fewer than three observations there is no model, and the bot fetches on the original bot's fixed
schedule instead.
"""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime, time, timedelta
from typing import NamedTuple

from coronabot.model.schedule import DEFAULT_SCHEDULES, Schedule
from coronabot.model.seoul import KST

MIN_OBSERVATIONS = 3
RECENT_OBSERVATIONS = 8  # the model forgets older habits
WEEKDAY_VOTES = 4  # the weekday is the commonest of the last four (ties: the latest), so a move is learnt in two
MARGIN = timedelta(minutes=30)  # around the earliest and latest times seen
KEPT_FIRST_SEEN = 12  # how many first-seen moments the state keeps
EVERY_MINUTE = timedelta(minutes=1)
AFTER_WINDOW = timedelta(minutes=10)  # the rest of the day after a window passed without the announcement
OUTSIDE = timedelta(hours=1)  # never more often outside any window
SEEN = timedelta(hours=3)  # once the window's announcement came: corrections are still caught
BEFORE_WINDOW = timedelta(hours=3)  # hourly again this long before the next window, for an early publication
SCHEDULER_SLACK = timedelta(seconds=15)  # Cloud Scheduler's calls are not exactly a minute apart
_FALLBACK_TIMES = Schedule(DEFAULT_SCHEDULES).times()


class Window(NamedTuple):
    """One expected publication: from ``start`` to ``end`` (KST)."""

    start: datetime
    end: datetime


class Expectation(NamedTuple):
    """When the next announcement is expected: ``weekday`` (0 = Monday, None for a daily source) between
    ``start`` and ``end`` on the Korean clock; ``observations`` is how many first-seen moments it rests on."""

    cadence: str
    weekday: int | None
    start: time
    end: time
    observations: int

    def window_on(self, day: date) -> Window:
        return Window(datetime.combine(day, self.start, KST), datetime.combine(day, self.end, KST))

    def current(self, now: datetime) -> Window:
        """The latest window that has begun by ``now`` (the one whose announcement is due or came)."""
        local = now.astimezone(KST)
        day = local.date()
        if self.weekday is not None:
            day -= timedelta(days=(day.weekday() - self.weekday) % 7)
        window = self.window_on(day)
        if window.start > local:
            window = self.window_on(day - timedelta(days=7 if self.weekday is not None else 1))
        return window

    def upcoming(self, now: datetime) -> Window:
        """The first window that has not ended by ``now``."""
        local = now.astimezone(KST)
        window = self.current(local)
        step = timedelta(days=7 if self.weekday is not None else 1)
        while window.end <= local:
            window = self.window_on(window.start.date() + step)
        return window

    @property
    def early(self) -> timedelta:
        """How long before a window an announcement still counts as that window's (published early)."""
        return timedelta(days=2) if self.weekday is not None else timedelta(hours=6)


def parse_moments(values: object) -> list[datetime]:
    """The first-seen moments kept in the state (ISO strings); anything else is skipped."""
    moments = []
    for value in values if isinstance(values, list) else []:
        if isinstance(value, str):
            try:
                moment = datetime.fromisoformat(value)
            except ValueError:
                continue
            if moment.tzinfo is not None:
                moments.append(moment)
    return sorted(moments)


def remember(values: object, moment: datetime) -> list[str]:
    """The kept first-seen moments with ``moment`` added (the newest ``KEPT_FIRST_SEEN``)."""
    moments = [*parse_moments(values), moment.astimezone(KST)]
    return [m.astimezone(KST).isoformat(timespec="seconds") for m in sorted(moments)[-KEPT_FIRST_SEEN:]]


def stored_model(stored_first_seen: object, cadence: str) -> Expectation | None:
    """The model of a source of this ``cadence`` (``Source.cadence``) from the first-seen moments as the state
    keeps them (``state/seen/{source}``)."""
    return expectation(parse_moments(stored_first_seen), cadence)


def expectation(first_seen: list[datetime], source_cadence: str) -> Expectation | None:
    """The window the next announcement is expected in, learnt from the recent first-seen moments; None with
    fewer than three (the bot then fetches on the fixed schedule)."""
    recent = [m.astimezone(KST) for m in sorted(first_seen)[-RECENT_OBSERVATIONS:]]
    if len(recent) < MIN_OBSERVATIONS:
        return None
    weekday = None
    if source_cadence == "weekly":
        votes = Counter(m.weekday() for m in recent[-WEEKDAY_VOTES:])
        top = max(votes.values())
        weekday = next(m.weekday() for m in reversed(recent) if votes[m.weekday()] == top)
        recent = [m for m in recent if m.weekday() == weekday]
    minutes = [m.hour * 60 + m.minute for m in recent]
    earliest = max(0, min(minutes) - int(MARGIN.total_seconds() // 60))
    latest = min(24 * 60 - 1, max(minutes) + int(MARGIN.total_seconds() // 60))
    return Expectation(source_cadence, weekday, time(earliest // 60, earliest % 60),
                       time(latest // 60, latest % 60), len(first_seen))


class Decision(NamedTuple):
    fetch: bool
    reason: str
    window: Window | None = None
    arrived: bool = False


def decide(now: datetime, last_fetch: datetime | None, model: Expectation | None,
           latest_seen: datetime | None) -> Decision:
    """Whether a call at ``now`` fetches the source: every minute inside the expected window (and at the
    same time of day on later days while the announcement is late), every 10 minutes for the rest of the
    day once the window passed without it, hourly while it is late otherwise and in the three hours before a
    window, every three hours once the window's announcement came (corrections); without a model, on the
    fixed schedule."""
    local = now.astimezone(KST)
    if model is None:
        due = (local.hour, local.minute) in _FALLBACK_TIMES
        fresh = last_fetch is None or local - last_fetch.astimezone(KST) > EVERY_MINUTE - SCHEDULER_SLACK
        return Decision(due and fresh, "fixed schedule" if due else "outside the fixed schedule")
    window = model.current(local)
    arrived = latest_seen is not None and latest_seen >= window.start - model.early
    same_time_later = model.window_on(local.date())
    if arrived and model.upcoming(local).start - local > BEFORE_WINDOW:
        interval, reason = SEEN, "announcement already seen"
    elif arrived:
        interval, reason = OUTSIDE, "announcement already seen; the next window is near"
    elif window.start <= local <= window.end:
        interval, reason = EVERY_MINUTE, "inside the expected window"
    elif same_time_later.start <= local <= same_time_later.end:
        interval, reason = EVERY_MINUTE, "late: inside the expected time of day"
    elif local.date() == window.end.date():
        interval, reason = AFTER_WINDOW, "the window passed today without the announcement"
    else:
        interval, reason = OUTSIDE, "late, outside the expected time of day"
    due = last_fetch is None or local - last_fetch.astimezone(KST) >= interval - SCHEDULER_SLACK
    return Decision(due, reason, window, arrived)


def is_late(now: datetime, decision: Decision, late_after: timedelta) -> bool:
    """The expected window passed ``late_after`` ago without the announcement."""
    return (decision.window is not None and not decision.arrived
            and now.astimezone(KST) >= decision.window.end + late_after)


def lateness(delay: timedelta) -> str:
    """'2일 3시간 5분' for how late an announcement came."""
    minutes = max(0, int(delay.total_seconds() // 60))
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    parts = [f"{days}일" if days else "", f"{hours}시간" if hours else "",
             f"{minutes}분" if minutes or not (days or hours) else ""]
    return " ".join(part for part in parts if part)
