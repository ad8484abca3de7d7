"""Run the bot on one machine: ``make run`` (long polling + schedule) and ``make serve`` (both functions).

Both start the embedded Realtime Database (``python -m coronabot_dev.rtdb``) with its
data persisted under ``LOCAL_DATA_DIR`` (default ``.data/``) unless
``FIREBASE_DATABASE_EMULATOR_HOST`` already names a running one. The chat and
alert behaviour is the functions' own code (:mod:`coronabot.chat.bot`,
:mod:`coronabot.tick.ticker`); only the transport differs.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from coronabot import config, log
from coronabot.adapters.storage import Database, layout
from coronabot.adapters.telegram import Telegram, TelegramError
from coronabot.alerts.sending import Progress
from coronabot.chat.answers import Answer
from coronabot.chat.bot import Bot
from coronabot.chat.updates import ALLOWED_UPDATES, MalformedUpdate, parse
from coronabot.errors import DatabaseError
from coronabot.model.schedule import Schedule, retry_delays
from coronabot.tick.ticker import Ticker

from .processes import (
    BUILD,
    REPO,
    Stop,
    child,
    data_dir,
    free_local_port,
    holding,
    raise_stop,
    stop_all,
    wait_for_port,
)
from .settings import BY_NAME

logger = log.get("coronabot.local")
POLL_TIMEOUT_SECONDS = 25
REPLY_ATTEMPTS = 3


@contextlib.contextmanager
def local_database(settings: config.Settings, command: str,
                   before: Callable[[], None] = lambda: None) -> Iterator[tuple[config.Settings, tuple | None]]:
    """Hold the data folder (one bot per folder: processes.holding), run ``before`` (the other ports'
    checks), then yield settings that point at a local database, starting one when none is configured."""
    folder = data_dir()
    with holding(folder, command) as announce:
        before()
        if settings.emulator_host:
            announce(settings.emulator_host)
            yield settings, None
            return
        port = free_local_port("RTDB_PORT", 9000)
        data_file = folder / "rtdb.json"
        process = child([sys.executable, "-m", "coronabot_dev.rtdb", "--port", str(port), "--data", str(data_file),
                         "--rules", str(REPO / "database.rules.json")])
        try:
            wait_for_port("127.0.0.1", port, process, "the local database")
            host = f"127.0.0.1:{port}"
            os.environ["FIREBASE_DATABASE_EMULATOR_HOST"] = host
            announce(host)
            yield settings._replace(emulator_host=host), (process, data_file)
        finally:
            stop_all([process])


def _count(n: int, noun: str) -> str:
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


class TerminalProgress:
    """A live progress bar for a broadcast when ``make run`` writes to a terminal (tqdm, a local tool only:
    the functions report the same progress as JSON log lines)."""

    def __init__(self, stream=None):
        self.stream = stream or sys.stderr
        self._bars: dict = {}

    def __call__(self, progress: Progress) -> None:
        from tqdm import tqdm

        bar = self._bars.get(progress.key)
        if bar is None:
            bar = self._bars[progress.key] = tqdm(total=progress.total, desc=f"broadcast {progress.key}",
                                                  unit="msg", file=self.stream, dynamic_ncols=True)
        bar.update(progress.settled - bar.n)
        if progress.final:
            bar.close()
            del self._bars[progress.key]


class Poller:
    """Long polling with the offset kept in the database: no update handled twice or lost on restart."""

    def __init__(self, bot: Bot, telegram: Telegram, db: Database):
        self.bot, self.telegram, self.db = bot, telegram, db
        self.failures = 0

    def run(self, stop: threading.Event) -> None:
        offset = self.db.get(layout.POLLING_OFFSET)
        while not stop.is_set():
            try:
                updates = self.telegram.get_updates(offset, POLL_TIMEOUT_SECONDS, ALLOWED_UPDATES)
            except TelegramError as exc:
                self._failed(exc, stop)
                continue
            if self.failures:
                logger.info("polling works again after %d failures", self.failures)
                self.failures = 0
            for raw in updates:
                try:
                    offset = self.handle(raw) or offset
                except DatabaseError as exc:
                    logger.error("database unavailable; the update will be fetched again: %s", exc)
                    stop.wait(5)
                    break

    def handle(self, raw: dict) -> int | None:
        """Handle one update; returns the next offset (stored before any reply is sent)."""
        update_id = raw.get("update_id") if isinstance(raw, dict) else None
        if not isinstance(update_id, int):
            logger.warning("update without an update_id skipped")
            return None
        try:
            outcome = self.bot.handle(parse(raw))
        except MalformedUpdate as exc:
            logger.warning("update ignored: %s", exc, extra={"fields": {"update_id": update_id}})
            outcome = None
        except DatabaseError:
            raise
        except Exception:
            logger.exception("update failed unexpectedly", extra={"fields": {"update_id": update_id}})
            outcome = None
        self.db.update({layout.POLLING_OFFSET: update_id + 1})
        if outcome is not None:
            logger.info("update handled: %s", outcome.action, extra={"fields": {"update_id": update_id}})
            self._reply(outcome, update_id)
        return update_id + 1

    def _reply(self, outcome: Answer, update_id: int) -> None:
        for attempt in range(REPLY_ATTEMPTS):
            try:
                self.bot.send(outcome)
                return
            except TelegramError as exc:
                if not exc.transient or attempt == REPLY_ATTEMPTS - 1:
                    logger.error("reply not sent: %s", exc, extra={"fields": {"update_id": update_id}})
                    return
                time.sleep(exc.retry_after or 2 ** attempt)

    def _failed(self, exc: TelegramError, stop: threading.Event) -> None:
        self.failures += 1
        if self.failures == 1:
            logger.warning("polling failed, retrying with back-off: %s", exc)
        stop.wait(min(60, 2 ** min(self.failures - 1, 6)))


def _scheduler(ticker: Ticker, schedule: Schedule, retries: tuple[float, ...], stop: threading.Event,
               run_now: bool) -> None:
    """Ticks on the schedule; a tick the function would answer with a non-200 is retried after
    ``retries`` seconds, as the deployment's Cloud Scheduler job does, unless the next tick comes first."""
    retry_in: list[float] = []
    if run_now or ticker.unfinished_broadcast():
        if not run_now:
            logger.info("a broadcast was left unfinished; resuming it now")
        if not _tick(ticker, force=True):
            retry_in = list(retries)
    while not stop.is_set():
        now = datetime.now(UTC)
        until_due = max(0.0, (schedule.next_after(now) - now).total_seconds())
        retrying = bool(retry_in) and retry_in[0] < until_due
        if stop.wait(retry_in[0] if retrying else until_due):
            return
        if retrying:
            logger.info("retrying the failed or unfinished scrape tick")
        succeeded = _tick(ticker)
        if succeeded:
            retry_in = []
        else:
            retry_in = retry_in[1:] if retrying else list(retries)


