"""Database access (coronabot.storage) against the local Realtime Database, through firebase-admin."""

from __future__ import annotations

import time

import pytest

from conftest import DATABASE_URL, GROUP_CHAT, PRIVATE_CHAT
from coronabot.config import Settings
from coronabot.storage import AlreadyDone, Busy, Database


@pytest.fixture
def db(database_server, monkeypatch):
    database_server.reset()
    host = database_server.base.removeprefix("http://")
    monkeypatch.setenv("FIREBASE_DATABASE_EMULATOR_HOST", host)
    return Database(Settings(database_url=DATABASE_URL, emulator_host=host))


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
    taken = db.claim_broadcast("k", "owner-a", 60, meta)
    assert taken["lease"]["owner"] == "owner-a" and taken["attempts"] == 1
    with pytest.raises(Busy):
        db.claim_broadcast("k", "owner-b", 60, meta)
    db.update({"broadcasts/k/lease/expires": time.time() - 1})
    assert db.claim_broadcast("k", "owner-b", 60, meta)["attempts"] == 2, "an expired lease is taken over"
    assert db.lease_owner("k") == "owner-b"
    db.update({"broadcasts/k/done": True})
    with pytest.raises(AlreadyDone):
        db.claim_broadcast("k", "owner-c", 60, meta)


def test_ledger_and_multi_path_updates(db):
    db.update({f"deliveries/k/{PRIVATE_CHAT}": "sent", f"deliveries/k/{GROUP_CHAT}": "removed",
               "state/last_tick": {"status": "alerted"}})
    assert db.ledger("k") == {str(PRIVATE_CHAT), str(GROUP_CHAT)}
    assert db.state() == {"last_tick": {"status": "alerted"}}
    assert db.latest() is None
