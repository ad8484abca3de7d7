"""Configuration, read only from the environment."""

from __future__ import annotations

import os
import re
from typing import NamedTuple

LOCAL_DATABASE_URL = "https://coronabot-local-default-rtdb.firebaseio.com"
DEFAULT_API_BASE = "https://api.telegram.org"
DEFAULT_SOURCE = "kdca-sentinel"
DEFAULT_QUIET_HOURS = (22, 8)
POLLING_MODES = ("adaptive", "always")
CHART_MODES = ("on", "off")
MAX_BACKFILL_WEEKS = 520
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
_WEBHOOK_SECRET = re.compile(r"[A-Za-z0-9_-]{1,256}")
_QUEUE_NAME = re.compile(r"projects/[a-z][a-z0-9:.-]{3,61}[a-z0-9]/locations/[a-z0-9-]+/queues/[A-Za-z0-9-]{1,100}")


class ConfigError(Exception):
    """A required setting is missing or malformed; the message names the variable."""


def _int_list(name: str) -> tuple[int, ...]:
    raw = os.environ.get(name, "").replace(";", ",")
    ids = []
    for part in raw.split(","):
        part = part.strip()
        if not part:
            continue
        try:
            ids.append(int(part))
        except ValueError:
            raise ConfigError(f"{name} must be a comma-separated list of chat ids, got {part!r}") from None
    return tuple(ids)


def _quiet_hours(name: str) -> tuple[int, int] | None:
    raw = os.environ.get(name, "").strip().lower()
    if not raw:
        return DEFAULT_QUIET_HOURS
    if raw in ("none", "off"):
        return None
    start, _, end = raw.partition("-")
    if not (start.isdigit() and end.isdigit() and 0 <= int(start) <= 23 and 0 <= int(end) <= 24
            and int(start) != int(end)):
        raise ConfigError(f"{name} must be START-END hours in Korean time such as 22-8, or 'none'; got {raw!r}")
    return int(start), int(end)


def _webhook_secret() -> str:
    """TELEGRAM_WEBHOOK_SECRET, which Telegram accepts only as 1–256 of A-Z a-z 0-9 _ - (never echoed)."""
    secret = os.environ.get("TELEGRAM_WEBHOOK_SECRET", "").strip()
    if secret and not _WEBHOOK_SECRET.fullmatch(secret):
        raise ConfigError("TELEGRAM_WEBHOOK_SECRET must be 1 to 256 characters of A-Z, a-z, 0-9, _ and - "
                          "(Telegram refuses any other); generate one with "
                          "`python -c 'import secrets; print(secrets.token_urlsafe(32))'`")
    return secret


def log_level() -> str:
    """LOG_LEVEL, upper-cased; ConfigError for a level logging does not know."""
    level = os.environ.get("LOG_LEVEL", "").strip().upper() or "INFO"
    if level not in LOG_LEVELS:
        raise ConfigError(f"LOG_LEVEL must be one of {', '.join(LOG_LEVELS)}; got {level.lower()!r}")
    return level


def choice(name: str, choices: tuple[str, ...]) -> str:
    """One of ``choices`` (the first is the default)."""
    raw = os.environ.get(name, "").strip().lower() or choices[0]
    if raw not in choices:
        raise ConfigError(f"{name} must be one of {', '.join(choices)}; got {raw!r}")
    return raw


def _number(name: str, default: float, minimum: float) -> float:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number, got {raw!r}") from None
    if value < minimum:
        raise ConfigError(f"{name} must be at least {minimum:g}, got {raw!r}")
    return value


