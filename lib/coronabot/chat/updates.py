"""Parse incoming Telegram Update JSON into the few shapes the bot acts on.

telepot's ``glance``/``flavor`` fail on newer update kinds, so updates are
parsed here, defensively: every field is type-checked before it is compared,
hashed or stored, and anything unexpected becomes :class:`Ignored` or raises
:class:`MalformedUpdate`, never another exception.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from coronabot.model.chat_ids import valid_chat_id


class MalformedUpdate(ValueError):
    """The body is not a Telegram Update."""


class Message(NamedTuple):
    """A message or channel post, with its text when it has one.

    ``sender_id`` is the person who sent it (``from.id``) and ``sender_chat_id`` the chat it was sent on
    behalf of (an anonymous group admin, a channel), when Telegram says so. ``content`` is True for what a
    person sent without text (a sticker, a photo, a voice message…), False for service messages
    (a pinned message, a changed auto-delete timer…), which deserve no answer.
    """

    update_id: int
    message_id: int
    chat_id: int
    chat_type: str
    text: str | None
    first_name: str | None
    sender_id: int | None = None
    sender_chat_id: int | None = None
    content: bool = True
    language_code: str | None = None  # the sender's Telegram language (a private chat's default language)


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
    """A press on one of the bot's inline buttons. ``chat_id``/``message_id`` locate the message the button
    is on (None when Telegram did not include a usable one); ``data`` is what the button carries, unchecked."""

    update_id: int
    query_id: str
    sender_id: int | None = None
    data: str | None = None
    chat_id: int | None = None
    chat_type: str | None = None
    message_id: int | None = None
    language_code: str | None = None


class InlineQuery(NamedTuple):
    """``@bot ...`` typed in any chat: ``query`` is what follows the bot's name (at most 256 characters)."""

    update_id: int
    query_id: str
    sender_id: int | None = None
    query: str = ""
    language_code: str | None = None


class Ignored(NamedTuple):
    """An update the bot does not act on; ``kind`` says what it was."""

    update_id: int
    kind: str


Update = Message | MemberChange | ChatMigration | CallbackQuery | InlineQuery | Ignored

# The update kinds the bot handles: setWebhook and getUpdates ask for these only.
ALLOWED_UPDATES = ["message", "channel_post", "my_chat_member", "callback_query", "inline_query"]
MAX_QUERY_CHARS = 256  # Telegram's own limit for an inline query's text
MAX_LANGUAGE_CODE_CHARS = 35  # an IETF language tag

_CHAT_TYPES = ("private", "group", "supergroup", "channel")

# What a person sends without text; any other message without text is a service message.
PERSON_CONTENT = ("animation", "audio", "contact", "dice", "document", "game", "giveaway", "invoice", "location",
                  "paid_media", "photo", "poll", "sticker", "story", "venue", "video", "video_note", "voice")

MAX_KIND_CHARS = 64


