"""What the bot does for one update: shared by the webhook and the local long-polling runner."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from coronabot import config, log, sources, texts
from coronabot.adapters.botapi import TelegramError
from coronabot.chat import ahead
from coronabot.chat.admins import AdminCache, AdminGate
from coronabot.chat.answers import Answer, Reply
from coronabot.chat.commands import Action, recognise
from coronabot.chat.figures import FigureAnswers
from coronabot.chat.inline import RETRY_SECONDS, InlineAnswers
from coronabot.chat.lang import ChatLanguages
from coronabot.chat.request import Request
from coronabot.chat.settings import ChatSettings
from coronabot.chat.subscriptions import ChatSubscriptions
from coronabot.chat.updates import CallbackQuery, ChatMigration, InlineQuery, MemberChange, Message, Update
from coronabot.model import language

if TYPE_CHECKING:  # types only: telepot loads with the first direct Bot API call, storage with main.py (ahead)
    from coronabot.adapters.storage import Database
    from coronabot.adapters.telegram import Telegram

logger = log.get("coronabot.bot")


class Bot:
    """Routes updates to actions; ``db`` and ``telegram`` are used only by the actions that need them."""

    def __init__(self, db_factory: Callable[[], Database], telegram_factory: Callable[[], Telegram] | None,
                 bot_username: str = "", source: str = config.DEFAULT_SOURCE,
                 quiet_hours: tuple[int, int] | None = config.DEFAULT_QUIET_HOURS):
        """``db_factory`` and ``telegram_factory`` (None without a token) make each client on first use."""
        self._db_factory = db_factory
        self._db: Database | None = None
        self._telegram_factory = telegram_factory
        self._telegram: Telegram | None = None
        self._clients_lock = threading.Lock()
        self._username = bot_username
        self._source = sources.get(source)
        self._admins = AdminGate(AdminCache(lambda chat, user: self._bot_api().chat_member_status(chat, user))
                                 if telegram_factory is not None else None)
        self._languages = ChatLanguages(self.database, self._admins)
        self._settings = ChatSettings(self.database, self._source, quiet_hours, self._admins, self._languages)
        self._inline = InlineAnswers(self.database, self._source, self.username)
        self._figures = FigureAnswers(self.database, self._source)
        self._subscriptions = ChatSubscriptions(self.database, self._admins)
        # What answers each action (only the chosen one runs), each taking the one request.
        self._handlers: dict[Action, Callable[[Request], Answer]] = {
            Action.HELP: lambda request: request.reply(request.words.HELP),
            Action.ABOUT: lambda request: request.reply(self._figures.about(request.lang)),
            Action.HISTORY: lambda request: request.reply(self._figures.history(request.lang)),
            Action.CHART: self._figures.chart,
            Action.SETTINGS: self._settings.show,
            Action.STATUS: self._settings.show,
            Action.LANGUAGE: self._languages.command,
            Action.UNKNOWN: lambda request: request.reply(request.words.unknown_command(request.message.first_name)),
            Action.SUBSCRIBE: lambda request: self._subscriptions.command(request, True),
            Action.UNSUBSCRIBE: lambda request: self._subscriptions.command(request, False),
            Action.NOW: lambda request: request.reply(self._figures.now(request.update_id, request.lang)),
        }

    @property
    def telegram(self) -> Telegram | None:
        if self._telegram is None and self._telegram_factory is not None:
            with self._clients_lock:
                if self._telegram is None:
                    self._telegram = self._telegram_factory()
        return self._telegram

    def _bot_api(self) -> Telegram:
        """The Bot API client of an action that calls Telegram directly (TelegramError without a token)."""
        telegram = self.telegram
        if telegram is None:
            raise TelegramError(0, "no TELEGRAM_TOKEN: the Bot API cannot be called")
        return telegram

    def database(self) -> Database:
        """The database client, made on first use (one per bot)."""
        if self._db is None:
            with self._clients_lock:
                if self._db is None:
                    self._db = self._db_factory()
        return self._db

    def username(self) -> str:
        """TELEGRAM_BOT_USERNAME, else the telepot wrapper's cached getMe; "" when neither is available."""
        if self._username or self._telegram_factory is None:
            return self._username
        try:
            return self._bot_api().username()
        except TelegramError as exc:
            logger.warning("getMe failed; commands addressed with @ are ignored for now: %s", exc)
            return ""

    def handle(self, update: Update) -> Answer:
        """Decide the answer to one parsed update. What no answer anticipated (a bug, a record no reader
        expected) is logged with its traceback and still answered: "try again later", in the chat's default
        language, never silence and never a database outage it was not."""
        try:
            return self._route(update)
        except Exception:
            logger.exception("the answer failed unexpectedly; told to try again later",
                             extra={"fields": {"update_id": update.update_id, "kind": type(update).__name__}})
            return failed_answer(update)

    def _route(self, update: Update) -> Answer:
        if isinstance(update, Message):
            return self._message(update)
        if isinstance(update, MemberChange):
            return self._subscriptions.member_change(update)
        if isinstance(update, ChatMigration):
            return self._subscriptions.migration(update)
        if isinstance(update, CallbackQuery):
            return self._settings.press(update)
        if isinstance(update, InlineQuery):
            return self._inline.answer(update)
        return Answer(action=f"ignored:{update.kind}")

    def _message(self, message: Message) -> Answer:
        private = message.chat_type == "private"
        command = recognise(message.text, private, self.username) if message.text is not None else None
        if command is None and not message.content:  # a service message: no answer anywhere, and no read
            return Answer(action="ignored:service")
        if command is None and not private:  # what a group says among itself: no answer, and no read
            return Answer(action="ignored:chatter" if message.text is not None else "ignored:non_text")
        with self.database().reads() as reads:  # the chat's language and what the answer reads: one round trip
            reads.at_once(ahead.chat_language(self.database(), message.chat_id), *(ahead.for_action(
                self.database(), command.action, message.chat_id, self._source.name) if command is not None else ()))
            lang, stored = self._languages.find(message.chat_id, message.chat_type, message.language_code,
                                                message.update_id)
            words = texts.of(lang)
            if command is None and message.text is None:
                return Answer((Reply(message.chat_id, words.NON_TEXT_HINT),), action="non_text")
            if command is None:
                return Answer((Reply(message.chat_id, words.UNRECOGNISED),), action="unrecognised")
            request = Request(message, command, lang, stored)
            handler = self._handlers.get(command.action)
            if handler is None:  # an action recognised but not wired up: never answered with something else
                logger.error("no handler for the action %s", command.action.value)
                return request.reply(words.UNRECOGNISED, "unhandled")
            return handler(request)

    def respond(self, update: Update) -> tuple[str, dict[str, Any]]:
        """The webhook's answer to one update, all the rules of sending in one place: the calls that cannot
        ride the response are made here (a button press's own call; a reply in several parts, sent once
        even if Telegram redelivers the update), and the one call that can is given back to ride it ({} for
        none), with the answer's action for the log."""
        outcome = self.handle(update)
        self.call_first(outcome)
        if outcome.method_call is not None:
            return outcome.action, outcome.method_call
        if len(outcome.replies) == 1:
            return outcome.action, {"method": "sendMessage", **outcome.replies[0].params()}
        fields = {"update_id": update.update_id}
        if outcome.replies and self.telegram is None:
            logger.error("TELEGRAM_TOKEN is not set: a multi-part reply cannot be sent", extra={"fields": fields})
        elif outcome.replies:
            try:
                self.deliver(update.update_id, outcome)
            except Exception as exc:  # the webhook still answers 200: Telegram would only redeliver it
                logger.error("reply could not be sent: %s", exc, extra={"fields": fields})
        return outcome.action, {}

    def deliver(self, update_id: int, outcome: Answer) -> None:
        """Send the replies through the Bot API, once per update even if Telegram redelivers it."""
        if not outcome.replies:
            return
        if not self.database().claim_update(update_id):
            logger.info("update already answered; not sending again", extra={"fields": {"update_id": update_id}})
            return
        self._answer_directly(outcome)

    def send(self, outcome: Answer) -> None:
        """Make all of the outcome's Bot API calls directly (long polling has no response body to ride)."""
        self.call_first(outcome)
        self._answer_directly(outcome)

    def _answer_directly(self, outcome: Answer) -> None:
        for reply in outcome.replies:
            self._bot_api().call("sendMessage", **reply.params())
        if outcome.method_call is not None:
            params = dict(outcome.method_call)
            self._bot_api().call(params.pop("method"), **params)

    def call_first(self, outcome: Answer) -> None:
        """The outcome's direct calls; a failure is logged, never raised (Telegram refuses to answer a press
        twice, which a redelivered update tries)."""
        for call in outcome.direct_calls:
            params = dict(call)
            method = params.pop("method")
            if self.telegram is None:
                logger.error("TELEGRAM_TOKEN is not set: %s cannot be called", method)
                continue
            try:
                self.telegram.call(method, **params)
            except TelegramError as exc:
                logger.info("%s not accepted: %s", method, exc)


def failed_answer(update: Update) -> Answer:
    """The answer to an update whose answer failed unexpectedly, in the sender's default language (the chat's
    own may be what failed): a message, a press's pop-up, an empty inline answer Telegram keeps briefly."""
    lang = language.default_for(getattr(update, "chat_type", None) or "private",
                                getattr(update, "language_code", None))
    words = texts.of(lang)
    if isinstance(update, Message):
        reply_to = None if update.chat_type == "private" else update.message_id
        return Answer((Reply(update.chat_id, words.TRY_AGAIN_LATER, reply_to),), action="error")
    if isinstance(update, CallbackQuery):
        return Answer(method_call={"method": "answerCallbackQuery", "callback_query_id": update.query_id,
                                    "text": words.BUTTON_TRY_AGAIN}, action="press:error")
    if isinstance(update, InlineQuery):
        return Answer(method_call={"method": "answerInlineQuery", "inline_query_id": update.query_id,
                                    "results": [], "cache_time": RETRY_SECONDS}, action="inline:error")
    return Answer(action=f"{type(update).__name__}:error")