def _tick(ticker: Ticker, force: bool = False) -> bool:
    """One tick; True when the scrape function would have answered 200."""
    try:
        return ticker.tick(force=force).http_status == 200
    except DatabaseError as exc:
        logger.error("scrape tick failed: database unavailable: %s", exc)
    except Exception:
        logger.exception("scrape tick failed unexpectedly")
    return False


def run_local(settings: config.Settings, run_schedule_now: bool | None = None) -> int:
    """``make run``: the whole bot in this process; returns the exit code."""
    token = settings.require_token()
    schedule = Schedule.from_env(os.environ.get("SCRAPE_SCHEDULE", ""), settings.polling)
    retries = retry_delays(os.environ.get("SCRAPE_RETRY_SECONDS", ""))
    if run_schedule_now is None:
        run_schedule_now = os.environ.get("RUN_SCHEDULE_NOW", "") in ("1", "true", "yes")
    telegram = Telegram(token, settings.api_base)
    username = telegram.username()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, raise_stop)
    signal.signal(signal.SIGINT, raise_stop)
    try:
        with local_database(settings, "run") as (settings, started):
            db = Database(settings)
            telegram.delete_webhook()
            terminal: dict[str, Any] = {"progress": TerminalProgress(), "progress_every": 0.5} if sys.stderr.isatty() \
                else {}
            ticker = Ticker(settings, db=db, interrupt=stop, **terminal)
            bot = Bot(lambda: db, lambda: telegram, settings.bot_username or username, settings.source,
                      settings.quiet_hours)
            where = f"local database on {settings.emulator_host}"
            if started:
                where += f" (data in {started[1]})"
            print(f"coronabot is running as @{username}: long polling {settings.api_base}, {where}, "
                  f"source {settings.source}, schedule {schedule.describe()}, "
                  f"{_count(len(db.subscriber_ids()), 'subscriber')}. Ctrl-C stops.", flush=True)
            scheduler = threading.Thread(target=_scheduler, args=(ticker, schedule, retries, stop, run_schedule_now),
                                         daemon=True, name="scheduler")
            scheduler.start()
            try:
                Poller(bot, telegram, db).run(stop)
            finally:
                stop.set()
                scheduler.join(30)
    except (Stop, KeyboardInterrupt):
        pass
    finally:
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
    print("coronabot stopped.", flush=True)
    return 0


