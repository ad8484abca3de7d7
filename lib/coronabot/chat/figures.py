"""The answers that read what the bot recorded: /now, /about, /history and /chart, in the chat's language,
one database read each (the chat's language aside)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from coronabot import log, sources, texts
from coronabot.adapters.botapi import photo_params
from coronabot.adapters.storage import layout
from coronabot.chat.answers import Answer
from coronabot.chat.commands import Action
from coronabot.chat.request import Request
from coronabot.errors import DATABASE_ERRORS
from coronabot.model import history, publication
from coronabot.sources import Pending

if TYPE_CHECKING:
    from coronabot.adapters.storage import Database
    from coronabot.model.announcement import Announcement
    from coronabot.sources import Source

logger = log.get("coronabot.bot")


class FigureAnswers:
    def __init__(self, database: Callable[[], Database], source: Source):
        self.database, self.source = database, source

    def now(self, update_id: int, lang: str) -> str:
        """/now: the latest stored announcement, in this version's words, and the period the source is
        counting after it (one read: the marker is kept beside the announcement)."""
        try:
            record = self.database().latest()
        except DATABASE_ERRORS as exc:
            logger.error("database unavailable for now: %s", exc,
                         extra={"fields": {"update_id": update_id}})
            return texts.of(lang).TRY_AGAIN_LATER
        announcement, recorded = None, None
        if record is not None:
            try:
                announcement = sources.restore(record)
                recorded = datetime.fromisoformat(record["recorded_at"]) if record.get("recorded_at") else None
            except (KeyError, TypeError, ValueError) as exc:
                logger.error("stored latest announcement is damaged: %s", exc)
        pending = pending_after(record, announcement)
        return texts.of(lang).current_figures(announcement, self.source, recorded, pending)

    def about(self, lang: str) -> str:
        """/about, with when the next announcement is expected and the period the source is counting (two
        reads; both left out if the database fails)."""
        try:
            model = publication.stored_model(self.database().get(layout.state("seen", self.source.name)),
                                            self.source.cadence)
            pending = Pending.from_record(self.database().get(layout.pending()))
        except DATABASE_ERRORS as exc:
            logger.warning("database unavailable for /about's expected time: %s", exc)
            return texts.of(lang).about(self.source, known=False)
        window = texts.of(lang).window_text(model.upcoming(datetime.now(UTC))) if model else None
        return texts.of(lang).about(self.source, window, pending=pending)

    def history(self, lang: str) -> str:
        """/history: the last periods from one key-ordered query (one more than shown, for the first change)."""
        try:
            records = self.database().history_window(self.source.name, history.TABLE_PERIODS + 1)
        except DATABASE_ERRORS as exc:
            logger.error("database unavailable for /history: %s", exc)
            return texts.of(lang).TRY_AGAIN_LATER
        series = sources.trend(records, self.source.name)
        return texts.of(lang).history(self.source, series, history.direction(series))

    def chart(self, request: Request) -> Answer:
        """/chart: the newest chart by its Telegram file_id, riding the webhook's answer (one read, no upload)."""
        words = request.words
        try:
            stored = self.database().chart(self.source.name, request.lang)
        except DATABASE_ERRORS as exc:
            logger.error("database unavailable for /chart: %s", exc)
            return request.reply(words.TRY_AGAIN_LATER)
        if stored is None or stored.get("wording") != texts.WORDING:  # none, or drawn with older words
            return request.reply(words.NO_CHART_YET)
        caption = words.chart_caption(self.source, stored)
        return Answer(method_call={"method": "sendPhoto",
                                    **photo_params(request.chat_id, stored["file_id"], caption, request.reply_to)},
                       action=Action.CHART.value)


def pending_after(record: object, announcement: Announcement | None) -> Pending | None:
    """The marker of the period the source is counting, kept beside the latest announcement, when it is
    after that announcement (anything else, damaged or older, is not shown)."""
    pending = Pending.from_record(record.get("pending")) if isinstance(record, dict) else None
    return pending if pending is not None and announcement is not None and pending.follows(announcement.order) \
        else None
