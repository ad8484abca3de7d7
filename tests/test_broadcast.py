"""coronabot.broadcast against the fake Telegram server and the local database (in-process sender)."""

from __future__ import annotations

import pytest

from conftest import DATABASE_URL, GROUP_CHAT, PRIVATE_CHAT
from coronabot.broadcast import send_all, worker_count
from coronabot.config import Settings
from coronabot.storage import Database, new_owner_id
from coronabot.telegram import Telegram


@pytest.fixture
def clients(database_server, telegram_server, servers, monkeypatch, token):
    host = database_server.base.removeprefix("http://")
    monkeypatch.setenv("FIREBASE_DATABASE_EMULATOR_HOST", host)
    db = Database(Settings(database_url=DATABASE_URL, emulator_host=host))
    return db, Telegram(token, telegram_server.url)


def run(db, telegram, text, recipients, **options):
    owner = new_owner_id()
    db.claim_broadcast("k", owner, 60, {"kind": "alert"})
    return send_all(db, telegram, "k", text, recipients, owner=owner, rate=200, batch=50, lease_seconds=60,
                    finish={"broadcasts/k/done": True, "broadcasts/k/lease": None}, **options)


def test_a_text_telegram_refuses_stops_the_run_and_loses_nobody(clients, servers):
    db, telegram = clients
    _, fake, _ = servers
    db.update({f"subscribers/{c}": {"since": "x"} for c in (PRIVATE_CHAT, GROUP_CHAT)})
    result = run(db, telegram, "가" * 5000, [str(PRIVATE_CHAT), str(GROUP_CHAT)])
    assert result.sent == 0 and result.failed == 0 and result.removed == 0
    assert result.pending == 2 and not result.complete
    assert db.get("deliveries") is None and db.get("broadcasts/k/done") is None
    assert db.get("broadcasts/k/lease") is None, "the lease is released so the next tick can retry at once"
    assert len(db.subscriber_ids()) == 2
    assert len(fake.calls("sendMessage")) <= worker_count(200), "it stopped instead of trying everyone"


def test_a_complete_run_writes_its_ledger_and_finishes(clients, servers):
    db, telegram = clients
    _, fake, _ = servers
    chats = [str(5_000_000_000 + 7_919 * i) for i in range(120)]
    result = run(db, telegram, "<b>알림</b>", chats)
    assert (result.sent, result.pending, result.complete) == (120, 0, True)
    assert set(db.get("deliveries/k").values()) == {"sent"} and len(db.get("deliveries/k")) == 120
    assert db.get("broadcasts/k/done") is True
    assert sorted(str(m["params"]["chat_id"]) for m in fake.calls("sendMessage")) == sorted(chats)
