"""Database access (coronabot.adapters.storage) against the local Realtime Database, through firebase-admin."""

from __future__ import annotations

import itertools
import time

import pytest

from coronabot.adapters.storage import AlreadyDone, Busy, key_order, key_span
from support import GROUP_CHAT, PRIVATE_CHAT


def test_subscribe_is_idempotent_per_update(db):
    assert db.subscribe(PRIVATE_CHAT, "private", 11, "2026-09-30T09:00:00+09:00") is True
    assert db.subscribe(PRIVATE_CHAT, "private", 11, "2026-09-30T09:00:01+09:00") is True, "a redelivery"
    assert db.subscribe(PRIVATE_CHAT, "private", 12, "2026-09-30T09:00:02+09:00") is False, "a second /subscribe"
    assert db.subscribe(GROUP_CHAT, "supergroup", 13, "2026-09-30T09:00:03+09:00") is True
    assert sorted(db.subscriber_ids()) == sorted([str(PRIVATE_CHAT), str(GROUP_CHAT)])
    assert db.unsubscribe(PRIVATE_CHAT) is True and db.unsubscribe(PRIVATE_CHAT) is False
    assert db.subscriber_ids() == [str(GROUP_CHAT)]


def test_unsubscribe_is_idempotent_per_update(db):
    db.subscribe(PRIVATE_CHAT, "private", 21, "2026-09-30T09:00:00+09:00")
    assert db.unsubscribe(PRIVATE_CHAT, 22) is True
    assert db.unsubscribe(PRIVATE_CHAT, 22) is True, "a redelivery"
    assert db.unsubscribe(PRIVATE_CHAT, 23) is False, "a second /unsubscribe"
    assert db.subscriber_ids() == []
    db.subscribe(PRIVATE_CHAT, "private", 24, "2026-09-30T09:00:03+09:00")
    assert db.subscriber_ids() == [str(PRIVATE_CHAT)], "subscribing again after unsubscribing works"


def test_claim_update_once(db):
    assert db.claim_update(700000001) is True
    assert db.claim_update(700000001) is False


def test_broadcast_lease(db):
    meta = {"kind": "alert", "announcement": "2026-W39", "text": "t"}
    taken = db.claim("broadcasts/k", "owner-a", 60, meta)
    assert taken["lease"]["owner"] == "owner-a" and taken["attempts"] == 1
    with pytest.raises(Busy):
        db.claim("broadcasts/k", "owner-b", 60, meta)
    db.update({"broadcasts/k/lease/expires": time.time() - 1})
    assert db.claim("broadcasts/k", "owner-b", 60, meta)["attempts"] == 2, "an expired lease is taken over"
    assert db.lease_owner("broadcasts/k/lease") == "owner-b"
    db.update({"broadcasts/k/done": True})
    with pytest.raises(AlreadyDone):
        db.claim("broadcasts/k", "owner-c", 60, meta)


def test_ledger_and_multi_path_updates(db):
    db.update({f"deliveries/k/{PRIVATE_CHAT}": "sent", f"deliveries/k/{GROUP_CHAT}": "removed",
               "state/last_tick": {"status": "alerted"}})
    both = {str(PRIVATE_CHAT), str(GROUP_CHAT)}
    assert set(db.key_range("deliveries/k", *key_span(both))) == both
    assert db.key_range("deliveries/k", str(GROUP_CHAT), str(PRIVATE_CHAT)) == {}, \
        "a 32-bit key (a user) sorts before a longer one (a group): that range is empty"
    assert db.state() == {"last_tick": {"status": "alerted"}}
    assert db.latest() is None


@pytest.mark.parametrize("size", [1, 2, 7, 500])
def test_pages_read_every_child_once_in_key_order_across_page_boundaries(db, size):
    chats = [str(c) for c in (0, 1, 2, 3, 10, 1544010213, 5_000_000_000, -1001234567890, -1009999999999)]
    db.update({f"subscribers/{chat}": {"since": "x"} for chat in chats})
    pages = list(db.pages("subscribers", size))
    seen = [chat for page in pages for chat in page]
    assert sorted(seen) == sorted(chats) and len(seen) == len(chats), "every chat once"
    assert all(len(page) <= size for page in pages)
    spans = [key_span(page) for page in pages]
    assert all(key_order(a[1]) < key_order(b[0]) for a, b in itertools.pairwise(spans)), \
        "pages follow the server's key order (small integers first), whatever order the client sorts them in"
    assert key_span(chats) == ("0", "5000000000")


def test_a_reader_sees_chats_added_ahead_of_it_and_not_those_removed_before_their_page(db):
    db.update({f"subscribers/{5_000_000_000 + i}": {"since": "x"} for i in range(10)})
    reader = db.pages("subscribers", 3)
    first = next(reader)
    db.update({f"subscribers/{5_000_000_009}": None, f"subscribers/{5_000_000_100}": {"since": "x"},
               f"subscribers/{4_000_000_000}": {"since": "x"}})
    rest = [chat for page in reader for chat in page]
    assert list(first) == [str(5_000_000_000 + i) for i in range(3)]
    assert rest == [str(5_000_000_000 + i) for i in range(3, 9)] + [str(5_000_000_100)]
