"""Each chat's choices: /settings with its buttons, /status, and the presses of those buttons."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from coronabot import log, texts
from coronabot.chat import ahead
from coronabot.chat.admins import AdminGate, needs_admin
from coronabot.chat.answers import Answer
from coronabot.chat.commands import Action
from coronabot.chat.lang import ChatLanguages
from coronabot.chat.request import Request
from coronabot.chat.updates import CallbackQuery
from coronabot.errors import DATABASE_ERRORS
from coronabot.model import language, preferences
from coronabot.model.seoul import seoul_time

if TYPE_CHECKING:
    from coronabot.adapters.storage import Database
    from coronabot.sources import Source

logger = log.get("coronabot.bot")


class ChatSettings:
    """The per-chat choices of one bot: one database read to show them, one transaction to change one."""

    def __init__(self, database: Callable[[], Database], source: Source, quiet_hours: tuple[int, int] | None,
                 admins: AdminGate, languages: ChatLanguages):
        self.database, self.source, self.quiet_hours, self.admins = database, source, quiet_hours, admins
        self.languages = languages

    def view(self, record: dict[str, Any] | None, lang: str) -> tuple[str, dict[str, Any]]:
        words = texts.of(lang)
        if record is None:
            return words.unsubscribed_view()
        return words.settings_view(self.source, preferences.from_subscription(record), self.quiet_hours)

    def show(self, request: Request) -> Answer:
        """/settings (the choices with their buttons) and /status (the choices as lines): one read each."""
        words, action = request.words, request.command.action
        try:
            record = self.database().subscription(request.chat_id)
        except DATABASE_ERRORS as exc:
            logger.error("database unavailable for /%s: %s", action.value, exc,
                         extra={"fields": {"update_id": request.update_id}})
            return request.reply(words.TRY_AGAIN_LATER)
        if action is Action.STATUS:
            prefs = preferences.from_subscription(record)
            return request.reply(words.status(self.source, record, prefs, self.quiet_hours))
        text, markup = self.view(record, request.lang)
        return request.reply(text, markup=markup)

    def press(self, query: CallbackQuery) -> Answer:
        """A button of /settings or /lang: change one choice or the language (or subscribe, or close), edit
        that message in the webhook's response and answer the press directly, in the chat's language. Data
        is validated; a press that changes nothing (a redelivery, a second tap) writes nothing."""
        press = preferences.parse_callback(query.data)
        if press is None or query.chat_id is None or query.message_id is None:
            return _unusable(query, press)
        chat_id, chat_type = query.chat_id, query.chat_type or ""
        with self.database().reads() as reads:  # the chat's language and its subscription: one round trip
            reads.at_once(*ahead.for_press(query, self.database()))
            return self._pressed(query, press, chat_id, chat_type)

    def _pressed(self, query: CallbackQuery, press: preferences.Press, chat_id: int, chat_type: str) -> Answer:
        def answer(text: str, alert: bool = False) -> dict[str, Any]:
            return _answer(query, text, alert)

        lang, stored = self.languages.find(chat_id, chat_type, query.language_code, query.update_id)
        words = texts.of(lang)
        if press is not preferences.STALE and (needs_admin(chat_type) or chat_type == "channel"):
            # In a channel every reader sees the buttons: only its administrators may press them.
            refusal = self.admins.refusal(chat_id, query.sender_id, query.update_id, words.SETTINGS_ADMINS_ONLY,
                                          lang)
            if refusal is not None:
                return Answer(method_call=answer(refusal, alert=True), action="press:refused")

        def edited(record: dict[str, Any] | None, said: str, action: str, shown: str = lang) -> Answer:
            text, markup = self.view(record, shown)
            edit = {"method": "editMessageText", "chat_id": chat_id, "message_id": query.message_id,
                    "text": text, "parse_mode": "HTML", "reply_markup": markup}
            return Answer(method_call=edit, direct_calls=(answer(said),), action=action)

        try:
            if press.action == "close":
                return Answer(method_call={"method": "editMessageReplyMarkup", "chat_id": chat_id,
                                            "message_id": query.message_id},
                               direct_calls=(answer(words.SETTINGS_CLOSED),), action="press:close")
            if press is preferences.STALE:
                return edited(self.database().subscription(chat_id), words.BUTTON_STALE, "press:stale")
            if press.action == "subscribe":
                now = seoul_time()
                added = self.database().subscribe(chat_id, chat_type, query.update_id, now, None if stored else lang)
                record = {"since": now} if added else self.database().subscription(chat_id)  # new: the defaults
                return edited(record, words.SUBSCRIBED_BY_BUTTON, "press:subscribe")
            if press.field == "lang":
                record = self.database().subscription(chat_id)  # read ahead; the switch's write forgets it
                changed = self.languages.switch(chat_id, press.value, lang, stored)
                chosen = texts.of(press.value)
                said = chosen.SETTING_SAVED if changed else chosen.SETTING_UNCHANGED
                return edited(record, said,
                              f"press:lang={press.value}" + ("" if changed else ":unchanged"), press.value)
            record, changed = self.database().set_preference(chat_id, press.field, press.value)
        except DATABASE_ERRORS as exc:
            logger.error("database unavailable for a button press: %s", exc,
                         extra={"fields": {"update_id": query.update_id}})
            return Answer(method_call=answer(words.BUTTON_TRY_AGAIN), action="press:database_error")
        if record is None:
            return edited(None, words.SUBSCRIBE_FIRST, "press:not_subscribed")
        said = words.SETTING_SAVED if changed else words.SETTING_UNCHANGED
        return edited(record, said, f"press:{press.field}={press.value}" + ("" if changed else ":unchanged"))


def _answer(query: CallbackQuery, text: str, alert: bool = False) -> dict[str, Any]:
    """The answer to a press (``answerCallbackQuery``), as a pop-up when ``alert``."""
    call = {"method": "answerCallbackQuery", "callback_query_id": query.query_id, "text": text}
    return dict(call, show_alert=True) if alert else call


def _unusable(query: CallbackQuery, press: preferences.Press | None) -> Answer:
    """A press with data the bot never sent, or on no message it can edit: answered in the presser's own
    default language, without a read (there may be no chat to look up)."""
    words = texts.of(language.default_for(query.chat_type or "private", query.language_code))
    if press is None:
        logger.warning("button press with data the bot never sent ignored",
                       extra={"fields": {"update_id": query.update_id}})
        return Answer(method_call=_answer(query, words.BUTTON_UNKNOWN), action="press:unknown")
    return Answer(method_call=_answer(query, words.BUTTON_UNUSABLE), action="press:no_message")
