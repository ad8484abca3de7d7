"""Configuration, read only from the environment."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any, NamedTuple

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


# -- parsers: each takes the variable's name and its raw text (stripped, never empty) ------------------------
def plain(name: str, raw: str) -> str:
    """Any text, as given."""
    return raw


def _url(name: str, raw: str) -> str:
    return raw.rstrip("/")


def _database_url(name: str, raw: str) -> str:
    """The database's https:// URL (firebase-admin refuses anything else with a traceback)."""
    if not re.fullmatch(r"https://[a-z0-9-]+(\.[a-z0-9-]+)+/?", raw):
        raise ConfigError(f"{name} must be the database's URL, such as https://PROJECT-default-rtdb."
                          f"asia-southeast1.firebasedatabase.app (the Firebase console shows it); got {raw[:80]!r}")
    return raw.rstrip("/")


def _username(name: str, raw: str) -> str:
    return raw.lstrip("@")


def _int_list(name: str, raw: str) -> tuple[int, ...]:
    ids = []
    for part in raw.replace(";", ",").split(","):
        part = part.strip()
        if not part:
            continue
        try:
            ids.append(int(part))
        except ValueError:
            raise ConfigError(f"{name} must be a comma-separated list of chat ids, got {part!r}") from None
    return tuple(ids)


def _quiet_hours(name: str, raw: str) -> tuple[int, int] | None:
    raw = raw.lower()
    if raw in ("none", "off"):
        return None
    start, _, end = raw.partition("-")
    if not (start.isdigit() and end.isdigit() and 0 <= int(start) <= 23 and 0 <= int(end) <= 24
            and int(start) != int(end)):
        raise ConfigError(f"{name} must be START-END hours in Korean time such as 22-8, or 'none'; got {raw!r}")
    return int(start), int(end)


def _webhook_secret(name: str, raw: str) -> str:
    """Telegram accepts a secret_token of 1–256 of A-Z a-z 0-9 _ - only (never echoed)."""
    if not _WEBHOOK_SECRET.fullmatch(raw):
        raise ConfigError(f"{name} must be 1 to 256 characters of A-Z, a-z, 0-9, _ and - "
                          "(Telegram refuses any other); generate one with "
                          "`python -c 'import secrets; print(secrets.token_urlsafe(32))'`")
    return raw


def _level(name: str, raw: str) -> str:
    level = raw.upper()
    if level not in LOG_LEVELS:
        raise ConfigError(f"{name} must be one of {', '.join(LOG_LEVELS)}; got {raw.lower()!r}")
    return level


def one_of(*choices: str) -> Callable[[str, str], str]:
    """One of ``choices``, in any case."""
    def parse(name: str, raw: str) -> str:
        if raw.lower() not in choices:
            raise ConfigError(f"{name} must be one of {', '.join(choices)}; got {raw.lower()!r}")
        return raw.lower()
    return parse


def _switch(name: str, raw: str) -> bool:
    return one_of(*CHART_MODES)(name, raw) == "on"


def _number(minimum: float, whole: bool = False, maximum: float | None = None) -> Callable[[str, str], float]:
    def parse(name: str, raw: str) -> float:
        try:
            value = int(raw) if whole else float(raw)
        except ValueError:
            kind = "a whole number" if whole else "a number"
            raise ConfigError(f"{name} must be {kind}, got {raw!r}") from None
        if value < minimum or (maximum is not None and value > maximum):
            bound = f"from {minimum:g} to {maximum:g}" if maximum is not None else f"at least {minimum:g}"
            raise ConfigError(f"{name} must be {bound}, got {raw!r}")
        return value
    return parse


def _queue(name: str, raw: str) -> str:
    """projects/P/locations/L/queues/Q, or a ConfigError."""
    if not _QUEUE_NAME.fullmatch(raw):
        raise ConfigError(f"{name} must be a full queue name, projects/PROJECT/locations/REGION/queues/NAME; "
                          f"got {raw!r}")
    return raw


def _source(name: str, raw: str) -> str:
    """A source's name; which names exist is the sources' registry's to say (``sources.get``, called by every
    command and function before it does anything: the registry's modules read this one, so it cannot read
    them)."""
    if not re.fullmatch(r"[a-z0-9-]{1,40}", raw):
        raise ConfigError(f"{name} must be a source's name such as kdca-sentinel; got {raw[:40]!r}")
    return raw


