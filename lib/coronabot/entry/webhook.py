"""The webhook's HTTP contract, independent of the web framework.

``functions/webhook/main.py`` hands the request here. Telegram re-sends any
update that is not answered with a 2xx, so everything short of a missing
configuration or a wrong secret answers 200, with a log line saying why nothing
happened. The secret is checked on the headers alone, before any byte of the
body is read, and the body is never read past ``MAX_UPDATE_BYTES``.
"""

from __future__ import annotations

import contextlib
import gc
import hmac
import importlib
import json
import os
import sys
import threading
from collections.abc import Callable, Iterator, Mapping
from types import ModuleType
from typing import TYPE_CHECKING, Any, BinaryIO

from coronabot import config, log
from coronabot.chat import ahead
from coronabot.chat.updates import MalformedUpdate, Update, parse

if TYPE_CHECKING:  # the bot and what it answers with load with the first update, while its reads are on their way
    from coronabot.adapters.storage import Database
    from coronabot.adapters.telegram import Telegram
    from coronabot.chat.bot import Bot

MAX_UPDATE_BYTES = 256 * 1024
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # pragma: allowlist secret (a header name)

logger = log.get("coronabot.webhook")
_bot: Bot | None = None
_db: Database | None = None  # the database client, made once per process (by warm_up, or the first update that reads)
_db_lock = threading.Lock()
_warming: config.Settings | None = None  # what warm_up warms with, in the process that serves
_forked = threading.Event()  # this process forked a worker (gunicorn's master): the worker warms, not this one
FORK_GRACE_SECONDS = 0.2  # gunicorn forks its worker within milliseconds of loading the function


def _load(module: str) -> ModuleType:
    """Import a client's module on first use as ``main.py`` loads the others: without garbage collection while
    it loads (its objects live as long as the instance; a full collection in the middle costs tens of
    milliseconds), then frozen out of later collections."""
    loaded = sys.modules.get(module)
    if loaded is not None:
        return loaded
    enabled = gc.isenabled()
    gc.disable()
    try:
        return importlib.import_module(module)
    finally:
        gc.freeze()
        if enabled:
            gc.enable()


def _database(settings: config.Settings) -> Database:
    """The database client, made once: REST on the standard library where it can (an emulator, Cloud Run), so
    firebase-admin is not loaded (storage.Database)."""
    global _db
    with _db_lock:
        if _db is None:
            _db = _load("coronabot.adapters.storage").Database(settings, light=True)
        return _db


def warm_up() -> threading.Thread | None:
    """Start, on a background thread, what the first update would wait for: the access token (on Cloud Run)
    and connections to the database opened (TCP and TLS). Called by ``main.py`` at import: it returns at
    once, and a failure is only logged (the first update then connects itself). Under gunicorn (how
    functions-framework serves) the function is imported by the master, which then forks the worker that
    serves: the worker warms itself as it starts, and the master, once it forked, does not. Nothing is started
    where the REST client is not used (firebase-admin's import would compete with the first answer)."""
    try:
        settings = config.load()
    except config.ConfigError as exc:
        logger.warning("the database connection is not warmed: %s", exc)
        return None
    storage = _load("coronabot.adapters.storage")
    if not (settings.database_url and storage.light_client_available(settings)):
        return None
    global _warming
    _warming = settings
    return _start_warming(settings, unless_forked=True)


def _start_warming(settings: config.Settings, unless_forked: bool = False) -> threading.Thread:
    def warm() -> None:
        if unless_forked and _forked.wait(FORK_GRACE_SECONDS):
            return  # a worker was forked to serve: it warms its own
        try:
            _database(settings).warm()
        except Exception as exc:  # only ever a head start: the first update connects by itself
            logger.warning("the database connection could not be warmed: %s: %s", type(exc).__name__, exc)
    thread = threading.Thread(target=warm, name="warm-database", daemon=True)
    thread.start()
    return thread


def _after_fork_in_child() -> None:
    """gunicorn loads the function in its master process, then forks the worker that serves: the worker drops
    the client it inherited (its locks may have been held by the master's warming thread, which did not come
    along) and warms its own."""
    global _db, _db_lock, _forked
    _db, _db_lock, _forked = None, threading.Lock(), threading.Event()
    if _warming is not None:
        _start_warming(_warming)