def _int(value: object, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise MalformedUpdate(f"{what} is not an integer")
    return value


def _optional_int(obj: dict[str, Any], key: str) -> int | None:
    value = obj.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _part(obj: dict[str, Any], key: str) -> dict[str, Any]:
    """An optional part of the update that should be an object: itself, or empty when missing or not one."""
    value = obj.get(key)
    return value if isinstance(value, dict) else {}


def _optional_str(obj: dict[str, Any], key: str) -> str | None:
    value = obj.get(key)
    return value if isinstance(value, str) else None


def _language_code(sender: dict[str, Any]) -> str | None:
    code = _optional_str(sender, "language_code")
    return code if code is not None and len(code) <= MAX_LANGUAGE_CODE_CHARS else None


def _object(value: object, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise MalformedUpdate(f"{what} is not an object")
    return value


def _chat(obj: dict[str, Any]) -> tuple[int, str]:
    chat = _object(obj.get("chat"), "chat")
    chat_type = chat.get("type")
    if not isinstance(chat_type, str) or chat_type not in _CHAT_TYPES:
        raise MalformedUpdate(f"unknown chat type {str(chat_type)[:40]!r}")
    chat_id = _int(chat.get("id"), "chat.id")
    if not valid_chat_id(chat_id, chat_type):
        raise MalformedUpdate(f"chat.id {chat_id} is not a valid {chat_type} chat id")
    return chat_id, chat_type


def _message(update_id: int, message: dict[str, Any]) -> Message | ChatMigration:
    chat_id, chat_type = _chat(message)
    if "migrate_to_chat_id" in message:
        return ChatMigration(update_id, chat_id, _int(message["migrate_to_chat_id"], "migrate_to_chat_id"))
    if "migrate_from_chat_id" in message:
        return ChatMigration(update_id, _int(message["migrate_from_chat_id"], "migrate_from_chat_id"), chat_id)
    sender = _part(message, "from")
    sender_chat = _part(message, "sender_chat")
    text = _optional_str(message, "text")
    return Message(
        update_id=update_id,
        message_id=_int(message.get("message_id"), "message_id"),
        chat_id=chat_id, chat_type=chat_type, text=text,
        first_name=_optional_str(sender, "first_name"),
        sender_id=_optional_int(sender, "id"),
        sender_chat_id=_optional_int(sender_chat, "id"),
        content=text is not None or any(key in message for key in PERSON_CONTENT),
        language_code=_language_code(sender),
    )


def _callback_query(update_id: int, query: dict[str, Any]) -> CallbackQuery:
    """A button press; a damaged message part leaves the chat unknown (the press is still answered)."""
    sender = _part(query, "from")
    chat_id = chat_type = message_id = None
    message = query.get("message")
    if isinstance(message, dict):
        try:
            chat_id, chat_type = _chat(message)
            message_id = _int(message.get("message_id"), "message_id")
        except MalformedUpdate:
            chat_id = chat_type = message_id = None
    return CallbackQuery(update_id=update_id, query_id=query["id"], sender_id=_optional_int(sender, "id"),
                         data=_optional_str(query, "data"), chat_id=chat_id, chat_type=chat_type,
                         message_id=message_id, language_code=_language_code(sender))


def _inline_query(update_id: int, query: dict[str, Any]) -> InlineQuery:
    """An inline query; an over-long or missing text reads as empty (the default results)."""
    sender = _part(query, "from")
    text = _optional_str(query, "query") or ""
    return InlineQuery(update_id=update_id, query_id=query["id"], sender_id=_optional_int(sender, "id"),
                       query=text if len(text) <= MAX_QUERY_CHARS else "", language_code=_language_code(sender))


def parse(data: object) -> Update:
    """Turn decoded Update JSON into a typed update; raises MalformedUpdate."""
    if not isinstance(data, dict):
        raise MalformedUpdate("the body is not a JSON object")
    update_id = _int(data.get("update_id"), "update_id")
    for kind in ("message", "channel_post"):
        if kind in data:
            return _message(update_id, _object(data[kind], kind))
    if "my_chat_member" in data:
        change = _object(data["my_chat_member"], "my_chat_member")
        member = _object(change.get("new_chat_member"), "my_chat_member.new_chat_member")
        chat_id, chat_type = _chat(change)
        status = member.get("status")
        if not isinstance(status, str) or len(status) > MAX_KIND_CHARS:
            raise MalformedUpdate("new_chat_member.status is missing")
        return MemberChange(update_id=update_id, chat_id=chat_id, chat_type=chat_type, status=status)
    if "callback_query" in data:
        query = _object(data["callback_query"], "callback_query")
        if not isinstance(query.get("id"), str) or not 0 < len(query["id"]) <= MAX_KIND_CHARS:
            raise MalformedUpdate("callback_query.id is missing")
        return _callback_query(update_id, query)
    if "inline_query" in data:
        query = _object(data["inline_query"], "inline_query")
        if not isinstance(query.get("id"), str) or not 0 < len(query["id"]) <= MAX_KIND_CHARS:
            raise MalformedUpdate("inline_query.id is missing")
        return _inline_query(update_id, query)
    kinds = [k for k in data if k != "update_id"]
    return Ignored(update_id=update_id, kind=kinds[0][:MAX_KIND_CHARS] if kinds else "empty")
