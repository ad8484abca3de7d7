"""Who may act for a chat: the group-administrator rule with its cache (valid chat ids: ``chat_ids``)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

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
