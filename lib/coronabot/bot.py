"""What the bot does for one update: shared by the webhook and the local long-polling runner."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, NamedTuple

from . import config, history, log, preferences, publication, sources, texts
from .botapi import TelegramError, message_params, photo_params
from .chats import AdminCache, needs_admin
from .commands import Action, recognise
from .errors import DatabaseError
from .storage import layout
from .updates import CallbackQuery, ChatMigration, MemberChange, Message, Update

if TYPE_CHECKING:  # loaded on first use: /help and the other answers without data need neither
    from .storage import Database
    from .telegram import Telegram

logger = log.get("coronabot.bot")


# What a failed database call raises: DatabaseError, whichever client failed, or ValueError for a refused value.
DATABASE_ERRORS = (DatabaseError, ValueError)


class Reply(NamedTuple):
    chat_id: int
    text: str
    reply_to: int | None = None
    markup: dict | None = None  # an inline keyboard

    def params(self) -> dict:
        """sendMessage parameters, for the response body or a direct call."""
        return message_params(self.chat_id, self.text, self.reply_to, markup=self.markup)


class Outcome(NamedTuple):
    """The bot's answer to one update: replies, or one raw method call, and what happened.
    ``direct_calls`` are Bot API calls made before the answer, as they cannot ride the webhook's response
    (it carries one method): the answer to a button press whose message is edited in the response."""

    replies: tuple[Reply, ...] = ()
    method_call: dict | None = None
    action: str = "ignored"
    direct_calls: tuple[dict, ...] = ()


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
        self._quiet_hours = quiet_hours
        self._admins = AdminCache(lambda chat, user: self.telegram.chat_member_status(chat, user)) \
            if telegram_factory is not None else None

    @property
    def telegram(self) -> Telegram | None:
        if self._telegram is None and self._telegram_factory is not None:
            with self._clients_lock:
                if self._telegram is None:
                    self._telegram = self._telegram_factory()
        return self._telegram

    @property
    def db(self) -> Database:
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
            return self.telegram.username()
        except TelegramError as exc:
            logger.warning("getMe failed; commands addressed with @ are ignored for now: %s", exc)
            return ""

    def handle(self, update: Update) -> Outcome:
        """Decide the answer to one parsed update."""
        if isinstance(update, Message):
            return self._message(update)
        if isinstance(update, MemberChange):
            return self._member_change(update)
        if isinstance(update, ChatMigration):
            return self._migration(update)
        if isinstance(update, CallbackQuery):
            return self._press(update)
        return Outcome(action=f"ignored:{update.kind}")

    def _message(self, message: Message) -> Outcome:
        private = message.chat_type == "private"
        reply_to = None if private else message.message_id
        if message.text is None:
            if private and message.content:
                return Outcome((Reply(message.chat_id, texts.NON_TEXT_HINT),), action="non_text")
            return Outcome(action="ignored:non_text" if message.content else "ignored:service")
        command = recognise(message.text, private, self.username)
        if command is None:
            if private:
                return Outcome((Reply(message.chat_id, texts.UNRECOGNISED),), action="unrecognised")
            return Outcome(action="ignored:chatter")

        handler = self._handlers(message, command.action, reply_to).get(command.action)
        if handler is None:  # an action recognised but not wired up: never answered with something else
            logger.error("no handler for the action %s", command.action.value)
            return Outcome((Reply(message.chat_id, texts.UNRECOGNISED, reply_to),), action="unhandled")
        return handler()

    def _handlers(self, message: Message, action: Action,
                  reply_to: int | None) -> dict[Action, Callable[[], Outcome]]:
        """What answers each action (called lazily: only the chosen one runs)."""
        def answer(text: str) -> Outcome:
            return Outcome(tuple(Reply(message.chat_id, part, reply_to) for part in texts.split(text)),
                           action=action.value)

        return {
            Action.HELP: lambda: answer(texts.HELP),
            Action.ABOUT: lambda: answer(self._about()),
            Action.HISTORY: lambda: answer(self._history()),
            Action.CHART: lambda: self._chart(message.chat_id, reply_to),
            Action.SETTINGS: lambda: self._settings(message, action, reply_to),
            Action.STATUS: lambda: self._settings(message, action, reply_to),
            Action.UNKNOWN: lambda: answer(texts.unknown_command(message.first_name)),
            Action.SUBSCRIBE: lambda: answer(self._subscription(message, subscribe=True)),
            Action.UNSUBSCRIBE: lambda: answer(self._subscription(message, subscribe=False)),
            Action.NOW: lambda: answer(self._now(message)),
        }

    def _subscription(self, message: Message, subscribe: bool) -> str:
        """/subscribe and /unsubscribe (in groups, admins only); the answer's text."""
        refusal = self._refuse_non_admin(message)
        if refusal is not None:
            return refusal
        try:
            if subscribe:
                now = datetime.now(UTC).astimezone(texts.KST).isoformat(timespec="seconds")
                added = self.db.subscribe(message.chat_id, message.chat_type, message.update_id, now)
                return texts.SUBSCRIBED if added else texts.ALREADY_SUBSCRIBED
            removed = self.db.unsubscribe(message.chat_id, message.update_id)
            return texts.UNSUBSCRIBED if removed else texts.NOT_SUBSCRIBED
        except DATABASE_ERRORS as exc:
            logger.error("database unavailable for %s: %s", "subscribe" if subscribe else "unsubscribe", exc,
                         extra={"fields": {"update_id": message.update_id}})
            return texts.TRY_AGAIN_LATER

    def _now(self, message: Message) -> str:
        """/now: the latest stored announcement, in this version's words (one read)."""
        try:
            record = self.db.latest()
        except DATABASE_ERRORS as exc:
            logger.error("database unavailable for now: %s", exc,
                         extra={"fields": {"update_id": message.update_id}})
            return texts.TRY_AGAIN_LATER
        announcement, recorded = None, None
        if record is not None:
            try:
                announcement = sources.restore(record)
                recorded = datetime.fromisoformat(record["recorded_at"]) if record.get("recorded_at") else None
            except (KeyError, TypeError, ValueError) as exc:
                logger.error("stored latest announcement is damaged: %s", exc)
        return texts.current_figures(announcement, self._source, recorded)

    def _about(self) -> str:
        """/about, with when the next announcement is expected (one read; left out if the database fails)."""
        try:
            model = publication.stored_model(self.db.get(layout.state("seen", self._source.name)),
                                            self._source.cadence)
        except DATABASE_ERRORS as exc:
            logger.warning("database unavailable for /about's expected time: %s", exc)
            return texts.about(self._source, known=False)
        window = publication.describe(model.upcoming(datetime.now(UTC))) if model else None
        return texts.about(self._source, window)

    def _history(self) -> str:
        """/history: the last periods from one key-ordered query (one more than shown, for the first change)."""
        try:
            records = self.db.history_window(self._source.name, history.TABLE_PERIODS + 1)
        except DATABASE_ERRORS as exc:
            logger.error("database unavailable for /history: %s", exc)
            return texts.TRY_AGAIN_LATER
        series = sources.trend(records, self._source.name)
        return texts.history(self._source, series, history.direction(series))

    def _chart(self, chat_id: int, reply_to: int | None) -> Outcome:
        """/chart: the newest chart by its Telegram file_id, riding the webhook's answer (one read, no upload)."""
        def say(text: str) -> Outcome:
            return Outcome((Reply(chat_id, text, reply_to),), action=Action.CHART.value)

        try:
            stored = self.db.chart(self._source.name)
        except DATABASE_ERRORS as exc:
            logger.error("database unavailable for /chart: %s", exc)
            return say(texts.TRY_AGAIN_LATER)
        if stored is None or stored.get("wording") != texts.WORDING:  # none, or drawn with older words
            return say(texts.NO_CHART_YET)
        caption = texts.chart_caption(self._source, str(stored.get("period") or ""))
        return Outcome(method_call={"method": "sendPhoto",
                                    **photo_params(chat_id, stored["file_id"], caption, reply_to)},
                       action=Action.CHART.value)

    def _refuse_non_admin(self, message: Message) -> str | None:
        """In groups only administrators change the subscription (an anonymous admin writes as the chat
        itself); the answer for anyone else, or None to go on."""
        if not needs_admin(message.chat_type) or message.sender_chat_id == message.chat_id:
            return None
        return self._admin_refusal(message.chat_id, message.sender_id, message.update_id, texts.ADMINS_ONLY)

    def _admin_refusal(self, chat_id: int, sender_id: int | None, update_id: int, refusal: str) -> str | None:
        """``refusal`` unless the sender administers the chat (asked through the short-lived cache);
        TRY_AGAIN_LATER when that cannot be checked; None to go on."""
        fields = {"update_id": update_id, "chat_id": chat_id}
        if sender_id is None:
            return refusal
        if self._admins is None:
            logger.error("TELEGRAM_TOKEN is not set: group administrators cannot be checked", extra={"fields": fields})
            return texts.TRY_AGAIN_LATER
        try:
            admin = self._admins.is_admin(chat_id, sender_id)
        except TelegramError as exc:
            logger.error("getChatMember failed; the chat's subscription is left as it is: %s", exc,
                         extra={"fields": fields})
            return texts.TRY_AGAIN_LATER
        if not admin:
            logger.info("change refused: not an administrator", extra={"fields": fields})
            return refusal
        return None

    # -- per-chat choices ----------------------------------------------------------------------------
    def _view(self, record: dict | None) -> tuple[str, dict]:
        if record is None:
            return texts.unsubscribed_view()
        return texts.settings_view(self._source, preferences.from_subscription(record), self._quiet_hours)

    def _settings(self, message: Message, action: Action, reply_to: int | None) -> Outcome:
        """/settings (the choices with their buttons) and /status (the choices as lines): one read each."""
        try:
            record = self.db.subscription(message.chat_id)
        except DATABASE_ERRORS as exc:
            logger.error("database unavailable for /%s: %s", action.value, exc,
                         extra={"fields": {"update_id": message.update_id}})
            return Outcome((Reply(message.chat_id, texts.TRY_AGAIN_LATER, reply_to),), action=action.value)
        if action is Action.STATUS:
            prefs = preferences.from_subscription(record)
            reply = Reply(message.chat_id, texts.status(self._source, record, prefs, self._quiet_hours), reply_to)
        else:
            text, markup = self._view(record)
            reply = Reply(message.chat_id, text, reply_to, markup=markup)
        return Outcome((reply,), action=action.value)

    def _press(self, query: CallbackQuery) -> Outcome:
        """A button of /settings: change one choice (or subscribe, or close), edit that message in the
        webhook's response and answer the press directly. Data is validated; a press that changes nothing
        (a redelivery, a second tap) writes nothing."""
        def answer(text: str, alert: bool = False) -> dict:
            call = {"method": "answerCallbackQuery", "callback_query_id": query.query_id, "text": text}
            return dict(call, show_alert=True) if alert else call

        press = preferences.parse_callback(query.data)
        if press is None:
            logger.warning("button press with data the bot never sent ignored",
                           extra={"fields": {"update_id": query.update_id}})
            return Outcome(method_call=answer(texts.BUTTON_UNKNOWN), action="press:unknown")
        if query.chat_id is None or query.message_id is None:
            return Outcome(method_call=answer(texts.BUTTON_UNUSABLE), action="press:no_message")
        chat_id, chat_type = query.chat_id, query.chat_type or ""
        if press is not preferences.STALE and (needs_admin(chat_type) or chat_type == "channel"):
            # In a channel every reader sees the buttons: only its administrators may press them.
            refusal = self._admin_refusal(chat_id, query.sender_id, query.update_id, texts.SETTINGS_ADMINS_ONLY)
            if refusal is not None:
                return Outcome(method_call=answer(refusal, alert=True), action="press:refused")

        def edited(record: dict | None, said: str, action: str) -> Outcome:
            text, markup = self._view(record)
            edit = {"method": "editMessageText", "chat_id": chat_id, "message_id": query.message_id,
                    "text": text, "parse_mode": "HTML", "reply_markup": markup}
            return Outcome(method_call=edit, direct_calls=(answer(said),), action=action)

        try:
            if press.action == "close":
                return Outcome(method_call={"method": "editMessageReplyMarkup", "chat_id": chat_id,
                                            "message_id": query.message_id},
                               direct_calls=(answer(texts.SETTINGS_CLOSED),), action="press:close")
            if press is preferences.STALE:
                return edited(self.db.subscription(chat_id), texts.BUTTON_STALE, "press:stale")
            if press.action == "subscribe":
                now = datetime.now(UTC).astimezone(texts.KST).isoformat(timespec="seconds")
                added = self.db.subscribe(chat_id, chat_type, query.update_id, now)
                record = {"since": now} if added else self.db.subscription(chat_id)  # new: the defaults
                return edited(record, texts.SUBSCRIBED_BY_BUTTON, "press:subscribe")
            record, changed = self.db.set_preference(chat_id, press.field, press.value)
        except DATABASE_ERRORS as exc:
            logger.error("database unavailable for a button press: %s", exc,
                         extra={"fields": {"update_id": query.update_id}})
            return Outcome(method_call=answer(texts.BUTTON_TRY_AGAIN), action="press:database_error")
        if record is None:
            return edited(None, texts.SUBSCRIBE_FIRST, "press:not_subscribed")
        said = texts.SETTING_SAVED if changed else texts.SETTING_UNCHANGED
        return edited(record, said, f"press:{press.field}={press.value}" + ("" if changed else ":unchanged"))

    def _member_change(self, change: MemberChange) -> Outcome:
        if change.status not in ("kicked", "left"):
            return Outcome(action=f"member:{change.status}")
        try:
            removed = self.db.unsubscribe(change.chat_id)
        except DATABASE_ERRORS as exc:
            logger.error("could not remove a chat that blocked the bot; the next broadcast will: %s", exc,
                         extra={"fields": {"update_id": change.update_id}})
            return Outcome(action="blocked:database_error")
        return Outcome(action="blocked:unsubscribed" if removed else "blocked")

    def _migration(self, migration: ChatMigration) -> Outcome:
        try:
            moved = self.db.move_subscriber(migration.old_chat_id, migration.new_chat_id)
        except DATABASE_ERRORS as exc:
            logger.error("could not move a migrated group's subscription; the next broadcast will: %s", exc,
                         extra={"fields": {"update_id": migration.update_id}})
            return Outcome(action="migrated:database_error")
        return Outcome(action="migrated:moved" if moved else "migrated")

    def deliver(self, update_id: int, outcome: Outcome) -> None:
        """Send the replies through the Bot API, once per update even if Telegram redelivers it."""
        if not outcome.replies:
            return
        if not self.db.claim_update(update_id):
            logger.info("update already answered; not sending again", extra={"fields": {"update_id": update_id}})
            return
        self._answer_directly(outcome)

    def send(self, outcome: Outcome) -> None:
        """Make all of the outcome's Bot API calls directly (long polling has no response body to ride)."""
        self.call_first(outcome)
        self._answer_directly(outcome)

    def _answer_directly(self, outcome: Outcome) -> None:
        for reply in outcome.replies:
            self.telegram.call("sendMessage", **reply.params())
        if outcome.method_call is not None:
            params = dict(outcome.method_call)
            self.telegram.call(params.pop("method"), **params)

    def call_first(self, outcome: Outcome) -> None:
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
