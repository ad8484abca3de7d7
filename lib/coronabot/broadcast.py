"""Send one message to many chats within Telegram's limits, with a delivery ledger.

A global rate limit (``BROADCAST_RATE`` messages per second) is shared by a
pool of workers large enough to reach it when each call takes tens of
milliseconds. Outcomes go to the ledger in batched multi-path writes, which
also renew the broadcaster's lease; a run killed mid-broadcast is resumed by
the next tick, which skips every chat the ledger already records. A run stops
taking new chats at its deadline (before the platform's request timeout would
kill it) or when its process shuts down, and leaves the rest to the next run
with its ledger written.
"""

from __future__ import annotations

import math
import queue
import threading
import time
from dataclasses import dataclass
from datetime import datetime

from . import log
from .storage import Database, DatabaseError, moved_subscription
from .telegram import Telegram, TelegramError
from .texts import KST

logger = log.get("coronabot.broadcast")

MAX_FLOOD_WAITS = 5
TRANSIENT_RETRIES = 3


@dataclass
class BroadcastResult:
    sent: int = 0
    removed: int = 0
    failed: int = 0
    pending: int = 0
    interrupted: bool = False
    cut_short: str = ""

    @property
    def complete(self) -> bool:
        """Every recipient is settled (sent, removed or failed for good)."""
        return self.pending == 0 and not self.interrupted


class RateLimiter:
    """Hands out send slots ``1/rate`` seconds apart; a 429 pauses every sender."""

    def __init__(self, rate: float):
        self._interval = 1.0 / rate
        self._next = time.monotonic()
        self._lock = threading.Lock()

    def wait(self) -> None:
        with self._lock:
            now = time.monotonic()
            slot = max(now, self._next)
            self._next = slot + self._interval
        if slot > now:
            time.sleep(slot - now)

    def pause(self, seconds: float) -> None:
        with self._lock:
            self._next = max(self._next, time.monotonic() + seconds)


def worker_count(rate: float) -> int:
    """Enough concurrent calls to sustain ``rate`` at up to 100 ms per call."""
    return max(4, min(64, math.ceil(rate * 0.1)))


class _Ledger:
    """Buffers outcomes and writes them ``batch`` at a time, checking the lease first."""

    def __init__(self, db: Database, key: str, owner: str, batch: int, lease_seconds: float):
        self.db, self.key, self.owner = db, key, owner
        self.batch, self.lease_seconds = batch, lease_seconds
        self._pending: dict[str, object] = {}
        self._outcomes = 0
        self._lock = threading.Lock()
        self._flush_lock = threading.Lock()
        self.lost_lease = False
        self.writes = 0

    def record(self, chat_id: str, outcome: str, more_to_come: bool) -> None:
        """Buffer one outcome; write a full batch, unless the run's final write will carry it anyway."""
        with self._lock:
            self._pending[f"deliveries/{self.key}/{chat_id}"] = outcome
            if outcome == "removed":
                self._pending[f"subscribers/{chat_id}"] = None
            self._outcomes += 1
            due = more_to_come and self._outcomes >= self.batch
        if due:
            self.flush()

    def move_subscriber(self, old: str, new: str) -> None:
        """A group upgraded to a supergroup: the subscription follows the new chat id."""
        since = datetime.now(KST).isoformat(timespec="seconds")
        with self._lock:
            self._pending.update(moved_subscription(old, new, {"since": since}))

    def flush(self, extra: dict | None = None) -> None:
        """Write what is buffered; with ``extra`` (the final write) the lease is not renewed."""
        with self._flush_lock:
            with self._lock:
                changes, self._pending, self._outcomes = self._pending, {}, 0
            changes.update(extra or {})
            if not changes:
                return
            if extra is None:
                owner = self.db.lease_owner(self.key)
                if owner != self.owner:
                    self.lost_lease = True
                    logger.warning("broadcast lease taken over by another run; stopping",
                                   extra={"fields": {"broadcast": self.key}})
                else:
                    changes[f"broadcasts/{self.key}/lease/expires"] = time.time() + self.lease_seconds
            try:
                self.db.update(changes)
                self.writes += 1
            except DatabaseError:
                with self._lock:
                    changes.update(self._pending)
                    self._pending = {k: v for k, v in changes.items() if not k.startswith("broadcasts/")}
                    self._outcomes = sum(1 for k in self._pending if k.startswith("deliveries/"))
                raise


def _cut_short(deadline: float | None, interrupt: threading.Event | None) -> str:
    """Why no new chat may be started now, or "" to go on."""
    if interrupt is not None and interrupt.is_set():
        return "shutting down"
    if deadline is not None and time.monotonic() >= deadline:
        return "time budget used up"
    return ""


