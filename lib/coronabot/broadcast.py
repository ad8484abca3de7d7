"""Send each of many chats its letter within Telegram's limits, with a delivery ledger.

A global rate limit (``BROADCAST_RATE`` messages per second) is shared by a
pool of workers large enough to reach it when each call takes tens of
milliseconds. Outcomes go to the ledger through one writer thread, in batched
multi-path writes that also renew the broadcaster's lease, so senders never
wait for the database; a run killed mid-broadcast is resumed by the next tick,
which skips every chat the ledger already records. Progress (sent / total,
rate, time left) is reported every few seconds. A run stops
taking new chats at its deadline (before the platform's request timeout would
kill it) or when its process shuts down, and leaves the rest to the next run
with its ledger written.
"""

from __future__ import annotations

import math
import queue
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

from . import log
from .errors import DatabaseError
from .storage import Database, moved_subscription
from .telegram import Telegram, TelegramError
from .texts import KST

logger = log.get("coronabot.broadcast")

MAX_FLOOD_WAITS = 5
TRANSIENT_RETRIES = 3
PROGRESS_SECONDS = 5.0
MAX_WRITE_BATCHES = 20  # a write carries at most this many batches of outcomes
MIN_WAIT_SECONDS = 1.0  # the longest outcomes wait unwritten, unless a batch takes longer at the configured rate


class Progress(NamedTuple):
    """How far a broadcast run is: chats settled (sent, removed or failed) of ``total``."""

    key: str
    settled: int
    total: int
    sent: int
    per_second: float
    seconds_left: float | None
    final: bool = False  # the run ended (its summary is logged as "broadcast run finished")


def log_progress(progress: Progress) -> None:
    """The default report: one structured log line (Cloud Logging reads it as JSON) while the run lasts."""
    if progress.final:
        return
    logger.info("broadcast progress: %d/%d", progress.settled, progress.total, extra={"fields": {
        "broadcast": progress.key, "settled": progress.settled, "total": progress.total, "sent": progress.sent,
        "per_second": round(progress.per_second, 1),
        "seconds_left": round(progress.seconds_left) if progress.seconds_left is not None else None}})


