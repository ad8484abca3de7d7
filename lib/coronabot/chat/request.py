"""One message the bot answers, with everything an answer needs, so each handler takes one value: the message,
the command it asks, the chat's language (and whether the chat chose or was given it), where a reply goes
(the message itself in a group, nothing in a private chat) and the words of that language."""

from __future__ import annotations

from typing import NamedTuple

from coronabot import texts
from coronabot.chat.answers import Answer, Reply
from coronabot.chat.commands import Command
from coronabot.chat.updates import Message


class Request(NamedTuple):
    message: Message
    command: Command
    lang: str
    stored: bool  # whether the chat's language is stored (a subscriber's always is)

    @property
    def chat_id(self) -> int:
        return self.message.chat_id

    @property
    def update_id(self) -> int:
        return self.message.update_id

    @property
    def reply_to(self) -> int | None:
        """The message a reply answers: in a group the message asked, in a private chat none."""
        return None if self.message.chat_type == "private" else self.message.message_id

    @property
    def words(self) -> texts.Texts:
        return texts.of(self.lang)

    def reply(self, text: str, action: str | None = None, markup: dict[str, object] | None = None) -> Answer:
        """One reply to the message (split where Telegram's limit needs it), as the command's action."""
        parts = texts.split(text) if markup is None else [text]
        return Answer(tuple(Reply(self.chat_id, part, self.reply_to, markup=markup) for part in parts),
                      action=action or self.command.action.value)
