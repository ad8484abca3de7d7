"""The scrape schedule in Asia/Seoul time, as cron expressions (the deployment's Cloud Scheduler jobs).

Only minute and hour fields may be restricted (``*``, ``*/n``, ``a-b``, ``a-b/n``
and lists); day, month and weekday stay ``*``, which is all the bot needs.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from coronabot.config import ConfigError
from coronabot.model.seoul import KST

# The original bot's schedule: every 6 minutes 08:00–13:54, and at 14, 15, 16, 18 and 22 o'clock. With
# POLLING=always every call fetches, so this is the schedule; with adaptive polling (the default) the scrape
# function is called every minute and decides itself (publication.py), falling back to these times.
DEFAULT_SCHEDULES = ("*/6 8-13 * * *", "0 14-16,18,22 * * *")
ADAPTIVE_SCHEDULE = ("* * * * *",)
TIME_ZONE = "Asia/Seoul"
# The deployment's Cloud Scheduler retry policy (deploy/functions.sh): two retries of a non-2xx tick,
# the back-off starting at 60 s and doubling.
DEFAULT_RETRY_DELAYS = (60.0, 120.0)


def retry_delays(raw: str) -> tuple[float, ...]:
    """SCRAPE_RETRY_SECONDS: seconds before each retry of a failed tick, comma-separated (empty: the
    deployment's policy)."""
    if not raw.strip():
        return DEFAULT_RETRY_DELAYS
    try:
        delays = tuple(float(part) for part in raw.split(","))
    except ValueError:
        raise ConfigError(f"SCRAPE_RETRY_SECONDS must be seconds separated by commas, got {raw!r}") from None
    if any(delay <= 0 for delay in delays):
        raise ConfigError(f"SCRAPE_RETRY_SECONDS must be positive, got {raw!r}")
    return delays


def _field(text: str, low: int, high: int, what: str) -> set[int]:
    values: set[int] = set()
    for part in text.split(","):
        base, _, step_text = part.partition("/")
        step = int(step_text) if step_text.isdigit() else 1
        if (step_text and not step_text.isdigit()) or step < 1:
            raise ConfigError(f"bad step in cron {what} field {text!r}")
        if base == "*":
            start, end = low, high
        elif "-" in base:
            start_text, _, end_text = base.partition("-")
            if not (start_text.isdigit() and end_text.isdigit()):
                raise ConfigError(f"bad range in cron {what} field {text!r}")
            start, end = int(start_text), int(end_text)
        elif base.isdigit():
            start = int(base)
            end = high if step_text else start
        else:
            raise ConfigError(f"cannot read cron {what} field {text!r}")
        if not low <= start <= end <= high:
            raise ConfigError(f"cron {what} field {text!r} is outside {low}-{high}")
        values.update(range(start, end + 1, step))
    return values


def is_quiet(moment: datetime, quiet_hours: tuple[int, int] | None) -> bool:
    """Whether ``moment`` falls in the quiet hours, read on the Korean clock whatever the host's zone
    (``(22, 8)`` is 22:00 to 07:59 KST)."""
    if quiet_hours is None:
        return False
    start, end = quiet_hours
    hour = moment.astimezone(KST).hour
    return start <= hour < end if start < end else hour >= start or hour < end


class Schedule:
    """One or more cron expressions; :meth:`next_after` gives the next firing time in KST."""

    def __init__(self, expressions: tuple[str, ...] | list[str]):
        self.expressions = tuple(expressions)
        self._times: set[tuple[int, int]] = set()
        for expression in self.expressions:
            fields = expression.split()
            if len(fields) != 5 or fields[2:] != ["*", "*", "*"]:
                raise ConfigError(f"cron {expression!r}: use 'MINUTE HOUR * * *'")
            minutes = _field(fields[0], 0, 59, "minute")
            hours = _field(fields[1], 0, 23, "hour")
            self._times.update((h, m) for h in hours for m in minutes)
        if not self._times:
            raise ConfigError("the schedule is empty")

    @classmethod
    def from_env(cls, raw: str, polling: str = "adaptive") -> Schedule:
        """SCRAPE_SCHEDULE: cron expressions separated by ';' (empty: the deployment's default for the
        polling mode: every minute when adaptive, the original bot's times when every call fetches)."""
        parts = [p.strip() for p in raw.split(";") if p.strip()]
        return cls(parts or (ADAPTIVE_SCHEDULE if polling == "adaptive" else DEFAULT_SCHEDULES))

    def next_after(self, moment: datetime) -> datetime:
        """The first scheduled minute strictly after ``moment``, as a KST datetime."""
        local = moment.astimezone(KST).replace(second=0, microsecond=0) + timedelta(minutes=1)
        for _ in range(24 * 60 + 1):
            if (local.hour, local.minute) in self._times:
                return local
            local += timedelta(minutes=1)
        raise AssertionError("a non-empty daily schedule always fires within a day")

    def times(self) -> frozenset[tuple[int, int]]:
        """Every (hour, minute) of the day the schedule fires at, on the Korean clock."""
        return frozenset(self._times)

    def times_per_day(self) -> int:
        return len(self._times)

    def describe(self) -> str:
        runs = self.times_per_day()
        return " and ".join(f"'{e}'" for e in self.expressions) + f" ({TIME_ZONE}, {runs} run{'s' * (runs != 1)} a day)"
