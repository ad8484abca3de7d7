"""Parse incoming Telegram Update JSON into the few shapes the bot acts on.

telepot's ``glance``/``flavor`` fail on newer update kinds, so updates are
parsed here, defensively: anything unexpected becomes :class:`Ignored` or
raises :class:`MalformedUpdate`, never a crash.
"""

from __future__ import annotations

from typing import NamedTuple


class MalformedUpdate(ValueError):
    """The body is not a Telegram Update."""


class Message(NamedTuple):
    """A message or channel post, with its text when it has one."""

    update_id: int
    message_id: int
    chat_id: int
    chat_type: str
    text: str | None
    first_name: str | None


class MemberChange(NamedTuple):
    """The bot's own membership in a chat changed (blocked, removed, added)."""

    update_id: int
    chat_id: int
    chat_type: str
    status: str


class ChatMigration(NamedTuple):
    """A group became a supergroup with a new chat id (Telegram tells both the old and the new chat)."""

    update_id: int
    old_chat_id: int
    new_chat_id: int


class CallbackQuery(NamedTuple):
    update_id: int
    query_id: str


class Ignored(NamedTuple):
    """An update the bot does not act on; ``kind`` says what it was."""

    update_id: int
    kind: str


Update = Message | MemberChange | ChatMigration | CallbackQuery | Ignored

_CHAT_TYPES = {"private", "group", "supergroup", "channel"}


def _int(value: object, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise MalformedUpdate(f"{what} is not an integer")
    return value


def _chat(obj: dict) -> tuple[int, str]:
    chat = obj.get("chat")
    if not isinstance(chat, dict):
        raise MalformedUpdate("chat is missing")
    chat_type = chat.get("type")
    if chat_type not in _CHAT_TYPES:
        raise MalformedUpdate(f"unknown chat type {chat_type!r}")
    return _int(chat.get("id"), "chat.id"), chat_type


def parse(data: object) -> Update:
    """Turn decoded Update JSON into a typed update; raises MalformedUpdate."""
    if not isinstance(data, dict):
        raise MalformedUpdate("the body is not a JSON object")
    update_id = _int(data.get("update_id"), "update_id")
    for kind in ("message", "channel_post"):
        if kind in data:
            message = data[kind]
            if not isinstance(message, dict):
                raise MalformedUpdate(f"{kind} is not an object")
            chat_id, chat_type = _chat(message)
            if "migrate_to_chat_id" in message:
                return ChatMigration(update_id, chat_id, _int(message["migrate_to_chat_id"], "migrate_to_chat_id"))
            if "migrate_from_chat_id" in message:
                return ChatMigration(update_id, _int(message["migrate_from_chat_id"], "migrate_from_chat_id"), chat_id)
            text = message.get("text")
            sender = message.get("from") if isinstance(message.get("from"), dict) else {}
            first_name = sender.get("first_name")
            return Message(
                update_id=update_id,
                message_id=_int(message.get("message_id"), "message_id"),
                chat_id=chat_id, chat_type=chat_type,
                text=text if isinstance(text, str) else None,
                first_name=first_name if isinstance(first_name, str) else None,
            )
    if "my_chat_member" in data:
        change = data["my_chat_member"]
        if not isinstance(change, dict) or not isinstance(change.get("new_chat_member"), dict):
            raise MalformedUpdate("my_chat_member is incomplete")
        chat_id, chat_type = _chat(change)
        status = change["new_chat_member"].get("status")
        if not isinstance(status, str):
            raise MalformedUpdate("new_chat_member.status is missing")
        return MemberChange(update_id=update_id, chat_id=chat_id, chat_type=chat_type, status=status)
    if "callback_query" in data:
        query = data["callback_query"]
        if not isinstance(query, dict) or not isinstance(query.get("id"), str):
            raise MalformedUpdate("callback_query.id is missing")
        return CallbackQuery(update_id=update_id, query_id=query["id"])
    kinds = [k for k in data if k != "update_id"]
    return Ignored(update_id=update_id, kind=kinds[0] if kinds else "empty")
