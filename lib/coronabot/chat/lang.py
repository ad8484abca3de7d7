"""The language each chat reads: found for every answer, chosen with /lang, its buttons or a bare word."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from coronabot import log, texts
from coronabot.chat.admins import AdminGate
from coronabot.chat.answers import Answer
from coronabot.chat.request import Request
from coronabot.errors import DATABASE_ERRORS
from coronabot.model import language

if TYPE_CHECKING:
    from coronabot.adapters.storage import Database

logger = log.get("coronabot.bot")


class ChatLanguages:
    """One read to find a chat's language; at most one write to change it (what the finding read says)."""

    def __init__(self, database: Callable[[], Database], admins: AdminGate):
        self.database, self.admins = database, admins

    def find(self, chat_id: int, chat_type: str | None, language_code: str | None,
             update_id: int = 0) -> tuple[str, bool]:
        """The chat's language and whether it is stored: the one it chose (or subscribed in), else its
        default (one read; every subscriber has one stored: chats subscribed before languages existed were
        given Korean once, by ``storage.Migrations``). The default when the database cannot be read."""
        default = language.default_for(chat_type, language_code)
        try:
            stored = self.database().language(chat_id)
            if stored is not None:
                return stored, True
        except DATABASE_ERRORS as exc:
            logger.warning("the chat's language could not be read; answering in its default: %s", exc,
                           extra={"fields": {"update_id": update_id}})
        return default, False

    def switch(self, chat_id: int, wanted: str, current: str, stored: bool) -> bool:
        """Make ``wanted`` the chat's language; True when that changed it. ``current`` and ``stored`` are what
        ``find`` read for this update, so only a change is written, and nothing is read again."""
        if stored and current == wanted:
            return False
        self.database().set_language(chat_id, wanted)
        return True

    def command(self, request: Request) -> Answer:
        """/lang: without a language, what it does and a button for each; with one, switch (in groups, as
        for subscribing, administrators only). The answer is in the language the chat reads afterwards."""
        message, current, words = request.message, request.lang, request.words
        wanted = language.chosen(request.command.argument)
        if wanted is None:
            text, markup = words.language_prompt()
            return request.reply(text, "lang", markup)
        refusal = self.admins.subscription_refusal(message, current, words.LANGUAGE_ADMINS_ONLY)
        if refusal is not None:
            return request.reply(refusal, "lang:refused")
        try:
            changed = self.switch(message.chat_id, wanted, current, request.stored)
        except DATABASE_ERRORS as exc:
            logger.error("database unavailable for /lang: %s", exc, extra={"fields": {"update_id": message.update_id}})
            return request.reply(words.TRY_AGAIN_LATER, "lang:database_error")
        chosen = texts.of(wanted)
        return request.reply(chosen.LANGUAGE_SET if changed else chosen.LANGUAGE_UNCHANGED,
                   f"lang:{wanted}" + ("" if changed else ":unchanged"))
