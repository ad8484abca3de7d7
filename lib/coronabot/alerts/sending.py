"""Send each of many chats its letter within Telegram's limits, with a delivery ledger.

One :class:`Broadcast` run serves every path: a scrape tick's alert, the morning delivery of held alerts and
a fanned-out chunk (the deliver function). What it does when Telegram refuses a delivery is
:class:`~coronabot.alerts.policy.DeliveryPolicy`'s decision; outcomes go to the
:class:`~coronabot.alerts.ledger.Ledger`. A global rate limit (``BROADCAST_RATE`` messages per second) is shared by a
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

import dataclasses
import math
import queue
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NamedTuple

from coronabot import log
from coronabot.adapters.botapi import TelegramError
from coronabot.adapters.storage import Database, Lease
from coronabot.alerts.ledger import Ledger
from coronabot.alerts.photo import Photo
from coronabot.alerts.policy import FIRST_TRY, DeliveryPolicy, Step

if TYPE_CHECKING:
    from coronabot.adapters.telegram import Telegram
    from coronabot.config import Settings

logger = log.get("coronabot.broadcast")

PROGRESS_SECONDS = 5.0
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

    def counts(self, key: str) -> dict[str, Any]:
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

    @property
    def settled(self) -> int:
        """Chats the run is done with: sent, removed, failed for good, skipped or held."""
        return self.sent + self.removed + self.failed + self.skipped + self.held

    def log_end(self, key: str, ledger_writes: int) -> None:
        """The run's last log lines: why it stopped early, if it did, and its figures."""
        if self.cut_short and (self.pending or self.unread):
            logger.warning("broadcast cut short (%s); the next run goes on", self.cut_short,
                           extra={"fields": {"broadcast": key, "pending": self.pending}})
        logger.info("broadcast run finished", extra={"fields": {
            "broadcast": key, "sent": self.sent, "removed": self.removed, "failed": self.failed,
            "skipped": self.skipped, "held": self.held, "pending": self.pending,
            "ledger_writes": ledger_writes, "sender_database_waits": self.database_waits}})


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


Page = tuple[dict[str, Letter], dict[str, tuple[str, dict[str, Any]]]]
READ_AHEAD = 1000  # chats read but not yet taken by a sender, by default: what a run holds, whatever the audience


def one_page(letters: dict[str, Letter], decided: dict[str, tuple[str, dict[str, Any]]] | None = None) -> list[Page]:
    """Every recipient at once, as the single page of a broadcast."""
    return [(letters, decided or {})]


@dataclass(frozen=True)
class BroadcastOptions:
    """How a run sends: ``rate`` messages a second across its senders, ``batch`` outcomes a ledger write, at
    most ``read_ahead`` chats read ahead of the senders; it starts no chat after ``deadline`` (a
    ``time.monotonic()`` value) or once ``interrupt`` is set; ``progress`` is told every ``progress_every``
    seconds."""

    rate: float
    batch: int = 50
    deadline: float | None = None
    interrupt: threading.Event | None = None
    progress: Callable[[Progress], None] = log_progress
    progress_every: float = PROGRESS_SECONDS
    read_ahead: int = READ_AHEAD
    policy: DeliveryPolicy = field(default_factory=DeliveryPolicy)

    @classmethod
    def from_settings(cls, settings: Settings, rate: float | None = None, **chosen: Any) -> BroadcastOptions:
        """The deployment's options (BROADCAST_RATE, LEDGER_BATCH, BROADCAST_PAGE_SIZE, the progress cadence),
        ``rate`` and any other field chosen by the caller."""
        options = cls(rate=rate or settings.broadcast_rate, batch=settings.ledger_batch,
                      progress_every=settings.progress_seconds, read_ahead=settings.page_size)
        return dataclasses.replace(options, **chosen)