class Variable(NamedTuple):
    """One setting, declared once: ``Settings``, every command's --help, the deploy's env lists and the
    README's configuration table are made from these declarations (tests/test_config.py holds them to it)."""

    name: str
    field: str | None  # the Settings field it fills; None: read by the local tools or the platform only
    parse: Callable[[str, str], Any]
    default: Any
    help: str
    functions: tuple[str, ...]  # the deployed functions that get it (webhook, scrape, deliver)
    readers: tuple[str, ...]  # what else reads it: telegram, database, source, tick (the operator commands),
    #                           run, serve, demo (the local tools), secret (set-webhook)
    secret: bool = False  # from Secret Manager when deployed: never in an env list, never printed
    shown_default: str = ""  # the README's default column, where the value alone would not say it
    deployed: bool = True  # False: the functions read it, but it is never in their env lists (the platform sets
    #                        it, or its default is production's)

    def read(self, environ: Mapping[str, str]) -> Any:
        raw = environ.get(self.name, "").strip()
        return self.parse(self.name, raw) if raw else self.default


FUNCTIONS = ("webhook", "scrape", "deliver")
_ALL = ("webhook", "scrape", "deliver")
_SENDERS = ("scrape", "deliver")
_TICK = ("tick", "run", "serve")  # a scrape tick outside the cloud: scrape-once, make run, make serve
VARIABLES: tuple[Variable, ...] = (
    Variable("TELEGRAM_TOKEN", "telegram_token", plain, "", "the bot token from @BotFather", _ALL,
             ("telegram", "run", "serve"), secret=True, shown_default="required to send"),
    Variable("TELEGRAM_WEBHOOK_SECRET", "webhook_secret", _webhook_secret, "",
             "the `secret_token` given to `setWebhook`, 1–256 of `A-Za-z0-9_-`; without it the webhook refuses "
             "every update", ("webhook",), ("secret", "serve"), secret=True, shown_default="required"),
    Variable("TELEGRAM_API_BASE", "api_base", _url, DEFAULT_API_BASE,
             "the Bot API's address (only the tests and the demo point it elsewhere; never deployed)", _ALL,
             ("telegram", "run", "serve"), deployed=False),
    Variable("TELEGRAM_BOT_USERNAME", "bot_username", _username, "",
             "the bot's username, for `/cmd@BotName`; else asked once with `getMe`", ("webhook",), ("run",),
             shown_default="`getMe`"),
    Variable("FIREBASE_DATABASE_URL", "database_url", _database_url, "",
             "`https://PROJECT-default-rtdb.REGION.firebasedatabase.app`, or `https://PROJECT-default-rtdb."
             "firebaseio.com` for a database in the United States", _ALL, ("database",),
             shown_default="required, except against an emulator"),
    Variable("FIREBASE_DATABASE_EMULATOR_HOST", "emulator_host", plain, "",
             "`127.0.0.1:9000`: talk to a local database (the embedded one, or Google's emulator)", (),
             ("database", "run", "serve")),
    Variable("ADMIN_CHAT_IDS", "admin_chat_ids", _int_list, (),
             "comma-separated chat ids told when the source fails, recovers or is late", _ALL, _TICK,
             shown_default="none"),
    Variable("SOURCE", "source", _source, DEFAULT_SOURCE,
             "where the figures come from: `kdca-sentinel` (sources.REGISTRY lists the others)", _ALL,
             ("source", *_TICK)),
    Variable("SOURCE_BASE_URL", "source_base_url", _url, "",
             "replaces scheme, host and port of the source's official URLs (the tests' stand-in)", (),
             ("source", *_TICK)),
    Variable("SOURCE_TIMEOUT", "source_timeout", _number(0.1), 15.0, "seconds per source request", (),
             ("source", *_TICK)),
    Variable("DATA_PORTAL_SERVICE_KEY", None, plain, "", "the public data portal's key, for `SOURCE=data-portal`",
             (), ("source", *_TICK), secret=True),
    Variable("BROADCAST_RATE", "broadcast_rate", _number(0.1), 25.0,
             "messages per second across all chats (with `BROADCAST_QUEUE`, across all deliver invocations)",
             _SENDERS, _TICK),
    Variable("BROADCAST_QUEUE", "broadcast_queue", _queue, "",
             "the Cloud Tasks queue a broadcast fans out on, `projects/P/locations/L/queues/Q`; unset: the "
             "scrape sends the whole broadcast itself", ("scrape",), ("tick",)),
    Variable("DELIVER_URL", "deliver_url", plain, "", "the deliver function's URL, where each chunk's task goes",
             ("scrape",), ("tick",), shown_default="required with `BROADCAST_QUEUE`"),
    Variable("TASKS_SERVICE_ACCOUNT", "tasks_service_account", plain, "",
             "the account whose OIDC token Cloud Tasks presents to the private deliver function", ("scrape",),
             ("tick",),
             shown_default="required with `BROADCAST_QUEUE`"),
    Variable("BROADCAST_CONCURRENCY", "broadcast_concurrency", _number(1, whole=True), 4,
             "deliver invocations at once (the queue's `max-concurrent-dispatches`); each sends at "
             "`BROADCAST_RATE / BROADCAST_CONCURRENCY`", _SENDERS, _TICK),
    Variable("CLOUD_TASKS_EMULATOR_HOST", "tasks_emulator_host", plain, "",
             "`127.0.0.1:8123`: talk plain gRPC to `coronabot_dev.tasks_emulator` instead of Cloud Tasks", (),
             ("tick",)),
    Variable("BROADCAST_LEASE_SECONDS", "lease_seconds", _number(1.0), 90.0,
             "how long a broadcaster's (or a chunk's) claim lives without renewal", (), _TICK),
    Variable("LEDGER_BATCH", "ledger_batch", _number(1, whole=True), 50, "delivery outcomes per ledger write",
             (), _TICK),
    Variable("BROADCAST_PAGE_SIZE", "page_size", _number(1, whole=True), 500,
             "subscribers per read while a broadcast goes through them; with `BROADCAST_QUEUE`, a chunk's size",
             (), _TICK),
    Variable("BROADCAST_TIME_BUDGET", "broadcast_budget", _number(1.0), 480.0,
             "seconds after a tick (or a chunk) starts when its broadcast stops taking new chats", (), _TICK),
    Variable("BROADCAST_PROGRESS_SECONDS", "progress_seconds", _number(0.1), 5.0,
             "seconds between `broadcast progress` log lines", (), _TICK),
    Variable("QUIET_HOURS", "quiet_hours", _quiet_hours, DEFAULT_QUIET_HOURS,
             "hours on the Korean clock when alerts come silently or wait for the morning, as each chat "
             "chose: `START-END`, or `none`", _ALL, _TICK, shown_default="`22-8`"),
    Variable("POLLING", "polling", one_of(*POLLING_MODES), "adaptive",
             "`adaptive`: called every minute, the scrape decides from when the source published before whether "
             "to fetch; `always`: every call fetches", ("scrape",), _TICK),
    Variable("LATE_NOTICE_HOURS", "late_notice_hours", _number(0.0), 3.0,
             "hours after the expected window before the admins are told the announcement is late", ("scrape",),
             _TICK),
    Variable("BACKFILL_WEEKS", "backfill_weeks", _number(0, whole=True, maximum=MAX_BACKFILL_WEEKS), 52,
             "weeks of history the first tick asks for in its one request; `0` turns it off", (), _TICK),
    Variable("CHARTS", "charts", _switch, True,
             "`on`: an alert is its chart with the text as caption; `off`: text only", (), _TICK,
             shown_default="`on`"),
    Variable("LOG_LEVEL", "log_level", _level, "INFO", "`DEBUG`, `INFO`, `WARNING`, `ERROR` or `CRITICAL`: every "
             "process's logging, from its start (`make deploy` passes it to the functions)", _ALL,
             ("telegram", "database", "run", "serve", "demo")),
    # Read by the local tools (make run, serve, demo) and the platform only.
    Variable("SCRAPE_SCHEDULE", None, plain, "", "cron expressions separated by `;`, Asia/Seoul", (), ("run",),
             shown_default="every minute; with `POLLING=always` the original bot's two"),
    Variable("SCRAPE_RETRY_SECONDS", None, plain, "60,120",
             "seconds before each retry of a tick the function would answer with a non-200", (), ("run",)),
    # Set by the platform, read by the deployed webhook: never in an env list.
    Variable("K_SERVICE", None, plain, "", "set by Cloud Run: the webhook's REST client then asks the metadata "
             "server for the function's access token", ("webhook",), (), deployed=False),
    Variable("GCE_METADATA_HOST", None, plain, "", "the metadata server's host, as Google's libraries allow",
             ("webhook",), (), shown_default="`metadata.google.internal`", deployed=False),
)
BY_NAME = {variable.name: variable for variable in VARIABLES}