class Settings(NamedTuple):
    """Every setting the bot reads, with its default; see the README's configuration table."""

    telegram_token: str = ""
    webhook_secret: str = ""
    api_base: str = DEFAULT_API_BASE
    bot_username: str = ""
    database_url: str = ""
    emulator_host: str = ""
    admin_chat_ids: tuple[int, ...] = ()
    source: str = DEFAULT_SOURCE
    source_base_url: str = ""
    source_timeout: float = 15.0
    broadcast_rate: float = 25.0
    lease_seconds: float = 90.0
    ledger_batch: int = 50
    page_size: int = 500
    broadcast_budget: float = 480.0
    quiet_hours: tuple[int, int] | None = DEFAULT_QUIET_HOURS
    polling: str = "adaptive"
    late_notice_hours: float = 3.0
    log_level: str = "INFO"
    progress_seconds: float = 5.0
    backfill_weeks: int = 52
    charts: bool = True
    broadcast_queue: str = ""
    deliver_url: str = ""
    tasks_service_account: str = ""
    tasks_emulator_host: str = ""
    broadcast_concurrency: int = 4

    def __repr__(self) -> str:
        shown = {k: ("<set>" if v else "<unset>") if k in ("telegram_token", "webhook_secret") else v
                 for k, v in self._asdict().items()}
        return "Settings(" + ", ".join(f"{k}={v!r}" for k, v in shown.items()) + ")"

    def require_token(self) -> str:
        """The bot token, or a ConfigError naming TELEGRAM_TOKEN."""
        if not self.telegram_token:
            raise ConfigError("TELEGRAM_TOKEN is not set: create a bot with @BotFather and export its token")
        return self.telegram_token

    def require_fanout(self) -> None:
        """With BROADCAST_QUEUE set, what a task needs: where to deliver, and as whom (ConfigError otherwise)."""
        if not self.broadcast_queue:
            return
        if not self.deliver_url.startswith(("https://", "http://127.0.0.1:")):
            raise ConfigError("DELIVER_URL must be the deliver function's https:// URL when BROADCAST_QUEUE is set"
                              f" (got {self.deliver_url!r})")
        if not self.tasks_service_account and not self.tasks_emulator_host:
            raise ConfigError("TASKS_SERVICE_ACCOUNT must name the account whose OIDC token Cloud Tasks presents "
                              "to the deliver function when BROADCAST_QUEUE is set")

    @property
    def share_rate(self) -> float:
        """The messages per second of one deliver invocation: BROADCAST_RATE split across the invocations
        the queue runs at once (its max-concurrent-dispatches, BROADCAST_CONCURRENCY)."""
        return self.broadcast_rate / self.broadcast_concurrency

    def require_database_url(self) -> str:
        """The database URL; a local default is used only against an emulator."""
        if self.database_url:
            return self.database_url
        if self.emulator_host:
            return LOCAL_DATABASE_URL
        raise ConfigError("FIREBASE_DATABASE_URL is not set (for example "
                          "https://PROJECT-default-rtdb.asia-southeast1.firebasedatabase.app, or "
                          "https://PROJECT-default-rtdb.firebaseio.com for a database in the United States: "
                          "both forms are valid; the Firebase console shows yours)")


def _broadcast_queue() -> str:
    """BROADCAST_QUEUE: the Cloud Tasks queue a broadcast fans out on (projects/P/locations/L/queues/Q), or ""
    for the in-process broadcaster."""
    raw = os.environ.get("BROADCAST_QUEUE", "").strip()
    if raw and not _QUEUE_NAME.fullmatch(raw):
        raise ConfigError("BROADCAST_QUEUE must be a full queue name, projects/PROJECT/locations/REGION/queues/NAME; "
                          f"got {raw!r}")
    return raw


def load() -> Settings:
    """Read the settings from the environment; raises ConfigError on malformed values."""
    env = os.environ
    return Settings(
        telegram_token=env.get("TELEGRAM_TOKEN", "").strip(),
        webhook_secret=_webhook_secret(),
        api_base=(env.get("TELEGRAM_API_BASE", "").strip() or DEFAULT_API_BASE).rstrip("/"),
        bot_username=env.get("TELEGRAM_BOT_USERNAME", "").strip().lstrip("@"),
        database_url=env.get("FIREBASE_DATABASE_URL", "").strip(),
        emulator_host=env.get("FIREBASE_DATABASE_EMULATOR_HOST", "").strip(),
        admin_chat_ids=_int_list("ADMIN_CHAT_IDS"),
        source=env.get("SOURCE", "").strip() or DEFAULT_SOURCE,
        source_base_url=env.get("SOURCE_BASE_URL", "").strip().rstrip("/"),
        source_timeout=_number("SOURCE_TIMEOUT", 15.0, 0.1),
        broadcast_rate=_number("BROADCAST_RATE", 25.0, 0.1),
        lease_seconds=_number("BROADCAST_LEASE_SECONDS", 90.0, 1.0),
        ledger_batch=int(_number("LEDGER_BATCH", 50, 1)),
        page_size=int(_number("BROADCAST_PAGE_SIZE", 500, 1)),
        broadcast_budget=_number("BROADCAST_TIME_BUDGET", 480.0, 1.0),
        quiet_hours=_quiet_hours("QUIET_HOURS"),
        polling=choice("POLLING", POLLING_MODES),
        late_notice_hours=_number("LATE_NOTICE_HOURS", 3.0, 0.0),
        log_level=log_level(),
        progress_seconds=_number("BROADCAST_PROGRESS_SECONDS", 5.0, 0.1),
        backfill_weeks=backfill_weeks(),
        charts=choice("CHARTS", CHART_MODES) == "on",
        broadcast_queue=_broadcast_queue(),
        deliver_url=env.get("DELIVER_URL", "").strip(),
        tasks_service_account=env.get("TASKS_SERVICE_ACCOUNT", "").strip(),
        tasks_emulator_host=env.get("CLOUD_TASKS_EMULATOR_HOST", "").strip(),
        broadcast_concurrency=int(_number("BROADCAST_CONCURRENCY", 4, 1)),
    )


def backfill_weeks() -> int:
    """BACKFILL_WEEKS: how many weeks of history the first tick fetches (0 turns the backfill off)."""
    raw = os.environ.get("BACKFILL_WEEKS", "").strip()
    if not raw:
        return 52
    if not raw.isdigit() or int(raw) > MAX_BACKFILL_WEEKS:
        raise ConfigError(f"BACKFILL_WEEKS must be a whole number of weeks from 0 to {MAX_BACKFILL_WEEKS}; got {raw!r}")
    return int(raw)
