"""Who may act for a chat: the group-administrator rule, its cache and its gate (valid chat ids: ``chat_ids``)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from coronabot import log, texts
from coronabot.adapters.botapi import TelegramError
from coronabot.chat.updates import Message
from coronabot.model.language import DEFAULT

logger = log.get("coronabot.bot")

ADMIN_STATUSES = ("creator", "administrator")
ADMIN_CACHE_SECONDS = 60.0
ADMIN_CACHE_ENTRIES = 10_000


def needs_admin(chat_type: str) -> bool:
    """Only administrators may change what a group receives; a private chat is its own admin, and only
    a channel's administrators can post in it."""
    return chat_type in ("group", "supergroup")


class AdminCache:
    """Remembers for a short while whether a user administers a chat, so a burst of commands in a group
    is not a burst of ``getChatMember`` calls. ``lookup(chat_id, user_id)`` returns the member's status."""

    def __init__(self, lookup: Callable[[int, int], str], ttl: float = ADMIN_CACHE_SECONDS,
                 clock: Callable[[], float] = time.monotonic):
        self._lookup = lookup
        self._ttl = ttl
        self._clock = clock
        self._entries: dict[tuple[int, int], tuple[float, bool]] = {}
        self._lock = threading.Lock()

    def is_admin(self, chat_id: int, user_id: int) -> bool:
        """True for the chat's creator and administrators; raises what ``lookup`` raises."""
        key, now = (chat_id, user_id), self._clock()
        with self._lock:
            cached = self._entries.get(key)
        if cached is not None and cached[0] > now:
            return cached[1]
        admin = self._lookup(chat_id, user_id) in ADMIN_STATUSES
        with self._lock:
            if len(self._entries) >= ADMIN_CACHE_ENTRIES:
                self._entries = {k: v for k, v in self._entries.items() if v[0] > now}
                if len(self._entries) >= ADMIN_CACHE_ENTRIES:
                    self._entries.clear()
            self._entries[key] = (now + self._ttl, admin)
        return admin


class AdminGate:
    """Who may change what a group (or a channel's buttons) receives: its administrators, asked through the
    short-lived cache; without a token nobody can be checked."""

    def __init__(self, cache: AdminCache | None):
        self._cache = cache

    def refusal(self, chat_id: int, sender_id: int | None, update_id: int, refusal: str,
                lang: str = DEFAULT) -> str | None:
        """``refusal`` unless the sender administers the chat; TRY_AGAIN_LATER (in ``lang``) when that cannot
        be checked; None to go on."""
        fields = {"update_id": update_id, "chat_id": chat_id}
        if sender_id is None:
            return refusal
        if self._cache is None:
            logger.error("TELEGRAM_TOKEN is not set: group administrators cannot be checked", extra={"fields": fields})
            return texts.of(lang).TRY_AGAIN_LATER
        try:
            admin = self._cache.is_admin(chat_id, sender_id)
        except TelegramError as exc:
            logger.error("getChatMember failed; the chat's subscription is left as it is: %s", exc,
                         extra={"fields": fields})
            return texts.of(lang).TRY_AGAIN_LATER
        if not admin:
            logger.info("change refused: not an administrator", extra={"fields": fields})
            return refusal
        return None

    def subscription_refusal(self, message: Message, lang: str = DEFAULT, refusal: str | None = None) -> str | None:
        """In groups only administrators change the subscription or the language (an anonymous admin writes
        as the chat itself); the answer for anyone else (``refusal``, else the subscription's), or None."""
        if not needs_admin(message.chat_type) or message.sender_chat_id == message.chat_id:
            return None
        return self.refusal(message.chat_id, message.sender_id, message.update_id,
                            refusal or texts.of(lang).ADMINS_ONLY, lang)
