"""Inline mode: ``@bot`` typed in any chat offers the latest figures as a message and the chart as a photo.

The answer (``answerInlineQuery``) rides the webhook's response: one database read (``state/latest``, which
holds the charts uploaded for it), no upload, results Telegram caches for ``CACHE_SECONDS`` per user (they
are in the user's language). A query never subscribes anyone; what is shared links to the bot.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from coronabot import log, sources, texts
from coronabot.chat.answers import Answer
from coronabot.chat.updates import InlineQuery
from coronabot.errors import DATABASE_ERRORS
from coronabot.model import language

if TYPE_CHECKING:
    from coronabot.adapters.storage import Database
    from coronabot.sources import Source

logger = log.get("coronabot.bot")

CACHE_SECONDS = 300  # a popular query costs one answer per user every five minutes
RETRY_SECONDS = 10  # how long Telegram keeps an answer given while the database was unreachable
START_PARAMETER = "subscribe"  # t.me/Bot?start=subscribe subscribes the chat that opens it (commands.py)


def query_language(query: InlineQuery) -> str:
    """The results' language: one the query names ("@bot en", "@bot 한국어"), else the user's Telegram's."""
    return language.chosen(query.query) or language.default_for("private", query.language_code)


class InlineAnswers:
    def __init__(self, database: Callable[[], Database], source: Source, username: Callable[[], str]):
        self.database, self.source, self.username = database, source, username

    def answer(self, query: InlineQuery) -> Answer:
        """The results for one inline query; a quick valid answer whatever happens (never a 5xx)."""
        lang = query_language(query)
        words = texts.of(lang)
        call = {"method": "answerInlineQuery", "inline_query_id": query.query_id, "is_personal": True,
                "cache_time": CACHE_SECONDS,
                "button": {"text": words.INLINE_BUTTON, "start_parameter": START_PARAMETER}}
        try:
            record = self.database().latest()
        except DATABASE_ERRORS as exc:
            logger.error("database unavailable for an inline query: %s", exc,
                         extra={"fields": {"update_id": query.update_id}})
            return Answer(method_call=dict(call, results=[], cache_time=RETRY_SECONDS), action="inline:database_error")
        link = self._link(lang)
        try:
            announcement = sources.restore(record) if record is not None else None
        except (KeyError, TypeError, ValueError) as exc:
            logger.error("stored latest announcement is damaged: %s", exc)
            announcement = None
        if announcement is None:
            result = self._article("none", words.INLINE_NO_DATA_TITLE, words.INLINE_NO_DATA_DESCRIPTION,
                                   words.INLINE_NO_DATA + link)
            return Answer(method_call=dict(call, results=[result], cache_time=RETRY_SECONDS), action="inline:no_data")
        shown = words.localized(announcement, self.source)
        results = [self._article(f"now-{announcement.digest()}", words.inline_title(shown), shown.period,
                                 words.current_figures(announcement, self.source) + link)]
        chart = self._chart(record, lang, announcement.id)
        if chart is not None:
            caption = words.chart_caption(self.source, chart) + link
            if texts.caption_length(caption) <= texts.MAX_CAPTION_CHARS:
                results.append({"type": "photo", "id": f"chart-{announcement.digest()}",
                                "photo_file_id": chart["file_id"], "title": words.INLINE_CHART_TITLE,
                                "caption": caption, "parse_mode": "HTML"})
        return Answer(method_call=dict(call, results=results), action=f"inline:{lang}:{len(results)}")

    @staticmethod
    def _article(key: str, title: str, description: str, text: str) -> dict[str, Any]:
        return {"type": "article", "id": key, "title": title, "description": description,
                "input_message_content": {"message_text": text, "parse_mode": "HTML",
                                          "link_preview_options": {"is_disabled": True}}}

    @staticmethod
    def _chart(record: dict[str, Any] | None, lang: str, announcement: str) -> dict[str, Any] | None:
        """The chart uploaded in ``lang`` for this announcement, as stored beside it (None before it is)."""
        charts = record.get("charts") if isinstance(record, dict) else None
        chart = charts.get(lang) if isinstance(charts, dict) else None
        if not isinstance(chart, dict) or not isinstance(chart.get("file_id"), str) or not chart["file_id"]:
            return None
        if chart.get("wording") != texts.WORDING or chart.get("announcement") != announcement:
            return None
        return chart

    def _link(self, lang: str) -> str:
        """The line that links what is shared to the bot ("" when its username is not known)."""
        username = self.username()
        if not username:
            return ""
        return texts.of(lang).shared_link(f"https://t.me/{username}?start={START_PARAMETER}", username)
