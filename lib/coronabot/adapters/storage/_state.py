"""The scraper's state (``/state``) as a tick reads it: one read, typed, damaged sections read as empty."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    from coronabot.model.source import Pending


def _section(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


class Latest(NamedTuple):
    """``state/latest``, the last recorded announcement, whatever version wrote it: the record as stored
    (what a correction is compared with and a new record written over) and the fields a tick asks of it."""

    record: dict[str, Any]

    @property
    def id(self) -> str | None:
        return _text(self.record.get("id"))

    @property
    def source(self) -> str | None:
        return _text(self.record.get("source"))

    @property
    def order(self) -> object:
        """As stored (an order that does not read is no recorded announcement: ``order_key`` says None)."""
        return self.record.get("order")

    @property
    def first_seen(self) -> str | None:
        return _text(self.record.get("first_seen"))

    @property
    def pending(self) -> Pending | None:
        """The later period the source lists without a figure yet, kept beside it."""
        from coronabot.model.source import Pending  # loaded by a tick, not by the webhook's first import

        return Pending.from_record(self.record.get("pending"))


class BroadcastPointer(NamedTuple):
    """``state/broadcast``: the broadcast a tick left unfinished, which the next one resumes."""

    key: str
    kind: str | None
    announcement: str | None

    @classmethod
    def of(cls, value: object) -> BroadcastPointer | None:
        """The pointer a record holds; None for none, or one without a key."""
        record = _section(value)
        key = _text(record.get("key"))
        return cls(key, _text(record.get("kind")), _text(record.get("announcement"))) if key else None

    def as_record(self) -> dict[str, Any]:
        return {"key": self.key, "kind": self.kind, "announcement": self.announcement}


class TickState(NamedTuple):
    """What a tick knows of ``/state`` for its source."""

    latest: Latest  # the last recorded announcement (an empty record before the first)
    broadcast: BroadcastPointer | None  # an unfinished broadcast
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
        return cls(
            latest=Latest(_section(state.get("latest"))),
            broadcast=BroadcastPointer.of(state.get("broadcast")),
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