@dataclass
class BroadcastResult:
    sent: int = 0
    removed: int = 0
    failed: int = 0
    skipped: int = 0
    held: int = 0
    pending: int = 0
    unread: bool = False  # the run stopped before reading every recipient
    database_waits: int = 0  # times a sender waited for the database (none, unless LEDGER_BATCH=1)
    database_wait_seconds: float = 0.0
    interrupted: bool = False
    cut_short: str = ""

    def counts(self, key: str) -> dict:
        """The run's figures as a tick's or a chunk's summary reports them."""
        counts = {"sent": self.sent, "failed": self.failed, "removed": self.removed, "pending": self.pending,
                  "broadcast": key, "database_waits": self.database_waits,
                  "database_wait_seconds": round(self.database_wait_seconds, 3)}
        counts.update({field: getattr(self, field) for field in ("skipped", "held", "unread")
                       if getattr(self, field)})
        return counts

    @property
    def complete(self) -> bool:
        """Every recipient is settled (sent, removed, failed for good, skipped or held)."""
        return self.pending == 0 and not self.unread and not self.interrupted


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
    """The delivery ledger, written by a thread of its own so that senders never wait for the database.

    Senders hand over outcomes and go on sending (with ``batch`` 1 each waits until its outcome is written,
    so a crash can repeat only the messages in flight). A write is made once ``batch`` outcomes wait, or what
    arrived within ``max_wait`` seconds when sending slows down, one write at a time, and carries every
    outcome waiting then (up to ``MAX_WRITE_BATCHES`` batches): when the database is slower than the
    senders (80 ms a write, 1,000 messages a second), writes grow instead of a backlog. Each write renews
    the lease, whose owner is read at most every third of its lifetime (no GET before every write), and an
    idle ledger renews it on that cadence too. The run's final write (:meth:`close`) carries the rest.
    """

    _CLOSE = object()

    def __init__(self, db: Database, key: str, owner: str, batch: int, lease_seconds: float, max_wait: float,
                 on_failure: Callable[[], None], lease: str | None = None):
        self.db, self.key, self.owner = db, key, owner
        self.lease = lease or f"broadcasts/{key}/lease"  # a fanned-out chunk holds a lease of its own
        self.batch, self.lease_seconds, self.max_wait = batch, lease_seconds, max_wait
        self._on_failure = on_failure
        self._queue: queue.Queue = queue.Queue()
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

    def record(self, chat_id: str, outcome: str, more_to_come: bool = True, also: dict | None = None) -> None:
        """Hand over one outcome (a ``removed`` chat's subscription and the changes ``also`` go in the same
        write); without ``more_to_come`` (no chat left to start) a full batch waits for the run's final write."""
        changes: dict[str, object] = dict(also or {})
        changes[f"deliveries/{self.key}/{chat_id}"] = outcome
        if outcome == "removed":
            changes[f"subscribers/{chat_id}"] = None
        written = threading.Event() if self.batch == 1 else None
        self._queue.put((changes, 1, written, more_to_come))
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
            record = self.db.subscription(int(old))
        except DatabaseError as exc:
            logger.warning("a migrated group's subscription could not be read; its choices are reset: %s", exc)
            record = None
        self._waited(started)
        record = record or {"since": datetime.now(KST).isoformat(timespec="seconds")}
        self._queue.put((moved_subscription(old, new, record), 0, None, True))

    def _absorb(self, item: tuple) -> int:
        changes, outcomes, written, more_to_come = item
        self._pending.update(changes)
        self._outcomes += outcomes
        self._last_wave = not more_to_come
        if written is not None:
            self._waiters.append(written)
        return outcomes

    def _run(self) -> None:
        first_at: float | None = None  # when the oldest unwritten outcome arrived
        while True:
            if self.failed is not None:  # no more writes this run: keep everything for the final one
                item = self._queue.get()
                if item is self._CLOSE:
                    return
                self._absorb(item)
                continue
            if first_at is None:
                wait = self.lease_seconds / 3
            else:
                wait = max(0.0, first_at + self.max_wait - time.monotonic())
            try:
                item = self._queue.get(timeout=wait)
            except queue.Empty:
                item = None
            if item is self._CLOSE:
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
            if item is self._CLOSE:
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
        if not self.lost_lease and time.monotonic() - self._checked_at >= self.lease_seconds / 3:
            self._checked_at = time.monotonic()
            if self.db.lease_owner(self.lease) != self.owner:
                self.lost_lease = True
                logger.warning("broadcast lease taken over by another run; stopping",
                               extra={"fields": {"broadcast": self.key}})
        return not self.lost_lease

    def _renew_idle_lease(self) -> None:
        """Nothing to write for a while (a long flood wait): keep the lease alive all the same."""
        try:
            if self.failed is None and self._lease_still_ours():
                self.db.update({f"{self.lease}/expires": time.time() + self.lease_seconds})
        except DatabaseError as exc:
            self._fail(exc)

    def _write(self) -> None:
        changes = dict(self._pending)
        try:
            if self._lease_still_ours():
                changes[f"{self.lease}/expires"] = time.time() + self.lease_seconds
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

    def close(self, final: dict) -> None:
        """Stop the writer and write everything left with ``final`` in one request; raises DatabaseError."""
        self._queue.put(self._CLOSE)
        self._thread.join()
        while True:  # outcomes handed over after the close marker (none, as every sender has finished)
            try:
                self._absorb(self._queue.get_nowait())
            except queue.Empty:
                break
        changes = dict(self._pending, **final)
        try:
            if changes:
                self.db.update(changes)
                self.writes += 1
        finally:
            self._release_waiters()


class Photo:
    """A picture that goes with a broadcast, its text as the caption: uploaded with the first delivery, then
    sent by the ``file_id`` Telegram gave it, so the picture costs no extra message and one upload.

    Senders wait for the upload (the first chat's delivery) before sending by ``file_id``; ``on_upload``
    stores the id at once, so a resumed run never uploads again. If Telegram refuses the picture, every
    chat left gets the text as a message instead.
    """

    def __init__(self, file_id: str | None = None, png: bytes | None = None,
                 on_upload: Callable[[str], None] | None = None,
                 uploaded_elsewhere: Callable[[], str | None] | None = None):
        """``uploaded_elsewhere``, called once before uploading, returns the ``file_id`` another process
        of the broadcast uploaded (waiting for it), or None to upload here."""
        if file_id is None and png is None:
            raise ValueError("a Photo needs a file_id or the PNG to upload")
        self.file_id, self._png, self._on_upload = file_id, png, on_upload
        self._elsewhere = uploaded_elsewhere
        self.refused = False
        self.uploads = 0
        self._lock = threading.Lock()

    def send(self, telegram: Telegram, chat_id: str, caption: str, silent: bool) -> None:
        """Deliver the picture with its caption to one chat; raises TelegramError."""
        if self.file_id is None:
            with self._lock:
                if self.file_id is None and self._elsewhere is not None:
                    self.file_id, self._elsewhere = self._elsewhere(), None
                    self._png = None if self.file_id else self._png
                if self.file_id is None:
                    sent = telegram.send_photo(chat_id, self._png, caption, silent=silent)
                    self.uploads += 1
                    self.file_id, self._png = sent.file_id, None
                    self._remember(sent.file_id)
                    return
        telegram.send_photo(chat_id, self.file_id, caption, silent=silent)

    def _remember(self, file_id: str) -> None:
        """Store the new file_id; the chat already has its picture, so a failure here is only logged (a
        resumed run would upload once more)."""
        if self._on_upload is None:
            return
        try:
            self._on_upload(file_id)
        except Exception:
            logger.exception("the uploaded picture's file_id could not be stored")

    def refuse(self, exc: TelegramError) -> None:
        if not self.refused:
            logger.error("Telegram refused the broadcast's picture; sending text messages instead: %s", exc)
        self.refused = True


