"""What the answer to an update will read, so it can be read ahead: side by side with the chat's language,
and, on a cold instance, while the code that answers is still loading (webhook.py starts these reads before
it loads the bot). Only light modules here: a command is recognised and the paths are named, nothing else."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from coronabot.adapters.storage import layout
from coronabot.chat.commands import Action, recognise
from coronabot.chat.updates import CallbackQuery, InlineQuery, Message, Update
from coronabot.model.language import LANGUAGES

if TYPE_CHECKING:
    from coronabot.adapters.storage import Database

Read = Callable[[], object]


def reads(update: Update, db: Database, source: str, username: Callable[[], str]) -> tuple[Read, ...]:
    """The reads the answer to ``update`` makes (none for an update that gets no answer from the database)."""
    if isinstance(update, Message):
        private = update.chat_type == "private"
        command = recognise(update.text, private, username) if update.text is not None else None
        if command is None and not (private and update.content):  # no answer, and no read
            return ()
        chat_id = update.chat_id
        return (chat_language(db, chat_id), *(for_action(db, command.action, chat_id, source) if command else ()))
    if isinstance(update, CallbackQuery):
        return for_press(update, db)
    if isinstance(update, InlineQuery):
        return (db.latest,)
    return ()


def for_press(query: CallbackQuery, db: Database) -> tuple[Read, ...]:
    """A press of one of the bot's buttons: the chat's language and its subscription (only the language to
    close the keyboard; nothing for data the bot never sent, answered without a read)."""
    from coronabot.model.preferences import parse_callback  # loaded with the first press, not with every cold start

    press = parse_callback(query.data)
    chat_id = query.chat_id
    if press is None or chat_id is None or query.message_id is None:
        return ()
    if press.action == "close":
        return (chat_language(db, chat_id),)
    return chat_language(db, chat_id), lambda: db.subscription(chat_id)


def chat_language(db: Database, chat_id: int) -> Read:
    """The read of a chat's language (every answer in a chat makes it)."""
    return lambda: db.language(chat_id)


def for_action(db: Database, action: Action, chat_id: int, source: str) -> tuple[Read, ...]:
    """What the answer to ``action`` reads besides the chat's language (/chart's in every language: which one
    it shows is known only once the language is read)."""
    if action in (Action.SUBSCRIBE, Action.SETTINGS, Action.STATUS):
        return (lambda: db.subscription(chat_id),)
    if action is Action.UNSUBSCRIBE:
        return (lambda: db.subscribed(chat_id), lambda: db.unsubscribed_by(chat_id))
    if action is Action.NOW:
        return (db.latest,)
    if action is Action.ABOUT:
        return (lambda: db.get(layout.state("seen", source)), lambda: db.get(layout.pending()))
    if action is Action.HISTORY:
        from coronabot.model.history import TABLE_PERIODS

        return (lambda: db.history_window(source, TABLE_PERIODS + 1),)
    if action is Action.CHART:
        return tuple((lambda lang=lang: db.chart(source, lang)) for lang in LANGUAGES)
    return ()
