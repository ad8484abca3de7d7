"""The scraper's state as a tick reads it (coronabot.adapters.storage.TickState), typed, damaged sections read as
empty: the latest announcement and the pointer to an unfinished broadcast."""

from __future__ import annotations

from coronabot.adapters.storage import BroadcastPointer, TickState
from coronabot.model.source import Pending


def test_the_state_is_read_typed_and_a_damaged_section_reads_as_empty():
    state = TickState.of({"latest": {"source": "kdca-sentinel", "id": "2026-W39", "order": "2026-W39",
                                     "first_seen": "2026-09-30T14:05:00+09:00",
                                     "pending": {"id": "2026-W40", "counting": True}},
                          "broadcast": {"key": "kdca-sentinel_2026-W39", "kind": "alert",
                                        "announcement": "2026-W39"},
                          "held": 1, "pruned_at": "yesterday"}, "kdca-sentinel")
    assert (state.latest.id, state.latest.source, state.latest.order) == ("2026-W39", "kdca-sentinel", "2026-W39")
    assert state.latest.first_seen == "2026-09-30T14:05:00+09:00"
    assert state.latest.pending == Pending("2026-W40", True)
    assert state.broadcast == BroadcastPointer("kdca-sentinel_2026-W39", "alert", "2026-W39")
    assert state.broadcast.as_record() == {"key": "kdca-sentinel_2026-W39", "kind": "alert",
                                           "announcement": "2026-W39"}
    assert state.held is True and state.pruned_at == 0.0
    empty = TickState.of({"latest": "damaged", "broadcast": {"kind": "alert"}}, "kdca-sentinel")
    assert empty.latest.record == {} and empty.latest.id is None and empty.latest.pending is None
    assert empty.broadcast is None, "a pointer without a key is none"
    assert TickState.of(None, "kdca-sentinel").broadcast is None
