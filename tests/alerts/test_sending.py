"""coronabot.alerts.sending against the fake Telegram server and the local database (in-process sender)."""

from __future__ import annotations

import json

import pytest

from coronabot.adapters.storage import Database, Lease
from coronabot.adapters.telegram import Telegram
from coronabot.alerts.sending import Broadcast, BroadcastOptions, Letter, one_page, worker_count
from coronabot.config import Settings
from support import DATABASE_URL, FIXTURES, GROUP_CHAT, PRIVATE_CHAT


@pytest.fixture
def clients(database_server, telegram_server, servers, monkeypatch, token):
    host = database_server.base.removeprefix("http://")
    monkeypatch.setenv("FIREBASE_DATABASE_EMULATOR_HOST", host)
    db = Database(Settings(database_url=DATABASE_URL, emulator_host=host))
    return db, Telegram(token, telegram_server.url)


def letters(text: str, chats: list[str]) -> list:
    """The same letter for every chat, as one page."""
    return one_page(dict.fromkeys(chats, Letter(text)))


def send(db, telegram, recipients, text="알림", rate=200, lease_seconds=60, **options):
    """Claim the broadcast "k" and run it through to the end."""
    lease = Lease("broadcasts/k", lease_seconds)
    lease.claim(db, {"kind": "alert"})
    return Broadcast(db, telegram, "k", letters(text, recipients), lease,
                     BroadcastOptions(rate=rate, batch=50, **options),
                     finish={"broadcasts/k/done": True, **lease.release()}).run()


def run(db, telegram, text, recipients, **options):
    return send(db, telegram, recipients, text, **options)


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


def test_ledger_writes_carry_full_batches_whatever_the_concurrency(clients, servers):
    """64 senders at 1,000 msg/s: one write per 50 outcomes, and no lease read before every write."""
    db, telegram = clients
    database, fake, _ = servers
    chats = [str(5_000_000_000 + 7_919 * i) for i in range(500)]
    before = database.stats()
    result = send(db, telegram, chats, rate=1000)
    after = database.stats()
    assert (result.sent, result.complete) == (500, True) and worker_count(1000) == 64
    writes = after.get("PATCH", 0) - before.get("PATCH", 0)
    # Writes of 50 or more (each carries every outcome waiting when it is made), the rest riding the final
    # write with the finish: at most 10 writes, never the flood of small ones concurrent senders used to make.
    assert 1 <= writes <= 10, writes
    assert after.get("GET", 0) - before.get("GET", 0) <= 1, "the lease is read at most every third of its life"
    assert len(db.get("deliveries/k")) == 500 and db.get("broadcasts/k/done") is True


def test_progress_is_reported_while_the_run_lasts_and_once_at_its_end(clients, servers):
    db, telegram = clients
    reports = []
    chats = [str(5_000_000_000 + 7_919 * i) for i in range(40)]
    result = run(db, telegram, "알림", chats, progress=reports.append, progress_every=0.05)
    assert result.sent == 40
    assert reports[-1].final and reports[-1].settled == reports[-1].total == 40
    assert all(not r.final for r in reports[:-1]) and len(reports) >= 2
    assert [r.settled for r in reports] == sorted(r.settled for r in reports)


def test_the_terminal_bar_draws_and_closes(tmp_path):
    import io

    from coronabot.alerts.sending import Progress
    from coronabot_dev.local import TerminalProgress
    screen = io.StringIO()
    bar = TerminalProgress(screen)
    bar(Progress("k", 10, 40, 10, 20.0, 1.5))
    bar(Progress("k", 40, 40, 40, 20.0, 0.0, final=True))
    assert "broadcast k" in screen.getvalue() and "40/40" in screen.getvalue()


def test_the_lease_is_renewed_while_nothing_can_be_written(clients, servers):
    """A long flood wait settles nobody for seconds: the writer keeps the lease alive all the same."""
    db, telegram = clients
    database, fake, _ = servers
    fake.control(flood={"every": 1, "retry_after": 1})
    before = database.stats()
    result = send(db, telegram, [str(PRIVATE_CHAT)], lease_seconds=1.5)
    after = database.stats()
    assert result.sent == 0 and result.pending == 1, "every attempt met flood control"
    renewals = after.get("PATCH", 0) - before.get("PATCH", 0) - 1  # the final write releases the lease
    assert renewals >= 3, f"the lease (1.5 s) was renewed every half second of the ~5 s wait, got {renewals}"


def test_a_broadcast_is_rendered_once_per_language_and_one_telegram_could_never_accept_is_refused():
    from coronabot import texts
    from coronabot.alerts.broadcaster import render
    from coronabot.sources import REGISTRY, SanityError, kdca_sentinel

    announcement = kdca_sentinel.parse(json.loads((FIXTURES / "kdca-dportal-ari-ListAjax-2026-w35-w39.json")
                                                  .read_text(encoding="utf-8")))
    source = REGISTRY["kdca-sentinel"]
    messages = render("alert", announcement, source)
    assert messages == {"ko": texts.ko.alert(announcement, source), "en": texts.en.alert(announcement, source)}
    assert render("correction", announcement, source)["en"] == texts.en.correction(announcement, source)
    with pytest.raises(SanityError, match=r"the ko message would be 4,[0-9]{3} characters, over Telegram.s 4,096"):
        render("alert", announcement._replace(note="가" * 4000), source)