def _local_queue(port: int, status_port: int, deliver_port: int, settings: config.Settings,
                 children: list[subprocess.Popen]) -> dict:
    """Start the Cloud Tasks emulator, make the broadcast queue as the deployment makes it, and return the
    scrape's settings for fanning out to the local deliver function."""
    from coronabot.adapters.tasks import LOCAL_QUEUE, configure_emulated_queue

    emulator = child([sys.executable, "-m", "coronabot_dev.tasks_emulator", "--port", str(port), "--http-port",
                       str(status_port)])
    children.append(emulator)
    wait_for_port("127.0.0.1", status_port, emulator, "the Cloud Tasks emulator")
    configure_emulated_queue(f"127.0.0.1:{port}", LOCAL_QUEUE, settings.broadcast_concurrency)
    return {"BROADCAST_QUEUE": LOCAL_QUEUE, "DELIVER_URL": f"http://127.0.0.1:{deliver_port}/",
            "CLOUD_TASKS_EMULATOR_HOST": f"127.0.0.1:{port}"}


def serve_functions(settings: config.Settings) -> int:
    """``make serve``: the functions under functions-framework on local ports; with ``FANOUT=on`` also the
    deliver function and the Cloud Tasks emulator, the scrape fanning broadcasts out on its queue."""
    if not settings.webhook_secret:
        raise config.ConfigError("TELEGRAM_WEBHOOK_SECRET is not set: the webhook refuses every update without it")
    fan_out = BY_NAME["FANOUT"].read(os.environ) == "on"
    ports: dict[str, int] = {}

    def check_ports() -> None:
        ports.update(webhook=free_local_port("WEBHOOK_PORT", 8080), scrape=free_local_port("SCRAPE_PORT", 8090))
        if fan_out:
            ports.update(deliver=free_local_port("DELIVER_PORT", 8091), tasks=free_local_port("TASKS_PORT", 8123),
                         tasks_status=free_local_port("TASKS_STATUS_PORT", 8124))
    framework = str(Path(sys.executable).with_name("functions-framework"))
    signal.signal(signal.SIGTERM, raise_stop)
    children: list[subprocess.Popen] = []
    try:
        with local_database(settings, "serve", before=check_ports) as (settings, _):
            env = dict(os.environ, FIREBASE_DATABASE_EMULATOR_HOST=settings.emulator_host)
            scrape_env = dict(env)
            tasks_port, tasks_status_port = ports.pop("tasks", 0), ports.pop("tasks_status", 0)
            shown = [f"{name}: http://127.0.0.1:{port}/" for name, port in ports.items()]
            if fan_out:
                fanned = _local_queue(tasks_port, tasks_status_port, ports["deliver"], settings, children)
                scrape_env.update(fanned)
                shown.append(f"Cloud Tasks: {fanned['CLOUD_TASKS_EMULATOR_HOST']}")
            started = {}
            for name, port in ports.items():
                # Its own folder first: the vendored package, not this checkout's editable lib/ (functions-framework
                # appends the source's folder to sys.path, after site-packages).
                inherited = scrape_env if name == "scrape" else env
                deployed = dict(inherited, PYTHONPATH=os.pathsep.join(
                    p for p in (str(BUILD / name), inherited.get("PYTHONPATH", "")) if p))
                started[name] = child([framework, "--source", str(BUILD / name / "main.py"), "--target", name,
                                       "--host", "127.0.0.1", "--port", str(port)], deployed, sys.stderr)  # as make run
                children.append(started[name])
            for name, port in ports.items():
                wait_for_port("127.0.0.1", port, started[name], f"the {name} function")
            print("  ".join(shown) + f"  database: {settings.emulator_host}. Ctrl-C stops.", flush=True)
            while all(child.poll() is None for child in children):
                time.sleep(0.5)
            logger.error("a function process exited; stopping")
            return 1
    except (Stop, KeyboardInterrupt):
        return 0
    finally:
        stop_all(children)
