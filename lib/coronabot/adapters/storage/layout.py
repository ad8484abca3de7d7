"""Where each record lives in the Realtime Database: the one place that spells a path.

Every other module asks here (``layout.broadcast(key, "done")``) instead of writing ``"broadcasts/..."``, so
the layout can be read, and changed, in one file. The records themselves are described in
docs/architecture.md ("Realtime Database layout").
"""

from __future__ import annotations

SUBSCRIBERS = "subscribers"
HELD = "held"
STATE = "state"
BROADCASTS = "broadcasts"
LANGUAGES = "languages"
POLLING_OFFSET = "polling/offset"


def _join(*parts: object) -> str:
    return "/".join(str(part) for part in parts if part is not None and part != "")


def subscriber(chat_id: object, *fields: str) -> str:
    """``subscribers/{chat_id}``: since, chat_type, update_id, prefs."""
    return _join(SUBSCRIBERS, chat_id, *fields)


def state(section: str, *rest: object) -> str:
    """``state/{section}``: latest, broadcast, held, seen/{source}, health, backfill/{source},
    source_cache/{source}, history_digest/{source}, late_notice/{source}, last_tick, last_fetch_at, pruned_at,
    migrations/{name}."""
    return _join(STATE, section, *rest)


def history(source: str, period: str | None = None, *fields: str) -> str:
    """``history/{source}/{period id}``: one announcement's record, as ``state/latest``."""
    return _join("history", source, period, *fields)


def broadcast(key: str, *fields: str) -> str:
    """``broadcasts/{key}``: kind, announcement, text, the chosen figures, lease, attempts, photo, done."""
    return _join(BROADCASTS, key, *fields)


def deliveries(key: str, chat_id: object = None) -> str:
    """``deliveries/{key}/{chat_id}``: the ledger (sent, removed, failed:CODE, skipped:CONDITION, held)."""
    return _join("deliveries", key, chat_id)


def held(chat_id: object = None, key: str | None = None) -> str:
    """``held/{chat_id}/{broadcast key}``: an alert held for the morning."""
    return _join(HELD, chat_id, key)


def chart(source: str, lang: str = "ko") -> str:
    """``charts/{source}`` (Korean) and ``charts_{lang}/{source}``: the newest chart drawn in that language,
    its file_id, announcement, period and wording."""
    return _join("charts" if lang == "ko" else f"charts_{lang}", source)


def pending() -> str:
    """``state/latest/pending``: ``{id, counting}`` of a later period the source lists without a figure yet,
    beside the latest announcement (replaced with it), so /now reads both at once."""
    return state("latest", "pending")


def shared_chart(lang: str) -> str:
    """``state/latest/charts/{lang}``: the chart uploaded for the latest announcement, beside it, so inline
    mode finds both in one read (replaced with the announcement, as a new one has no chart yet)."""
    return state("latest", "charts", lang)


def language(chat_id: object = None) -> str:
    """``languages/{chat_id}``: the language a chat chose, or was given when it subscribed ("ko", "en")."""
    return _join(LANGUAGES, chat_id)


def fanout(key: str, *parts: object) -> str:
    """``fanout/{key}/...``: a fanned-out broadcast's chunks, their leases and done marks, planned, finished."""
    return _join("fanout", key, *parts)


def unsubscribed(chat_id: object, *fields: str) -> str:
    """``unsubscribed/{chat_id}``: the update that unsubscribed a chat, so a redelivery does not resubscribe it."""
    return _join("unsubscribed", chat_id, *fields)


def handled_update(update_id: int) -> str:
    """``handled_updates/{update_id}``: an update the local runner handled (never handled twice)."""
    return _join("handled_updates", update_id)
