"""The morning delivery: each chat holding alerts from the quiet hours gets one message, once.

It is the broadcast ``held_{KST date}``, with its own ledger and lease, run by the same Broadcaster as an
alert; a chat's held entries are deleted in the write that records its outcome (see held.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from coronabot import log, sources, texts
from coronabot.adapters.storage import Database, child_items, key_span, layout
from coronabot.alerts import held
from coronabot.alerts.broadcaster import Broadcaster
from coronabot.alerts.claim import Claim
from coronabot.alerts.letters import Letters, settled
from coronabot.alerts.report import NOTHING, BroadcastReport
from coronabot.alerts.sending import Letter, Page
from coronabot.config import Settings
from coronabot.errors import AlreadyDone, Busy
from coronabot.model import preferences
from coronabot.model.language import KOREAN
from coronabot.model.seoul import KST

logger = log.get("coronabot.scrape")


class MorningDelivery:
    def __init__(self, db: Database, settings: Settings, letters: Letters, broadcaster: Broadcaster):
        self.db, self.settings, self.letters, self.broadcaster = db, settings, letters, broadcaster
        self.source = sources.get(settings.source)

    def deliver(self, now: datetime) -> BroadcastReport:
        """Send each chat with held alerts one message (the newest, with the periods it covers)."""
        key = f"held_{now.astimezone(KST).date().isoformat()}"
        lease = self.broadcaster.lease(key)
        try:
            claimed = Claim(lease.claim(self.db, {"kind": "held"}))
        except Busy:
            logger.info("another run is delivering the held alerts", extra={"fields": {"broadcast": key}})
            return BroadcastReport(busy=True)
        except AlreadyDone:  # a concurrent tick just finished it; any alert held since waits for the next
            logger.info("today's morning delivery is already finished", extra={"fields": {"broadcast": key}})
            return NOTHING
        resumed = claimed.resumed
        made: dict[tuple[Any, ...], Letter | None] = {}

        def pages() -> Iterator[Page]:
            for waiting in self.db.pages(layout.HELD, self.settings.page_size):
                subscribers = self.db.key_range(layout.SUBSCRIBERS, *key_span(waiting))
                yield self._page(waiting, settled(self.db, key, waiting, resumed), subscribers, made)

        logger.info("delivering held alerts", extra={"fields": {"broadcast": key}})
        return self.broadcaster.run(key, lease, pages(), layout.state("held"))

    def _page(self, waiting: dict[str, Any], done: dict[str, Any], subscribers: dict[str, Any],
              made: dict[tuple[Any, ...], Letter | None]) -> Page:
        """One page of chats holding alerts: each one's morning letter, or its outcome without one."""
        letters: dict[str, Letter] = {}
        decided: dict[str, tuple[str, dict[str, Any]]] = {}
        langs = self.letters.languages(waiting)
        for chat, entries in waiting.items():
            if chat in done:
                continue
            lang = langs.get(chat, KOREAN)
            owed = held.collapse(chat, entries)
            if owed is None or chat not in subscribers:
                paths = owed.paths if owed else tuple(layout.held(chat, k) for k in child_items(entries))
                decided[chat] = ("skipped:damaged" if owed is None else "skipped:unsubscribed", dict.fromkeys(paths))
                continue
            chart = preferences.from_subscription(subscribers[chat]).format == "chart"
            shape = (owed.broadcast, owed.announcement, owed.kind, owed.periods, chart, lang)
            if shape not in made:
                made[shape] = self._letter(owed, chart, lang)
            letter = made[shape]
            if letter is None:
                decided[chat] = ("skipped:damaged", dict.fromkeys(owed.paths))
            else:
                letters[chat] = letter._replace(settles=owed.paths)
        return letters, decided

    def _letter(self, owed: held.HeldAlert, chart: bool, lang: str) -> Letter | None:
        """The morning message in ``lang`` for one shape of held alerts: the newest announcement as recorded
        now (a correction in the night is in it), under a line naming every period it covers."""
        try:
            announcement = sources.restore(self.db.get(layout.history(self.source.name, owed.announcement)) or {})
        except (KeyError, TypeError, ValueError):
            logger.error("a held announcement's record is missing or damaged; its chats are skipped",
                         extra={"fields": {"announcement": owed.announcement}})
            return None
        words = texts.of(lang)
        body = words.broadcast_text(owed.kind, announcement, self.source)
        end_hour = self.settings.quiet_hours[1] if self.settings.quiet_hours else 8
        text = f"{words.held_line(owed.periods, end_hour)}\n\n{body}"
        photo = None
        if chart and owed.kind == "alert":
            record = self.db.get(layout.broadcast(owed.broadcast))
            photo = self.letters.photo(owed.broadcast, Claim(record if isinstance(record, dict) else {}), text,
                                                   lang)
        return Letter(text, photo)
