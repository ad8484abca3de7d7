"""A broadcast from claim to finish, the same for every path: the alert or correction of a tick (in process,
or planned into chunks for the deliver function), an unfinished one resumed, and the morning delivery.

The broadcast's record (``broadcasts/{key}``) holds its text in every language (``text``, ``text_en``), its
kind, announcement and the figures the chats' choices are decided on, so a resumed run (in process or
through the queue) sends and decides alike; its lease lets one run at a time send it; its ledger
(``deliveries/{key}``) says who is settled.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from coronabot import log, sources, texts
from coronabot.adapters.storage import BroadcastPointer, Database, Lease, layout
from coronabot.adapters.telegram import Telegram
from coronabot.alerts import fanout
from coronabot.alerts.claim import Claim
from coronabot.alerts.letters import Letters
from coronabot.alerts.report import NOTHING, BroadcastReport
from coronabot.alerts.sending import Broadcast, BroadcastOptions, BroadcastResult, Page, Progress
from coronabot.config import Settings
from coronabot.errors import AlreadyDone, Busy
from coronabot.model import preferences
from coronabot.model.announcement import Announcement
from coronabot.model.language import KOREAN, LANGUAGES, field
from coronabot.sources import SanityError

if TYPE_CHECKING:
    from coronabot.adapters.tasks import TaskQueue
    from coronabot.model.source import Source

logger = log.get("coronabot.scrape")


def render(kind: str, announcement: Announcement, source: Source) -> dict[str, str]:
    """A broadcast's message in every language, rendered once (an alert or a correction); SanityError when one
    is a message Telegram could never accept (over 4,096 characters, counted on the HTML, which is never
    shorter than what Telegram counts), so it is refused before anything is recorded, never retried forever."""
    messages = {lang: texts.of(lang).broadcast_text(kind, announcement, source) for lang in LANGUAGES}
    for lang, text in messages.items():
        if len(text) > texts.MAX_MESSAGE_CHARS:
            raise SanityError(f"the {lang} message would be {len(text):,} characters, over Telegram's "
                              f"{texts.MAX_MESSAGE_CHARS:,}")
    return messages


class Broadcaster:
    """Runs broadcasts for one process: each call of the function (a tick, a chunk) starts the clock of its
    time budget with ``new_call``, and a broadcast stops taking chats when the budget runs out."""

    def __init__(self, db: Database, settings: Settings, telegram: Callable[[], Telegram], letters: Letters,
                 interrupt: threading.Event | None = None, progress: Callable[[Progress], None] | None = None,
                 progress_every: float | None = None):
        self.db, self.settings, self._telegram, self._letters = db, settings, telegram, letters
        self.source = sources.get(settings.source)
        self.interrupt, self.progress, self.progress_every = interrupt, progress, progress_every
        self._deadline: float | None = None
        self._queue: TaskQueue | None = None  # the Cloud Tasks client, made when a broadcast first fans out

    def new_call(self) -> None:
        """A new call of the function: its broadcasts stop taking chats BROADCAST_TIME_BUDGET from now."""
        self._deadline = time.monotonic() + self.settings.broadcast_budget

    def lease(self, key: str) -> Lease:
        return Lease(layout.broadcast(key), self.settings.lease_seconds)

    # -- an announcement's broadcast -------------------------------------------------------------------
    def start(self, pointer: BroadcastPointer, messages: dict[str, str] | None,
              conditions: dict[str, Any] | None = None) -> BroadcastReport:
        """Claim the broadcast ``pointer`` names (``messages``, its text in each language, and ``conditions``
        for a new one, None to resume) and settle every subscriber its ledger does not record yet, as each
        chose."""
        key = pointer.key
        lease = self.lease(key)
        meta = {"kind": pointer.kind, "announcement": pointer.announcement, **(conditions or {})}
        if messages is not None:
            meta.update({field("text", lang): text for lang, text in messages.items()}, wording=texts.WORDING)
        try:
            claimed = Claim(lease.claim(self.db, meta))
        except Busy:
            logger.info("another run is broadcasting this announcement", extra={"fields": {"broadcast": key}})
            return BroadcastReport(busy=True)
        except AlreadyDone:
            self.db.update({layout.state("broadcast"): None})
            return NOTHING
        claimed, messages = self.messages(key, claimed)
        if messages is None:
            self.db.update({layout.state("broadcast"): None, layout.broadcast(key, "done"): True})
            return NOTHING
        if self.settings.broadcast_queue:
            return self._fan_out(key, lease)
        if claimed.resumed and fanout.sending(self.db, key):  # fanned out before, and deliver is still at it
            logger.warning("chunks of this broadcast are being sent through the queue; not resuming it here",
                           extra={"fields": {"broadcast": key}})
            self.db.update(lease.release())
            return BroadcastReport(busy=True)
        pages = self._letters.pages(key, claimed, messages, datetime.now(UTC))
        return self.run(key, lease, pages, layout.state("broadcast"))

    def resume(self, pointer: BroadcastPointer | None, unless_key: str | None = None) -> BroadcastReport:
        """Go on with the unfinished broadcast ``pointer`` names (``state/broadcast``), unless it is ``unless_key``."""
        if pointer is None or pointer.key == unless_key:
            return NOTHING
        logger.info("resuming an unfinished broadcast", extra={"fields": {"broadcast": pointer.key}})
        return self.start(pointer, None)

    @staticmethod
    def conditions(announcement: Announcement, kind: str, latest: dict[str, Any]) -> dict[str, Any]:
        """What the per-chat choices are decided on, stored with the broadcast so a resumed run decides
        alike: its order, the published figures its message compares (for a correction, the
        original's too, from ``latest``)."""
        meta: dict[str, Any] = {"order": announcement.order}
        figures = preferences.comparison(announcement)
        if figures is not None:
            meta["compare"] = list(figures)
        if kind == "correction":
            try:
                before = preferences.comparison(sources.restore(latest))
            except (KeyError, TypeError, ValueError):
                before = None
            if before is not None:
                meta["compare_before"] = list(before)
        return meta

    def messages(self, key: str, claimed: Claim) -> tuple[Claim, dict[str, str] | None]:
        """The claimed broadcast (reworded when an older version began it) and its message in each language;
        a language an older broadcast lacks and that cannot be rendered (its announcement is not recorded)
        gets the Korean message, so nobody is left out. None, logged, when the Korean one is not a text
        Telegram accepts (the broadcast cannot be sent)."""
        if not claimed.in_these_words:
            claimed = self._reword(key, claimed)
        korean = claimed.text(KOREAN)
        if not texts.sendable(korean):
            logger.error("broadcast has no text Telegram can accept; dropping it", extra={"fields": {
                "broadcast": key, "chars": len(korean) if isinstance(korean, str) else None}})
            return claimed, None
        messages: dict[str, str] = {}
        for lang in LANGUAGES:
            text = claimed.text(lang)
            if not texts.sendable(text):
                logger.warning("the broadcast has no %s message; those chats get the Korean one", lang,
                               extra={"fields": {"broadcast": key}})
                text = korean
            messages[lang] = text
        return claimed, messages

    def _reword(self, key: str, claimed: Claim) -> Claim:
        """A broadcast begun by an older version, resumed in this version's words and languages: its text in
        each language rendered anew from the announcement as recorded (its chart is drawn again too: see
        ``Letters.photo``). Stored, so every chat it has left, in process or through the queue, gets the
        same message."""
        try:
            record = self.db.get(layout.history(self.source.name, claimed.announcement))
            announcement = sources.restore(record)
        except (KeyError, TypeError, ValueError):
            logger.warning("an older broadcast's announcement is not recorded; it goes on in its own words",
                           extra={"fields": {"broadcast": key}})
            return claimed
        try:
            rendered = render(claimed.kind, announcement, self.source)
        except SanityError:
            logger.warning("an older broadcast's message would not fit in this version's words; it goes on in its "
                           "own", extra={"fields": {"broadcast": key}})
            return claimed
        changes: dict[str, Any] = {field("text", lang): text for lang, text in rendered.items()}
        changes["wording"] = texts.WORDING
        self.db.update({layout.broadcast(key, field): value for field, value in changes.items()})
        logger.info("an older version's broadcast goes on in this version's words",
                    extra={"fields": {"broadcast": key}})
        return claimed.changed(changes)

    def _fan_out(self, key: str, lease: Lease) -> BroadcastReport:
        """BROADCAST_QUEUE: plan the broadcast's chunks and enqueue a task for each (or, on a later tick,
        for a chunk left behind), then let the lease go; the deliver function sends. Unfinished planning
        answers like an unfinished broadcast, so the next call goes on."""
        from coronabot.adapters.tasks import (  # google-cloud-tasks: loaded by a process that fans out
            QueueError,
            TaskQueue,
        )

        if self._queue is None:
            self._queue = TaskQueue(self.settings)
        try:
            planned = fanout.plan(self.db, self._queue, key, self.settings.page_size, self._deadline)
            # Deliver finishes a broadcast with its last chunk; a tick only repairs one whose chunks are all
            # settled already (that invocation stopped before marking it).
            finished = planned.planned and planned.done >= planned.chunks and fanout.finish_if_complete(self.db,
                                                                                                         key)
            plan = planned.summary()
        except QueueError as exc:
            logger.error("the broadcast could not be enqueued; the next tick goes on: %s", exc,
                         extra={"fields": {"broadcast": key}})
            plan, finished = {"planned": False, "error": str(exc)}, False
        finally:
            self.db.update(lease.release())
        logger.info("broadcast fanned out" if plan.get("planned") else "broadcast partly fanned out",
                    extra={"fields": {"broadcast": key, **plan}})
        return BroadcastReport({"broadcast": key, "fanout": plan, "finished": finished,
                                "unread": not plan.get("planned")})

    # -- every path ------------------------------------------------------------------------------------
    def run(self, key: str, lease: Lease, pages: Iterable[Page], marker: str) -> BroadcastReport:
        """Send a claimed broadcast; once every chat is settled it is marked done and the state's ``marker``
        (what made ticks resume it) is cleared, in its last write."""
        finish = {layout.broadcast(key, "done"): True, **lease.release(),
                  layout.broadcast(key, "finished_at"): datetime.now(UTC).timestamp(), marker: None}
        return BroadcastReport(self.send(key, lease, pages, finish).counts(key))

    def send(self, key: str, lease: Lease, pages: Iterable[Page], finish: dict[str, Any],
             rate: float | None = None) -> BroadcastResult:
        """One Broadcast run with this process's options (a chunk sends at its ``rate`` share)."""
        chosen: dict[str, Any] = {"deadline": self._deadline, "interrupt": self.interrupt}
        if self.progress is not None:
            chosen.update(progress=self.progress, progress_every=self.progress_every or self.settings.progress_seconds)
        options = BroadcastOptions.from_settings(self.settings, rate=rate, **chosen)
        return Broadcast(self.db, self._telegram(), key, pages, lease, options, finish).run()
