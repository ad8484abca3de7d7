"""What a Telegram chat id can be: read by the updates' parser and by storage, which both refuse others."""

from __future__ import annotations

# Telegram ids have at most 52 significant bits; users are positive, groups, supergroups and channels negative.
MAX_ABS_CHAT_ID = 2**53


def valid_chat_id(chat_id: object, chat_type: str | None = None) -> bool:
    """Whether ``chat_id`` can be a Telegram chat of ``chat_type`` (any type when None): never 0, never a bool."""
    if isinstance(chat_id, bool) or not isinstance(chat_id, int) or not 0 < abs(chat_id) < MAX_ABS_CHAT_ID:
        return False
    if chat_type == "private":
        return chat_id > 0
    if chat_type in ("group", "supergroup", "channel"):
        return chat_id < 0
    return True