class Settings(NamedTuple):
    """Every setting the bot reads, one field per variable of VARIABLES that has one, with the same default
    (tests/test_config.py holds the two to each other): typed, so the type checker knows each field."""

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
    broadcast_queue: str = ""
    deliver_url: str = ""
    tasks_service_account: str = ""
    broadcast_concurrency: int = 4
    tasks_emulator_host: str = ""
    lease_seconds: float = 90.0
    ledger_batch: int = 50
    page_size: int = 500
    broadcast_budget: float = 480.0
    progress_seconds: float = 5.0
    quiet_hours: tuple[int, int] | None = DEFAULT_QUIET_HOURS
    polling: str = "adaptive"
    late_notice_hours: float = 3.0
    backfill_weeks: int = 52
    charts: bool = True
    log_level: str = "INFO"

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


def load(environ: Mapping[str, str] | None = None) -> Settings:
    """Read and check every setting once, the same way for every command and function; ConfigError names
    the first variable that is malformed."""
    environ = os.environ if environ is None else environ
    return Settings(**{v.field: v.read(environ) for v in VARIABLES if v.field})


def reading(*readers: str) -> list[Variable]:
    """The variables any of ``readers`` reads, in declaration order (a command's --help)."""
    return [v for v in VARIABLES if set(v.readers) & set(readers)]