def send_all(db: Database, telegram: Telegram, key: str, text: str, recipients: list[str], *,
             owner: str, rate: float, batch: int, lease_seconds: float,
             finish: dict | None = None, deadline: float | None = None,
             interrupt: threading.Event | None = None, silent: bool = False) -> BroadcastResult:
    """Send ``text`` once to each recipient; ``finish`` is written with the last batch when all are settled.

    No new chat is started after ``deadline`` (a ``time.monotonic()`` value) or once ``interrupt`` is
    set: the chats left are counted as pending and the lease is released, so the next run resumes at once.
    ``silent`` sends without a notification sound.
    """
    result = BroadcastResult()
    limiter = RateLimiter(rate)
    ledger = _Ledger(db, key, owner, batch, lease_seconds)
    todo: queue.Queue[str] = queue.Queue()
    for chat_id in recipients:
        todo.put(chat_id)
    counts_lock = threading.Lock()
    stop = threading.Event()

    def count(field: str) -> None:
        with counts_lock:
            setattr(result, field, getattr(result, field) + 1)

    def deliver(chat_id: str) -> None:
        floods = transient = 0
        target = chat_id
        while True:
            limiter.wait()
            try:
                telegram.send_message(target, text, silent=silent)
            except TelegramError as exc:
                if exc.malformed:
                    logger.warning("delivery left pending: the Bot API's answer was malformed (%s)", exc,
                                   extra={"fields": {"broadcast": key, "chat_id": chat_id}})
                    count("pending")
                    return
                if exc.code == 429 and floods < MAX_FLOOD_WAITS:
                    floods += 1
                    limiter.pause(exc.retry_after or 1.0)
                    continue
                if exc.migrate_to is not None and target == chat_id:
                    logger.info("group became a supergroup; subscription moved",
                                extra={"fields": {"broadcast": key, "chat_id": chat_id, "to": exc.migrate_to}})
                    ledger.move_subscriber(chat_id, str(exc.migrate_to))
                    target = str(exc.migrate_to)
                    continue
                if exc.stops_everything:
                    if not stop.is_set():
                        logger.error("broadcast stopped, every message would fail: %s", exc,
                                     extra={"fields": {"broadcast": key}})
                    stop.set()
                    count("pending")
                    return
                if exc.chat_gone:
                    logger.info("subscriber removed: %s", exc.description,
                                extra={"fields": {"broadcast": key, "chat_id": chat_id}})
                    count("removed")
                    ledger.record(chat_id, "removed", not todo.empty())
                    return
                if exc.transient and transient < TRANSIENT_RETRIES:
                    transient += 1
                    time.sleep(0.5 * 2 ** (transient - 1))
                    continue
                if exc.transient:
                    logger.warning("delivery left pending for the next tick: %s", exc,
                                   extra={"fields": {"broadcast": key, "chat_id": chat_id}})
                    count("pending")
                    return
                logger.error("delivery failed permanently: %s", exc,
                             extra={"fields": {"broadcast": key, "chat_id": chat_id}})
                count("failed")
                ledger.record(chat_id, f"failed:{exc.code}", not todo.empty())
                return
            count("sent")
            if target != chat_id:
                ledger.record(target, "sent", True)
            ledger.record(chat_id, "sent", not todo.empty())
            return

    def work() -> None:
        while not stop.is_set() and not ledger.lost_lease:
            reason = _cut_short(deadline, interrupt)
            if reason:
                result.cut_short = reason
                return
            try:
                chat_id = todo.get_nowait()
            except queue.Empty:
                return
            try:
                deliver(chat_id)
            except DatabaseError as exc:
                logger.error("ledger write failed; stopping this run: %s", exc, extra={"fields": {"broadcast": key}})
                stop.set()
            except Exception:
                # Whatever broke, this chat is not known to be served: it stays pending for the next run.
                logger.exception("delivery failed unexpectedly; the chat stays pending",
                                 extra={"fields": {"broadcast": key, "chat_id": chat_id}})
                count("pending")

    threads = [threading.Thread(target=work, daemon=True) for _ in range(min(worker_count(rate), len(recipients)))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    result.pending += todo.qsize()
    result.interrupted = ledger.lost_lease or stop.is_set()
    if result.complete:
        last = dict(finish or {})
    elif ledger.lost_lease:
        last = {}
    else:
        last = {f"broadcasts/{key}/lease": None}
    ledger.flush(last)
    if result.cut_short and result.pending:
        logger.warning("broadcast cut short (%s); the next run goes on", result.cut_short,
                       extra={"fields": {"broadcast": key, "pending": result.pending}})
    logger.info("broadcast run finished", extra={"fields": {
        "broadcast": key, "sent": result.sent, "removed": result.removed, "failed": result.failed,
        "pending": result.pending, "ledger_writes": ledger.writes}})
    return result
