"""What each subscriber of a broadcast receives, decided from its choices: shared by the whole broadcast of
a scrape tick and by one chunk of a fanned-out broadcast (the ``deliver`` function).

A page of subscribers becomes letters (the text in the chat's language, the chart or not, silent or not) and
the chats settled without one (skipped by their condition, held for the morning); the page's languages are
one read. The chart is drawn once per language per process and uploaded once per language per broadcast:
its ``file_id`` is stored, and while one process uploads it, the others wait for it.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any

from coronabot import log, sources, texts
from coronabot.adapters.storage import Database, Lease, key_span, layout
from coronabot.alerts import held
from coronabot.alerts.claim import Claim
from coronabot.alerts.photo import Photo
from coronabot.alerts.sending import Letter, Page
from coronabot.config import Settings
from coronabot.errors import AlreadyDone, Busy, DatabaseError
from coronabot.model import history, preferences
from coronabot.model.language import KOREAN, field
from coronabot.model.schedule import is_quiet
from coronabot.model.seoul import seoul_time

logger = log.get("coronabot.letters")

UPLOAD_WAIT_SECONDS = 30.0  # how long a process waits for the chart another one is uploading
UPLOAD_POLL_SECONDS = 0.25


def settled(db: Database, key: str, page: dict[str, Any], resumed: bool) -> dict[str, Any]:
    """The ledger's outcomes for a page's chats; read only by a resumed run (a first run's ledger is empty)."""
    return db.key_range(layout.deliveries(key), *key_span(page)) if resumed else {}


class Letters:
    """The letters of the broadcasts one process sends, with the chart of each (kept per broadcast key)."""

    def __init__(self, db: Database, settings: Settings):
        self.db, self.settings = db, settings
        self._photos: dict[tuple[str, str], Photo] = {}

    def pages(self, key: str, claimed: Claim, messages: dict[str, str], now: datetime, after: str | None = None,
              until: str | None = None, resumed: bool | None = None) -> Iterator[Page]:
        """The broadcast's subscribers (those from ``after`` to ``until``: a chunk), a page at a time, as
        letters and outcomes, leaving out the chats its ledger already records (read only when the claim,
        or ``resumed``, says the broadcast was tried before)."""
        resumed = claimed.resumed if resumed is None else resumed
        for page in self.db.pages(layout.SUBSCRIBERS, self.settings.page_size, after=after, until=until):
            done = settled(self.db, key, page, resumed)
            yield self.page(key, claimed, messages, {c: r for c, r in page.items() if c not in done}, now)

    def languages(self, chats: Iterable[str]) -> dict[str, str]:
        """The language of each of these chats that chose one (one read for the page; a chat left out reads
        Korean)."""
        chats = list(chats)
        return self.db.languages(*key_span(chats)) if chats else {}

    def page(self, key: str, claimed: Claim, messages: dict[str, str], subscribers: dict[str, Any],
             now: datetime) -> Page:
        """Each subscriber's letter in its language, or its outcome without one (skipped by its condition,
        held for the morning), from the choices in its subscription record as this run read them."""
        night = is_quiet(now, self.settings.quiet_hours)
        figures = claimed.comparisons()
        plans = {chat: preferences.plan(preferences.from_subscription(record), figures, night)
                 for chat, record in subscribers.items()}
        langs = self.languages(chat for chat, p in plans.items() if p.outcome == "send")  # none read for the rest
        charted = {langs.get(chat, KOREAN) for chat, p in plans.items() if p.outcome == "send" and p.chart}
        photos = {lang: self.photo(key, claimed, messages[lang], lang) for lang in sorted(charted)}
        letters: dict[str, Letter] = {}
        decided: dict[str, tuple[str, dict[str, Any]]] = {}
        entry = held.entry(claimed.announcement, claimed.order, claimed.kind, seoul_time(now))
        for chat, chosen in plans.items():
            if chosen.outcome == "send":
                lang = langs.get(chat, KOREAN)
                letters[chat] = Letter(messages[lang], photos.get(lang) if chosen.chart else None, chosen.silent)
            elif chosen.outcome == "hold":
                decided[chat] = ("held", {layout.held(chat, key): entry, layout.state("held"): True})
            else:
                decided[chat] = (chosen.outcome, {})
        return letters, decided

    def photo(self, key: str, claimed: Claim, text: str, lang: str = KOREAN) -> Photo | None:
        """The chart an alert carries, drawn in ``lang``: by the file_id stored when an earlier run uploaded
        it, else drawn now from history (uploaded with the first delivery). None for corrections, with
        CHARTS=off, when the text is too long for a caption or the chart cannot be drawn: then the alert
        goes as text."""
        if not self.settings.charts or claimed.kind != "alert":
            return None
        if texts.caption_length(text) > texts.MAX_CAPTION_CHARS:
            logger.info("the alert is too long for a picture's caption; sent as text", extra={"fields": {
                "broadcast": key, "chars": texts.caption_length(text), "language": lang}})
            return None
        if (key, lang) in self._photos:  # one Photo per broadcast and language here: one upload, even in the morning
            return self._photos[(key, lang)]
        stored = claimed.photo(lang)
        if stored is not None:
            return self._photos.setdefault((key, lang), Photo(file_id=stored))  # (never one in older words)
        announcement = claimed.announcement
        drawn = self._draw_chart(announcement, lang)
        if drawn is None:
            return None
        png, until = drawn

        def remember(file_id: str) -> None:
            uploaded_at = seoul_time()
            chart = {"file_id": file_id, "announcement": announcement, "order": until, "uploaded_at": uploaded_at,
                     "wording": texts.WORDING}
            self.db.update({layout.broadcast(key, field("photo", lang)): file_id,
                            layout.broadcast(key, field("photo_wording", lang)): texts.WORDING,
                            layout.chart(self.settings.source, lang): chart, layout.shared_chart(lang): chart})
            logger.info("chart uploaded",
                        extra={"fields": {"broadcast": key, "bytes": len(png), "language": lang}})

        return self._photos.setdefault((key, lang), Photo(
            png=png, on_upload=remember, uploaded_elsewhere=lambda: self._uploaded_elsewhere(key, lang)))

    def _uploaded_elsewhere(self, key: str, lang: str) -> str | None:
        """Before uploading: claim the upload for this process (None: upload it), or, when another process
        of the broadcast claimed it (fanned-out chunks start together), wait for the file_id it stores.
        If none comes within UPLOAD_WAIT_SECONDS, None: this process uploads too."""
        try:
            Lease(layout.broadcast(key, field("upload", lang)), UPLOAD_WAIT_SECONDS).claim(self.db)
            return None
        except (AlreadyDone, DatabaseError):
            return None
        except Busy:
            pass
        waited_until = time.monotonic() + UPLOAD_WAIT_SECONDS
        while time.monotonic() < waited_until:
            try:
                stored = self.db.get(layout.broadcast(key, field("photo", lang)))
                if isinstance(stored, str) and stored and \
                        self.db.get(layout.broadcast(key, field("photo_wording", lang))) == texts.WORDING:
                    return stored  # (never one in older words)
            except DatabaseError:
                pass
            time.sleep(UPLOAD_POLL_SECONDS)
        logger.warning("the chart another process was uploading did not come; uploading it here",
                       extra={"fields": {"broadcast": key}})
        return None

    def _draw_chart(self, announcement_id: str, lang: str) -> tuple[bytes, str] | None:
        """The chart's PNG in ``lang`` and the order of the period it ends with, or None (too little history,
        or it failed: logged)."""
        name = self.settings.source
        try:
            records = self.db.history_window(name, history.CHART_READ)
            series = history.chart_series(sources.trend(records, name), announcement_id)
            if series is None:
                logger.info("too little history for a chart yet; the alert goes as text",
                            extra={"fields": {"announcement": announcement_id}})
                return None
            from coronabot.alerts import chart  # matplotlib: loaded only by a process that draws
            return chart.render(sources.get(name), series, lang), series.recent[-1].id
        except Exception:
            logger.exception("the chart could not be drawn; the alert goes as text")
            return None
