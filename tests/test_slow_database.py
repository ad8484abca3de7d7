"""A database 80 ms away (lib/coronabot_dev/latency_proxy.py in front of the local database), through the real scrape
function: the senders never wait for it, they keep sending while a ledger write is on its way, and a
broadcast still reaches everyone once. Counts, not times."""

from __future__ import annotations

import sys

import pytest

from coronabot_dev.harness import Process, free_port, http
from support import MIGRATED, alerts_by_chat, many_chats, subscribe, tick


@pytest.fixture
def slow_database(database_server, logs_dir):
    port = free_port()
    proxy = Process([sys.executable, "-m", "coronabot_dev.latency_proxy", "--port", str(port), "--upstream",
                     database_server.base, "--latency-ms", "80"], port, logs_dir / "latency-proxy.log")
    yield proxy
    proxy.stop()


def in_flight(calls: list[dict], writes: list[dict]) -> int:
    """How many Telegram calls were answered while a ledger write was on its way to the database."""
    return sum(1 for call in calls if any(w["start"] < call["time"] < w["end"] for w in writes))


@pytest.mark.parametrize("batch", ["50", "1"])
def test_the_senders_never_wait_for_a_slow_database(servers, extra_scrape, slow_database, batch):
    db, telegram, _ = servers
    chats = many_chats(300)
    subscribe(db, chats)
    db.put("state/migrations", MIGRATED)  # only the broadcast's writes are counted
    http("DELETE", f"{slow_database.url}/__proxy/requests")
    function = extra_scrape(FIREBASE_DATABASE_EMULATOR_HOST=slow_database.url.removeprefix("http://"),
                            BROADCAST_RATE="100", LEDGER_BATCH=batch)
    status, summary = tick(function)
    assert status == 200 and summary["sent"] == 300 and summary["pending"] == 0
    assert set(alerts_by_chat(telegram).values()) == {1} and len(alerts_by_chat(telegram)) == 300
    writes = [r for r in http("GET", f"{slow_database.url}/__proxy/requests")[1]
              if r["method"] == "PATCH" and r["path"] == "/.json"]
    sends = [c for c in telegram.calls("sendMessage") if c.get("status") == 200]
    if batch == "50":
        assert summary["database_waits"] == 0, "a sender hands its outcome over and goes on"
        assert len(writes) <= 300 / 50 + 3, "full batches, one write at a time"
        # While the ledger was being written, messages went out at (nearly) the configured 100 a second.
        first, last = min(c["time"] for c in sends), max(c["time"] for c in sends)
        during = [w for w in writes if first < w["start"] and w["end"] < last]
        expected = 100 * sum(w["end"] - w["start"] for w in during)
        assert in_flight(sends, writes) >= 0.6 * expected > 10, (in_flight(sends, writes), expected)
    else:
        # LEDGER_BATCH=1 trades speed for the narrowest resume: each sender waits for its outcome's write.
        assert summary["database_waits"] == 300


def test_writes_grow_when_the_database_is_slower_than_the_senders(servers, extra_scrape, slow_database):
    """At 80 ms a write, one write at a time can carry 50 outcomes only 12.5 times a second: at 1,000
    messages a second the writes carry what waits instead, so nothing piles up unwritten."""
    db, telegram, _ = servers
    chats = many_chats(2000)
    subscribe(db, chats)
    http("DELETE", f"{slow_database.url}/__proxy/requests")
    function = extra_scrape(FIREBASE_DATABASE_EMULATOR_HOST=slow_database.url.removeprefix("http://"),
                            BROADCAST_RATE="1000")
    status, summary = tick(function)
    assert status == 200 and summary["sent"] == 2000 and summary["database_waits"] == 0
    assert len(alerts_by_chat(telegram)) == 2000 and set(alerts_by_chat(telegram).values()) == {1}
    writes = [r for r in http("GET", f"{slow_database.url}/__proxy/requests")[1]
              if r["method"] == "PATCH" and r["path"] == "/.json"]
    assert len(writes) < 2000 / 50, f"{len(writes)} writes: more than 50 outcomes each when the senders were ahead"