def _cut_short(deadline: float | None, interrupt: threading.Event | None) -> str:
    """Why no new chat may be started now, or "" to go on."""
    if interrupt is not None and interrupt.is_set():
        return "shutting down"
    if deadline is not None and time.monotonic() >= deadline:
        return "time budget used up"
    return ""


class Letter(NamedTuple):
    """What one chat receives: the text (a picture's caption when there is a ``photo``), whether silently,
    and the paths deleted in the write that records the chat's outcome (the held alerts it delivers)."""

    text: str
    photo: Photo | None = None
    silent: bool = False
    settles: tuple[str, ...] = ()


Page = tuple[dict[str, Letter], dict[str, tuple[str, dict]]]
READ_AHEAD = 1000  # chats read but not yet taken by a sender, by default: what a run holds, whatever the audience


def one_page(letters: dict[str, Letter], decided: dict[str, tuple[str, dict]] | None = None) -> list[Page]:
    """Every recipient at once, as the single page of a broadcast."""
    return [(letters, decided or {})]


def send_all(db: Database, telegram: Telegram, key: str, pages: Iterable[Page], *,
             owner: str, rate: float, batch: int, lease_seconds: float,
             finish: dict | None = None, deadline: float | None = None,
             interrupt: threading.Event | None = None,
             progress: Callable[[Progress], None] = log_progress,
             progress_every: float = PROGRESS_SECONDS, read_ahead: int = READ_AHEAD,
             lease: str | None = None) -> BroadcastResult:
    """Send each chat its letter once; ``finish`` is written with the last batch when all are settled.

    ``pages`` yields the recipients a page at a time, read lazily, so a run holds a page and at most
    ``read_ahead`` chats queued for the senders, not the audience: each page's letters, and the chats it
    settles without a message (``skipped:<condition>`` or ``held``, with the changes that go along), written
    through the same ledger in the same batches. No new chat is started after ``deadline`` (a
    ``time.monotonic()`` value) or once ``interrupt`` is set: the chats left are counted as pending (and
    pages not read yet make the run unfinished), the lease is released, so the next run resumes at once.
    ``progress`` is called every ``progress_every`` seconds while the run lasts, and once at its end.
    ``lease`` is the path of the lease the run holds (``broadcasts/{key}/lease`` by default; a chunk's own).
    """
    result = BroadcastResult()
    limiter = RateLimiter(rate)
    todo: queue.Queue[str] = queue.Queue(maxsize=read_ahead)
    letters: dict[str, Letter] = {}  # of the chats queued or being sent
    counts_lock = threading.Lock()
    stop = threading.Event()  # nothing more can succeed, or the ledger failed
    halt = threading.Event()  # the senders are done: the reader stops too
    read_all = threading.Event()
    first_page = threading.Event()
    fed = threading.Event()
    total = [0]
    ledger = _Ledger(db, key, owner, batch, lease_seconds, max_wait=max(MIN_WAIT_SECONDS, 1.5 * batch / rate),
                     on_failure=stop.set, lease=lease)

    def count(field: str) -> None:
        with counts_lock:
            setattr(result, field, getattr(result, field) + 1)

    def settle(chat_id: str, outcome: str, more_to_come: bool, settles: tuple[str, ...] = ()) -> None:
        ledger.record(chat_id, outcome, more_to_come, dict.fromkeys(settles))

    def more() -> bool:
        return not (fed.is_set() and todo.empty())

    def deliver(chat_id: str, letter: Letter) -> None:
        floods = transient = 0
        target = chat_id
        photo, text, silent = letter.photo, letter.text, letter.silent
        while True:
            limiter.wait()
            with_photo = photo is not None and not photo.refused
            try:
                if with_photo:
                    photo.send(telegram, target, text, silent)
                else:
                    telegram.send_message(target, text, silent=silent)
            except TelegramError as exc:
                if with_photo and exc.photo_refused:
                    photo.refuse(exc)
                    continue
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
                    settle(chat_id, "removed", more(), letter.settles)
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
                settle(chat_id, f"failed:{exc.code}", more(), letter.settles)
                return
            count("sent")
            if target != chat_id:
                ledger.record(target, "sent")
            settle(chat_id, "sent", more(), letter.settles)
            return

    def work() -> None:
        while not stop.is_set() and not ledger.lost_lease:
            reason = _cut_short(deadline, interrupt)
            if reason:
                result.cut_short = reason
                return
            try:
                chat_id = todo.get(timeout=0.05)
            except queue.Empty:
                if fed.is_set() and todo.empty():
                    return
                continue
            letter = letters.pop(chat_id)
            try:
                deliver(chat_id, letter)
            except Exception:
                # Whatever broke, this chat is not known to be served: it stays pending for the next run.
                logger.exception("delivery failed unexpectedly; the chat stays pending",
                                 extra={"fields": {"broadcast": key, "chat_id": chat_id}})
                count("pending")

    def queue_up(chat_id: str, letter: Letter) -> bool:
        letters[chat_id] = letter
        while not halt.is_set():
            try:
                todo.put(chat_id, timeout=0.1)
                return True
            except queue.Full:
                continue
        letters.pop(chat_id, None)
        return False

    def feed() -> None:
        """Read the pages as the senders need them; settle the chats that get no message on the way."""
        try:
            for page_letters, decided in pages:
                total[0] += len(decided) + len(page_letters)  # the whole page counts as soon as it is read
                first_page.set()
                ledger.wait_for_room()
                for chat_id, (outcome, changes) in decided.items():  # no Telegram call
                    if halt.is_set() or stop.is_set():
                        return
                    ledger.record(chat_id, outcome, True, changes)
                    count("held" if outcome == "held" else "skipped")
                for chat_id, letter in page_letters.items():
                    if not queue_up(chat_id, letter):
                        return
            read_all.set()
        except Exception:  # a page could not be read: what was read goes on, the rest waits for the next run
            logger.exception("reading the recipients failed; this run sends what it read",
                             extra={"fields": {"broadcast": key}})
        finally:
            first_page.set()
            fed.set()

    started = time.monotonic()
    finished = threading.Event()

    def report(final: bool = False) -> None:
        with counts_lock:
            settled = result.sent + result.removed + result.failed + result.skipped + result.held
            sent = result.sent
        elapsed = max(time.monotonic() - started, 1e-6)
        per_second = settled / elapsed
        left = (total[0] - settled) / per_second if per_second and read_all.is_set() else None
        progress(Progress(key, settled, total[0], sent, per_second, left, final))

    def reporter() -> None:
        first_page.wait()  # a report counts at least the first page: a broadcast of one page reports its total
        while not finished.wait(progress_every):
            report()

    reader = threading.Thread(target=feed, daemon=True, name=f"recipients-{key}")
    reader.start()
    threads = [threading.Thread(target=work, daemon=True) for _ in range(worker_count(rate))]
    for thread in threads:
        thread.start()
    watcher = threading.Thread(target=reporter, daemon=True, name=f"progress-{key}")
    watcher.start()
    for thread in threads:
        thread.join()
    halt.set()
    reader.join()
    finished.set()
    watcher.join()
    report(final=True)
    result.pending += len(letters)
    result.unread = not read_all.is_set()
    result.interrupted = ledger.lost_lease or stop.is_set()
    if result.complete:
        last = dict(finish or {})
    elif ledger.lost_lease:
        last = {}
    else:
        last = {ledger.lease: None}
    ledger.close(last)
    result.database_waits, result.database_wait_seconds = ledger.sender_waits, ledger.sender_wait_seconds
    if result.cut_short and (result.pending or result.unread):
        logger.warning("broadcast cut short (%s); the next run goes on", result.cut_short,
                       extra={"fields": {"broadcast": key, "pending": result.pending}})
    logger.info("broadcast run finished", extra={"fields": {
        "broadcast": key, "sent": result.sent, "removed": result.removed, "failed": result.failed,
        "skipped": result.skipped, "held": result.held, "pending": result.pending, "ledger_writes": ledger.writes,
        "sender_database_waits": result.database_waits}})
    return result