os.register_at_fork(after_in_child=_after_fork_in_child, after_in_parent=lambda: _forked.set())


def _telegram(settings: config.Settings) -> Telegram:
    """The Bot API client, loading telepot with the first update that calls the Bot API directly."""
    telegram: Telegram = _load("coronabot.adapters.telegram").Telegram(settings.telegram_token, settings.api_base)
    return telegram


def _get_bot(settings: config.Settings) -> Bot:
    global _bot
    if _bot is None:
        telegram = (lambda: _telegram(settings)) if settings.telegram_token else None
        _bot = _load("coronabot.chat.bot").Bot(lambda: _database(settings), telegram, settings.bot_username,
                                          settings.source, settings.quiet_hours)
    return _bot


@contextlib.contextmanager
def _reads_ahead(settings: config.Settings, update: Update) -> Iterator[None]:
    """The reads the answer will make, sent before anything else (on a cold instance, before the bot's code is
    loaded: loading it and the database's round trip overlap), and remembered for the answer's code while it
    runs. A database that cannot even be set up is the answer's to meet and say."""
    try:
        db = _database(settings)
        scope = db.reads()
    except Exception as exc:  # the answer reads as usual, and fails as usual
        logger.warning("reads ahead not started: %s: %s", type(exc).__name__, exc)
        yield
        return
    with scope as reads:
        reads.start(*ahead.reads(update, db, settings.source, lambda: settings.bot_username))
        yield


def handle_request(method: str, headers: Mapping[str, str], open_body: Callable[[], BinaryIO],
                   content_length: int | None) -> tuple[int, dict[str, Any]]:
    """Answer one webhook call: (HTTP status, JSON body, possibly a Bot API method call).

    ``open_body`` returns the request body stream; it is called only once the secret matched and the
    announced length is within the cap.
    """
    if method != "POST":
        return 405, {"error": "only POST"}
    try:
        settings = config.load()
    except config.ConfigError as exc:
        logger.error("webhook refuses updates: %s", exc)
        return 503, {"error": "misconfigured"}
    if not settings.webhook_secret:
        logger.error("webhook refuses updates: TELEGRAM_WEBHOOK_SECRET is not set")
        return 503, {"error": "misconfigured"}
    given = headers.get(SECRET_HEADER) or ""
    if not hmac.compare_digest(given.encode("utf-8", "replace"), settings.webhook_secret.encode()):
        logger.warning("webhook call with a missing or wrong secret token refused")
        return 403, {"error": "forbidden"}
    if content_length is not None and content_length > MAX_UPDATE_BYTES:
        logger.warning("update ignored: body of %d bytes is over the %d-byte cap", content_length, MAX_UPDATE_BYTES)
        return 200, {}
    try:
        raw = open_body().read(MAX_UPDATE_BYTES + 1)
    except Exception as exc:  # the framework's own size limit on a chunked body, or a client that went away
        logger.warning("update ignored: the body could not be read within the %d-byte cap (%s)",
                       MAX_UPDATE_BYTES, type(exc).__name__)
        return 200, {}
    if len(raw) > MAX_UPDATE_BYTES:
        logger.warning("update ignored: body is over the %d-byte cap", MAX_UPDATE_BYTES)
        return 200, {}
    try:
        update = parse(json.loads(raw))
    except RecursionError:
        logger.warning("update ignored: JSON nested too deeply to be a Telegram update")
        return 200, {}
    except (ValueError, MalformedUpdate) as exc:
        logger.warning("update ignored: not a Telegram update (%s)", str(exc)[:200])
        return 200, {}
    try:
        return _answer(settings, update)
    except Exception:
        # A poison update must never make Telegram redeliver it forever and hold back the ones behind it.
        logger.exception("update failed unexpectedly; answered 200 so Telegram moves on",
                         extra={"fields": {"update_id": update.update_id}})
        return 200, {}


def _answer(settings: config.Settings, update: Update) -> tuple[int, dict[str, Any]]:
    """The bot's answer to a parsed update: a method call riding the response, or replies sent directly."""
    with _reads_ahead(settings, update):
        action, body = _get_bot(settings).respond(update)
    logger.info("update handled: %s", action, extra={"fields": {"update_id": update.update_id}})
    return 200, body
