"""The delivery ledger of a broadcast: each chat's outcome, written by a thread of its own in batched
multi-path writes that also renew the broadcaster's lease, so senders never wait for the database."""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from typing import Any, NamedTuple

from coronabot import log
from coronabot.adapters.storage import Database, Lease, layout, moved_subscription
from coronabot.errors import DatabaseError
from coronabot.model.seoul import seoul_time

logger = log.get("coronabot.ledger")

MAX_WRITE_BATCHES = 20  # a write carries at most this many batches of outcomes


class _Item(NamedTuple):
    """What a sender hands the writer: the changes of one outcome (or of a moved subscription)."""

    changes: dict[str, object]
    outcomes: int  # how many chats' outcomes it settles (0 for a moved subscription)
    written: threading.Event | None  # set once written, for a sender that waits (LEDGER_BATCH=1)
    more_to_come: bool  # False: no chat is left to start, so a full batch may wait for the final write


class _Close:
    """The marker that stops the writer."""


_CLOSE = _Close()


class Ledger:
    """The delivery ledger of one broadcast run (``deliveries/{key}/{chat_id}``: sent, removed, failed:CODE,
    skipped:CONDITION or held), written by a thread of its own so that senders never wait for the database.

    Senders hand over outcomes and go on sending (with ``batch`` 1 each waits until its outcome is written,
    so a crash can repeat only the messages in flight). A write is made once ``batch`` outcomes wait, or what
    arrived within ``max_wait`` seconds when sending slows down, one write at a time, and carries every
    outcome waiting then (up to ``MAX_WRITE_BATCHES`` batches): when the database is slower than the
    senders (80 ms a write, 1,000 messages a second), writes grow instead of a backlog. Each write renews
    the lease, whose owner is read at most every third of its lifetime (no GET before every write), and an
    idle ledger renews it on that cadence too. The run's final write (:meth:`close`) carries the rest.
    """

    def __init__(self, db: Database, key: str, lease: Lease, batch: int, max_wait: float,
                 on_failure: Callable[[], None]):
        self.db, self.key, self.lease = db, key, lease
        self.batch, self.max_wait = batch, max_wait
        self._on_failure = on_failure
        self._queue: queue.Queue[_Item | _Close] = queue.Queue()
        self._pending: dict[str, object] = {}
        self._outcomes = 0
        self._waiters: list[threading.Event] = []
        self._last_wave = False
        self._checked_at = time.monotonic()  # the claim that started this run made the lease ours
        self.lost_lease = False
        self.failed: DatabaseError | None = None
        self.writes = 0
        self.sender_waits = 0  # how often a sender waited for the database (LEDGER_BATCH=1, a migrated group)
        self.sender_wait_seconds = 0.0
        self._waits_lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name=f"ledger-{key}", daemon=True)
        self._thread.start()

    def record(self, chat_id: str, outcome: str, more_to_come: bool = True, also: dict[str, Any] | None = None) -> None:
        """Hand over one outcome (a ``removed`` chat's subscription and the changes ``also`` go in the same
        write); without ``more_to_come`` (no chat left to start) a full batch waits for the run's final write."""
        changes: dict[str, object] = dict(also or {})
        changes[layout.deliveries(self.key, chat_id)] = outcome
        if outcome == "removed":
            changes[layout.subscriber(chat_id)] = None
        written = threading.Event() if self.batch == 1 else None
        self._queue.put(_Item(changes, 1, written, more_to_come))
        if written is not None:
            started = time.monotonic()
            written.wait()
            self._waited(started)

    def _waited(self, started: float) -> None:
        with self._waits_lock:
            self.sender_waits += 1
            self.sender_wait_seconds += time.monotonic() - started

    def move_subscriber(self, old: str, new: str) -> None:
        """A group upgraded to a supergroup: the subscription, its choices with it, follows the new chat id
        (with the next write). Rare enough that the sender reads the record itself."""
        started = time.monotonic()
        try:
            record, lang = self.db.subscription(int(old)), self.db.language(old)
        except DatabaseError as exc:
            logger.warning("a migrated group's subscription could not be read; its choices are reset: %s", exc)
            record, lang = None, None
        self._waited(started)
        record = record or {"since": seoul_time()}
        self._queue.put(_Item(moved_subscription(old, new, record, lang), 0, None, True))

    def _absorb(self, item: _Item) -> int:
        self._pending.update(item.changes)
        self._outcomes += item.outcomes
        self._last_wave = not item.more_to_come
        if item.written is not None:
            self._waiters.append(item.written)
        return item.outcomes

    def _run(self) -> None:
        first_at: float | None = None  # when the oldest unwritten outcome arrived
        item: _Item | _Close | None
        while True:
            if self.failed is not None:  # no more writes this run: keep everything for the final one
                item = self._queue.get()
                if isinstance(item, _Close):
                    return
                self._absorb(item)
                continue
            if first_at is None:
                wait = self.lease.seconds / 3
            else:
                wait = max(0.0, first_at + self.max_wait - time.monotonic())
            try:
                item = self._queue.get(timeout=wait)
            except queue.Empty:
                item = None
            if isinstance(item, _Close):
                return
            if item is None and first_at is None:
                self._renew_idle_lease()
                continue
            if item is not None and self._absorb(item) and first_at is None:
                first_at = time.monotonic()
            if item is not None and self.batch > 1 and self._drain():
                return
            due = first_at is not None and time.monotonic() >= first_at + self.max_wait
            full = self._outcomes >= self.batch and (not self._last_wave or self.batch == 1)
            if full or (due and self._outcomes):
                self._write()
                first_at = None if self._outcomes == 0 else first_at

    def _drain(self) -> bool:
        """Take every outcome already waiting, up to a write's worth; True when the close marker came."""
        while self._outcomes < MAX_WRITE_BATCHES * self.batch:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                return False
            if isinstance(item, _Close):
                return True
            self._absorb(item)
        return False

    def wait_for_room(self) -> None:
        """Hold the caller (the reader settling chats without a message, never a sender) while a write's
        worth of outcomes waits, so what is unwritten stays bounded however fast chats are settled."""
        while self._queue.qsize() >= MAX_WRITE_BATCHES * self.batch and self.failed is None \
                and self._thread.is_alive():
            time.sleep(0.01)

    def _lease_still_ours(self) -> bool:
        if not self.lost_lease and time.monotonic() - self._checked_at >= self.lease.seconds / 3:
            self._checked_at = time.monotonic()
            if not self.lease.still_ours(self.db):
                self.lost_lease = True
                logger.warning("broadcast lease taken over by another run; stopping",
                               extra={"fields": {"broadcast": self.key}})
        return not self.lost_lease

    def _renew_idle_lease(self) -> None:
        """Nothing to write for a while (a long flood wait): keep the lease alive all the same."""
        try:
            if self.failed is None and self._lease_still_ours():
                self.db.update(self.lease.renewal())
        except DatabaseError as exc:
            self._fail(exc)

    def _write(self) -> None:
        changes = dict(self._pending)
        try:
            if self._lease_still_ours():
                changes.update(self.lease.renewal())
            self.db.update(changes)
        except DatabaseError as exc:
            self._fail(exc)
            return
        self.writes += 1
        self._pending, self._outcomes = {}, 0
        self._release_waiters()

    def _fail(self, exc: DatabaseError) -> None:
        """Stop the run; what is unwritten stays for the final write."""
        if self.failed is None:
            logger.error("ledger write failed; stopping this run: %s", exc, extra={"fields": {"broadcast": self.key}})
        self.failed = exc
        self._release_waiters()
        self._on_failure()

    def _release_waiters(self) -> None:
        for waiter in self._waiters:
            waiter.set()
        self._waiters = []

    def close(self, final: dict[str, Any]) -> None:
        """Stop the writer and write everything left with ``final`` in one request; raises DatabaseError."""
        self._queue.put(_CLOSE)
        self._thread.join()
        while True:  # outcomes handed over after the close marker (none, as every sender has finished)
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            if isinstance(item, _Item):
                self._absorb(item)
        changes = dict(self._pending, **final)
        try:
            if changes:
                self.db.update(changes)
                self.writes += 1
        finally:
            self._release_waiters()
