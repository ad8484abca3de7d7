"""The scraper's state (``/state``) as a tick reads it: one read, typed, damaged sections read as empty."""

from __future__ import annotations

from typing import Any, NamedTuple


def _section(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


class TickState(NamedTuple):
    """What a tick knows of ``/state`` for its source."""

    latest: dict[str, Any]  # the last recorded announcement ({} before the first)
    broadcast: dict[str, Any] | None  # the pointer to an unfinished broadcast ({key, kind, announcement})
    held: bool  # alerts wait for the morning
    seen: object  # when each recent announcement was first seen (publication.py reads it)
    health: dict[str, Any]  # {streak, failing, since, error} while the source fails
    backfill: dict[str, Any]  # {at, weeks, periods} once history was filled, {failed_at, error} after a failure
    source_cache: dict[str, Any]  # what the source keeps between ticks (cookies, validators)
    history_digest: str | None  # the fingerprint of the earlier periods last stored
    late_notice: object  # the open notice that the expected announcement is late
    last_fetch_at: object
    pruned_at: float
    migrations: dict[str, Any]  # name -> {after: the last key done} while it runs, {done_at} once done

    @classmethod
    def of(cls, state: object, source: str) -> TickState:
        state = _section(state)
        pointer = state.get("broadcast")
        return cls(
            latest=_section(state.get("latest")),
            broadcast=pointer if isinstance(pointer, dict) and pointer.get("key") else None,
            held=bool(state.get("held")),
            seen=_section(state.get("seen")).get(source),
            health=_section(state.get("health")),
            backfill=_section(_section(state.get("backfill")).get(source)),
            source_cache=_section(_section(state.get("source_cache")).get(source)),
            history_digest=_section(state.get("history_digest")).get(source),
            late_notice=_section(state.get("late_notice")).get(source),
            last_fetch_at=state.get("last_fetch_at"),
            pruned_at=float(state.get("pruned_at") or 0) if isinstance(state.get("pruned_at"), (int, float)) else 0.0,
            migrations=_section(state.get("migrations")),
        )
