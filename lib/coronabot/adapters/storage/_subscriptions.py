"""The subscriptions: who gets alerts, with their choices (``/subscribers/{chat_id}``), and the language each
chat reads (``/languages/{chat_id}``: a chat that never chose has none, see language.py)."""

from __future__ import annotations

import time
from typing import Any

from coronabot.errors import DatabaseError
from coronabot.model.chat_ids import valid_chat_id
from coronabot.model.language import valid

from . import layout
from ._records import child_keys, moved_subscription


class Subscriptions:
    """The part of ``Database`` that changes a chat's subscription; one read and one conditional write each."""

    ref: Any  # Database.ref
    together: Any  # Database.together
    update: Any  # Database.update
    key_range: Any  # Database.key_range

    def subscribe(self, chat_id: int, chat_type: str, update_id: int, since: str, lang: str | None = None) -> bool:
        """Add the chat; True when this update subscribed it (also on redelivery), False if it already was.
        A new subscription stores ``lang``, the language the chat reads now, unless it has one, so its alerts
        come in it. One read of each and both conditional writes at once (the reads are the ones an update
        made ahead: ``Database.reads``). A chat id that cannot be Telegram's is refused with ValueError
        before anything is written."""
        if not valid_chat_id(chat_id, chat_type):
            raise ValueError(f"{chat_id!r} is not a valid {chat_type} chat id")
        ref = self.ref(layout.subscriber(chat_id))
        current, etag = ref.get(etag=True)
        if isinstance(current, dict):
            return current.get("update_id") == update_id
        record = {"since": since, "chat_type": chat_type, "update_id": update_id}
        writes = [lambda: ref.set_if_unchanged(etag, record)]
        if lang is not None:
            language_ref = self.ref(layout.language(chat_id))
            stored, language_etag = language_ref.get(etag=True)
            if valid(stored) is None:
                writes.append(lambda: language_ref.set_if_unchanged(language_etag, lang))
        written, current, _ = self.together(*writes)[0]
        return written or (isinstance(current, dict) and current.get("update_id") == update_id)

    def unsubscribe(self, chat_id: int, update_id: int | None = None) -> bool:
        """Remove the chat; True if it was subscribed, or if this update removed it (a redelivery).

        With an ``update_id`` the removal leaves a mark (pruned after two days, as Telegram redelivers
        for at most one), so a redelivered ``/unsubscribe`` gets the same answer as the first delivery.
        """
        if self.subscribed(chat_id):
            changes: dict[str, Any] = {layout.subscriber(chat_id): None}
            if update_id is not None:
                changes[layout.unsubscribed(chat_id)] = {"update_id": update_id, "at": time.time()}
            self.update(changes)
            return True
        if update_id is None:
            return False
        return self.unsubscribed_by(chat_id) == update_id

    def subscribed(self, chat_id: int) -> bool:
        """Whether the chat is subscribed (one shallow read)."""
        return self.ref(layout.subscriber(chat_id)).get(shallow=True) is not None

    def unsubscribed_by(self, chat_id: int) -> object:
        """The update that last unsubscribed the chat (kept two days), or None."""
        return self.ref(layout.unsubscribed(chat_id, "update_id")).get()

    def move_subscriber(self, old_chat_id: int, new_chat_id: int) -> bool:
        """Move the subscription of a group that became a supergroup; False if there was none to move."""
        record = self.ref(layout.subscriber(old_chat_id)).get()
        if not isinstance(record, dict):
            return False
        lang = self.ref(layout.language(old_chat_id)).get()
        self.update(moved_subscription(str(old_chat_id), str(new_chat_id), record, lang))
        return True

    def subscriber_ids(self) -> list[str]:
        """Every subscribed chat id (one shallow read)."""
        return child_keys(self.ref(layout.SUBSCRIBERS).get(shallow=True))

    def subscription(self, chat_id: int) -> dict[str, Any] | None:
        """The chat's subscription record, or None when it is not subscribed (read with its ETag, so the
        same read, made ahead, serves a conditional write too)."""
        value = self.ref(layout.subscriber(chat_id)).get(etag=True)[0]
        return value if isinstance(value, dict) else None

    def set_preference(self, chat_id: int, field: str, value: str) -> tuple[dict[str, Any] | None, bool]:
        """Set one of the chat's choices: (its record after, whether this call changed it), or (None, False)
        when the chat is not subscribed (a choice never creates a subscription). One read and, when the
        value differs, one conditional write (again only if the record changed in between)."""
        ref = self.ref(layout.subscriber(chat_id))
        current, etag = ref.get(etag=True)
        for _ in range(5):
            if not isinstance(current, dict):
                return None, False
            prefs = current["prefs"] if isinstance(current.get("prefs"), dict) else {}
            if prefs.get(field) == value:
                return current, False
            updated = dict(current, prefs=dict(prefs, **{field: value}))
            written, current, etag = ref.set_if_unchanged(etag, updated)
            if written:
                return updated, True
        raise DatabaseError("the subscription kept changing while a choice was saved")

    # languages ---------------------------------------------------------------
    def language(self, chat_id: int | str) -> str | None:
        """The language the chat chose (or subscribed in), or None when it never chose (one read, with its
        ETag, so the same read serves a conditional write too)."""
        return valid(self.ref(layout.language(chat_id)).get(etag=True)[0])

    def set_language(self, chat_id: int | str, lang: str) -> None:
        """Store the chat's choice (one write)."""
        self.update({layout.language(chat_id): lang})

    def languages(self, first: str, last: str) -> dict[str, str]:
        """The languages chosen by the chats whose ids lie from ``first`` to ``last`` (one key-ordered query:
        a page of a broadcast reads its chats' languages at once)."""
        return {chat: value for chat, value in self.key_range(layout.LANGUAGES, first, last).items()
                if valid(value) is not None}

