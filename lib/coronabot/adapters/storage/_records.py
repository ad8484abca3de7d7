"""What Realtime Database answers, read alike whichever shape it came in, and the key order it keeps (pure)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from . import layout

_INTEGER_KEY = re.compile(r"-?[0-9]+")


def child_keys(value: object) -> list[str]:
    """The keys of a collection as read from the database: an object's keys, or the indexes of an array's
    non-null entries (what Realtime Database answers when every key is a small integer such as 0, 1, 2)."""
    if isinstance(value, dict):
        return list(value)
    if isinstance(value, list):
        return [str(index) for index, child in enumerate(value) if child is not None]
    return []


def key_order(key: str) -> tuple[Any, ...]:
    """Where Realtime Database puts a key when it orders by key: keys that read as a 32-bit integer first,
    by value, then the others as strings. firebase-admin re-sorts a query's answer as plain strings
    ("10" before "2"), so the last key of a page is found with this order, not the answer's."""
    if _INTEGER_KEY.fullmatch(key) and -(2**31) <= int(key) < 2**31:
        return 0, int(key), len(key), ""
    return 1, 0, 0, key


def key_span(keys: Iterable[str]) -> tuple[str, str]:
    """The first and the last of some keys in the database's key order (the bounds of a page's range)."""
    ordered = sorted(keys, key=key_order)
    return ordered[0], ordered[-1]


def child_items(value: object) -> dict[str, Any]:
    """A collection as read from the database, as {key: child}, whichever shape it came in (see child_keys)."""
    if isinstance(value, dict):
        return value
    if isinstance(value, list):
        return {str(index): child for index, child in enumerate(value) if child is not None}
    return {}


def moved_subscription(old_chat_id: str, new_chat_id: str, record: dict[str, Any], lang: object = None) -> dict[str,
                       Any]:
    """The multi-path changes that move a subscription, and the language ``lang`` its group chose, to the
    supergroup the group became."""
    changes: dict[str, Any] = {layout.subscriber(old_chat_id): None,
               layout.subscriber(new_chat_id): dict(record, chat_type="supergroup", migrated_from=old_chat_id)}
    if isinstance(lang, str):
        changes.update({layout.language(old_chat_id): None, layout.language(new_chat_id): lang})
    return changes
