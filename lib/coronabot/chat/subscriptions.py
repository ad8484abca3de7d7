"""Who gets alerts, as the chat changes it: /subscribe and /unsubscribe (in groups, admins only), the bot
blocked or removed, a group that became a supergroup."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from coronabot import log
from coronabot.chat.admins import AdminGate
from coronabot.chat.answers import Answer
from coronabot.chat.request import Request
from coronabot.chat.updates import ChatMigration, MemberChange
from coronabot.errors import DATABASE_ERRORS
from coronabot.model.seoul import seoul_time

if TYPE_CHECKING:
    from coronabot.adapters.storage import Database

logger = log.get("coronabot.bot")


class ChatSubscriptions:
    def __init__(self, database: Callable[[], Database], admins: AdminGate):
        self.database, self.admins = database, admins

    def command(self, request: Request, subscribe: bool) -> Answer:
        """/subscribe and /unsubscribe (in groups, admins only). A chat subscribing keeps the language it reads
        now, so its alerts come in it."""
        words, message = request.words, request.message
        refusal = self.admins.subscription_refusal(message, request.lang)
        if refusal is not None:
            return request.reply(refusal)
        try:
            if subscribe:
                added = self.database().subscribe(message.chat_id, message.chat_type, message.update_id,
                                                  seoul_time(), None if request.stored else request.lang)
                return request.reply(words.SUBSCRIBED if added else words.ALREADY_SUBSCRIBED)
            removed = self.database().unsubscribe(message.chat_id, message.update_id)
            return request.reply(words.UNSUBSCRIBED if removed else words.NOT_SUBSCRIBED)
        except DATABASE_ERRORS as exc:
            logger.error("database unavailable for %s: %s", "subscribe" if subscribe else "unsubscribe", exc,
                         extra={"fields": {"update_id": message.update_id}})
            return request.reply(words.TRY_AGAIN_LATER)

    def member_change(self, change: MemberChange) -> Answer:
        """The bot removed from a group or blocked in a private chat: its subscription goes."""
        if change.status not in ("kicked", "left"):
            return Answer(action=f"member:{change.status}")
        try:
            removed = self.database().unsubscribe(change.chat_id)
        except DATABASE_ERRORS as exc:
            logger.error("could not remove a chat that blocked the bot; the next broadcast will: %s", exc,
                         extra={"fields": {"update_id": change.update_id}})
            return Answer(action="blocked:database_error")
        return Answer(action="blocked:unsubscribed" if removed else "blocked")

    def migration(self, migration: ChatMigration) -> Answer:
        """A group that became a supergroup: its subscription moves to the new id."""
        try:
            moved = self.database().move_subscriber(migration.old_chat_id, migration.new_chat_id)
        except DATABASE_ERRORS as exc:
            logger.error("could not move a migrated group's subscription; the next broadcast will: %s", exc,
                         extra={"fields": {"update_id": migration.update_id}})
            return Answer(action="migrated:database_error")
        return Answer(action="migrated:moved" if moved else "migrated")