def deploy_env(function: str, environ: Mapping[str, str] | None = None) -> str:
    """The ``--set-env-vars`` of a deployed function: every non-secret variable it gets that ``environ`` sets,
    ``|``-separated behind gcloud's ``^|^`` (a value may hold a comma or an @); secrets go through
    ``--set-secrets``."""
    environ = os.environ if environ is None else environ
    pairs = [f"{v.name}={environ[v.name].strip()}" for v in VARIABLES
             if function in v.functions and v.deployed and not v.secret and environ.get(v.name, "").strip()]
    return "^|^" + "|".join(pairs)


# What a newcomer sets to run the bot (the README's short table; docs/configuration.md has every one).
ESSENTIAL = ("TELEGRAM_TOKEN", "TELEGRAM_WEBHOOK_SECRET", "TELEGRAM_BOT_USERNAME", "FIREBASE_DATABASE_URL",
             "ADMIN_CHAT_IDS", "SOURCE", "BROADCAST_RATE", "BROADCAST_QUEUE", "QUIET_HOURS", "LOG_LEVEL")


def markdown_table(variables: Sequence[Variable] = VARIABLES) -> str:
    """A configuration table (docs/configuration.md, the README's essentials) of ``variables``."""
    rows = ["| variable | read by | meaning | default |", "|---|---|---|---|"]
    for v in variables:
        readers = [*v.functions, *(f"`make {r}`" for r in v.readers if r in ("run", "serve", "demo", "emulator"))]
        if set(v.readers) & {"telegram", "database", "source", "tick", "secret"}:
            readers.append("`python -m coronabot`")
        default = v.shown_default or ("unset" if v.default in ("", (), None) else f"`{_shown(v.default)}`")
        meaning = v.help + (" (secret)" if v.secret else "")
        rows.append(f"| `{v.name}` | {', '.join(readers) or 'tests'} | {meaning} | {default} |")
    return "\n".join(rows)


def _shown(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, bool):
        return "on" if value else "off"
    return str(value)


if __name__ == "__main__":  # the deploy: python3 -m coronabot.config deploy-env FUNCTION
    import sys

    if sys.argv[1:2] == ["deploy-env"] and len(sys.argv) == 3 and sys.argv[2] in FUNCTIONS:
        print(deploy_env(sys.argv[2]))
    else:
        sys.exit("usage: python -m coronabot.config deploy-env webhook|scrape|deliver")