class Broadcast:
    """One run of a broadcast: each chat its letter once, recorded in the ledger; ``finish`` is written with
    the last batch once every chat is settled.

    ``pages`` yields the recipients a page at a time, read lazily, so a run holds a page and at most
    ``read_ahead`` chats queued for the senders, not the audience: each page's letters, and the chats it
    settles without a message (``skipped:<condition>`` or ``held``, with the changes that go along), written
    through the same ledger. No new chat is started after the deadline or once interrupted: the chats left
    count as pending (pages not read make the run unfinished) and the lease is released, so the next run
    resumes at once. The run holds ``lease`` (a broadcast's, or a chunk's own).
    """

    def __init__(self, db: Database, telegram: Telegram, key: str, pages: Iterable[Page], lease: Lease,
                 options: BroadcastOptions, finish: dict[str, Any] | None = None):
        self.db, self.telegram, self.key, self.pages, self.lease = db, telegram, key, pages, lease
        self.options, self.finish = options, finish or {}
        self.result = BroadcastResult()
        self._limiter = RateLimiter(options.rate)
        self._todo: queue.Queue[str] = queue.Queue(maxsize=options.read_ahead)
        self._letters: dict[str, Letter] = {}  # of the chats queued or being sent
        self._lock = threading.Lock()  # the result's counts and the total
        self._total = 0
        self._stop = threading.Event()  # nothing more can succeed, or the ledger failed
        self._halt = threading.Event()  # the senders are done: the reader stops too
        self._read_all = threading.Event()  # the reader read every page
        self._fed = threading.Event()  # the reader is done, whether or not it read every page
        self._first_page = threading.Event()
        self._finished = threading.Event()
        self._started = time.monotonic()
        self.ledger = Ledger(db, key, lease, options.batch,
                             max_wait=max(MIN_WAIT_SECONDS, 1.5 * options.batch / options.rate),
                             on_failure=self._stop.set)

    def run(self) -> BroadcastResult:
        """Read, send and record until every chat is settled or the run must stop; the run's figures."""
        reader = threading.Thread(target=self._feed, daemon=True, name=f"recipients-{self.key}")
        senders = [threading.Thread(target=self._work, daemon=True) for _ in range(worker_count(self.options.rate))]
        reporter = threading.Thread(target=self._report_regularly, daemon=True, name=f"progress-{self.key}")
        for thread in (reader, *senders, reporter):
            thread.start()
        for thread in senders:
            thread.join()
        self._halt.set()
        reader.join()
        self._finished.set()
        reporter.join()
        self._report(final=True)
        return self._close()

    # -- the reader ------------------------------------------------------------------------------------
    def _feed(self) -> None:
        """Read the pages as the senders need them; settle the chats that get no message on the way."""
        try:
            for letters, decided in self.pages:
                with self._lock:
                    self._total += len(decided) + len(letters)  # the whole page counts as soon as it is read
                self._first_page.set()
                self.ledger.wait_for_room()
                for chat_id, (outcome, changes) in decided.items():  # no Telegram call
                    if self._halt.is_set() or self._stop.is_set():
                        return
                    self.ledger.record(chat_id, outcome, True, changes)
                    self._count("held" if outcome == "held" else "skipped")
                for chat_id, letter in letters.items():
                    if not self._queue_up(chat_id, letter):
                        return
            self._read_all.set()
        except Exception:  # a page could not be read: what was read goes on, the rest waits for the next run
            logger.exception("reading the recipients failed; this run sends what it read",
                             extra={"fields": {"broadcast": self.key}})
        finally:
            self._first_page.set()
            self._fed.set()

    def _queue_up(self, chat_id: str, letter: Letter) -> bool:
        self._letters[chat_id] = letter
        while not self._halt.is_set():
            try:
                self._todo.put(chat_id, timeout=0.1)
                return True
            except queue.Full:
                continue
        self._letters.pop(chat_id, None)
        return False

    # -- the senders -----------------------------------------------------------------------------------
    def _work(self) -> None:
        while not self._stop.is_set() and not self.ledger.lost_lease:
            reason = _cut_short(self.options.deadline, self.options.interrupt)
            if reason:
                self.result.cut_short = reason
                return
            try:
                chat_id = self._todo.get(timeout=0.05)
            except queue.Empty:
                if self._fed.is_set() and self._todo.empty():
                    return
                continue
            letter = self._letters.pop(chat_id)
            try:
                self._deliver(chat_id, letter)
            except Exception:
                # Whatever broke, this chat is not known to be served: it stays pending for the next run.
                logger.exception("delivery failed unexpectedly; the chat stays pending",
                                 extra={"fields": {"broadcast": self.key, "chat_id": chat_id}})
                self._count("pending")

    def _deliver(self, chat_id: str, letter: Letter) -> None:
        """Send one chat its letter, doing what the policy decides on each refusal, and record the outcome."""
        tries, target = FIRST_TRY, chat_id
        fields = {"broadcast": self.key, "chat_id": chat_id}
        while True:
            self._limiter.wait()
            photo = letter.photo if letter.photo is not None and not letter.photo.refused else None
            try:
                if photo is not None:
                    photo.send(self.telegram, target, letter.text, letter.silent)
                else:
                    self.telegram.send_message(target, letter.text, silent=letter.silent)
            except TelegramError as exc:
                decision = self.options.policy.decide(exc, tries, photo is not None)
                tries, step = decision.tries, decision.step
                if step is Step.AS_TEXT and photo is not None:
                    photo.refuse(exc)
                elif step is Step.PAUSE:
                    self._limiter.pause(decision.seconds)
                elif step is Step.RETRY:
                    time.sleep(decision.seconds)
                elif step is Step.MOVE and decision.to is not None:
                    logger.info("group became a supergroup; subscription moved", extra={"fields": {**fields,
                                                                                                   "to": decision.to}})
                    self.ledger.move_subscriber(chat_id, decision.to)
                    target = decision.to
                else:
                    self._settle_refused(chat_id, letter, exc, step)
                    return
                continue
            self._count("sent")
            if target != chat_id:
                self.ledger.record(target, "sent")
            self._settle(chat_id, "sent", letter)
            return

    def _settle_refused(self, chat_id: str, letter: Letter, exc: TelegramError, step: Step) -> None:
        """The end of a delivery Telegram refused: pending, removed, failed, or the whole run stopped."""
        fields = {"broadcast": self.key, "chat_id": chat_id}
        if step is Step.STOP:
            if not self._stop.is_set():
                logger.error("broadcast stopped, every message would fail: %s", exc,
                             extra={"fields": {"broadcast": self.key}})
            self._stop.set()
            self._count("pending")
        elif step is Step.PENDING:
            reason = "the Bot API's answer was malformed" if exc.malformed else "left for the next run"
            logger.warning("delivery left pending (%s): %s", reason, exc, extra={"fields": fields})
            self._count("pending")
        elif step is Step.REMOVED:
            logger.info("subscriber removed: %s", exc.description, extra={"fields": fields})
            self._count("removed")
            self._settle(chat_id, "removed", letter)
        else:
            logger.error("delivery failed permanently: %s", exc, extra={"fields": fields})
            self._count("failed")
            self._settle(chat_id, f"failed:{exc.code}", letter)

    def _settle(self, chat_id: str, outcome: str, letter: Letter) -> None:
        more_to_come = not (self._fed.is_set() and self._todo.empty())
        self.ledger.record(chat_id, outcome, more_to_come, dict.fromkeys(letter.settles))

    def _count(self, field_name: str) -> None:
        with self._lock:
            setattr(self.result, field_name, getattr(self.result, field_name) + 1)

    # -- progress and the end --------------------------------------------------------------------------
    def _report(self, final: bool = False) -> None:
        with self._lock:
            total, settled, sent = self._total, self.result.settled, self.result.sent
        per_second = settled / max(time.monotonic() - self._started, 1e-6)
        left = (total - settled) / per_second if per_second and self._read_all.is_set() else None
        self.options.progress(Progress(self.key, settled, total, sent, per_second, left, final))

    def _report_regularly(self) -> None:
        self._first_page.wait()  # a report counts at least the first page: a one-page broadcast reports its total
        while not self._finished.wait(self.options.progress_every):
            self._report()

    def _close(self) -> BroadcastResult:
        """The run's final ledger write (``finish`` when every chat is settled, else the lease let go), and
        its figures, logged."""
        result, ledger = self.result, self.ledger
        result.pending += len(self._letters)
        result.unread = not self._read_all.is_set()
        result.interrupted = ledger.lost_lease or self._stop.is_set()
        if result.complete:
            last = dict(self.finish)
        else:
            last = {} if ledger.lost_lease else self.lease.release()
        ledger.close(last)
        result.database_waits, result.database_wait_seconds = ledger.sender_waits, ledger.sender_wait_seconds
        result.log_end(self.key, ledger.writes)
        return result
