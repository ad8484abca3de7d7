"""The bot's state in Firebase Realtime Database: the one module that knows where records live.

``Database`` reads and writes through firebase-admin or, in the webhook, a small REST client; ``layout``
spells every path; ``Lease`` claims, renews and releases the right to do one piece of work.
"""

from __future__ import annotations

from coronabot.errors import AlreadyDone, Busy, DatabaseError

from . import layout
from ._database import APP_NAME, Database, Lease, light_client_available, load_admin_sdk, new_owner_id
from ._history import history_changes
from ._migrations import LANGUAGES as LANGUAGES_MIGRATION
from ._records import child_items, child_keys, key_order, key_span, moved_subscription
from ._state import BroadcastPointer, Latest, TickState

__all__ = [
    "APP_NAME",
    "LANGUAGES_MIGRATION",
    "AlreadyDone",
    "BroadcastPointer",
    "Busy",
    "Database",
    "DatabaseError",
    "Latest",
    "Lease",
    "TickState",
    "child_items",
    "child_keys",
    "history_changes",
    "key_order",
    "key_span",
    "layout",
    "light_client_available",
    "load_admin_sdk",
    "moved_subscription",
    "new_owner_id",
]
