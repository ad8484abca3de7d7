"""The scrape function under functions-framework: sources on a local server, the local database,
the fake Telegram server. Every claim about alerts is checked at the fake Telegram server."""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest

from coronabot import texts
from coronabot.texts import KST
from coronabot_dev.harness import Process, database_command, free_port, http
from support import (
    ADMIN,
    FIXTURES,
    GROUP_CHAT,
    KDCA,
    MIGRATED,
    PRIVATE_CHAT,
    Database,
    alerts_by_chat,
    kdca_with,
    kst_now,
    many_chats,
    recorded_week,
    seen_weekly,
    subscribe,
    tick,
    tick_together,
)


@pytest.fixture
def scrape(scrape_function, servers):
    return scrape_function


def test_first_run_alerts_each_subscriber_once_then_unchanged(scrape, servers):
    db, telegram, sources = servers
    subscribe(db, [PRIVATE_CHAT, GROUP_CHAT])
    status, summary = tick(scrape)
    assert status == 200, summary
    assert summary["status"] == "alerted" and summary["announcement"] == "2026-W39"
    assert summary["sent"] == 2 and summary["failed"] == 0 and summary["removed"] == 0
    assert alerts_by_chat(telegram) == {str(PRIVATE_CHAT): 1, str(GROUP_CHAT): 1}
    text = telegram.sent()[0]["text"]
    assert "코로나19 입원환자: <b>248명</b>" in text and "337명" in text and "89명 감소" in text
    assert "국내 전체 환자 수가 아니며" in text and "2026년 39주 (9월 20일~26일)" in text
    assert db.get("state/latest/id") == "2026-W39"
    stored = db.get("history/kdca-sentinel/2026-W39")["figures"]
    assert stored == {"covid_inpatients": 248, "covid_inpatients_prev": 337}
    assert db.get("broadcasts/kdca-sentinel_2026-W39/done") is True
    assert db.get("state/broadcast") is None

    status, summary = tick(scrape)
    assert (status, summary["status"], summary["sent"]) == (200, "unchanged", 0)
    assert len(telegram.sent()) == 2
    assert db.get("state/last_tick/status") == "unchanged"


def test_cookie_then_post_flow_and_one_request_when_nothing_is_new(scrape, servers):
    db, _, sources = servers
    before = len(sources.requests())
    tick(scrape)
    first = sources.requests()[before:]
    assert [(r["method"], r["path"]) for r in first][-1] == ("POST", "/pot/is/st/ariListAjax.do")
    assert first[-1]["had_cookie"] is True
    if len(first) == 2:
        assert first[0] == {"method": "GET", "path": "/pot/is/st/ari.do", "had_cookie": False}
    mark = len(sources.requests())
    stats = db.stats()
    status, summary = tick(scrape)
    assert summary["status"] == "unchanged"
    assert sources.requests()[mark:] == [{"method": "POST", "path": "/pot/is/st/ariListAjax.do", "had_cookie": True}]
    after = db.stats()
    assert sum(after.values()) - sum(stats.values()) <= 2


def test_an_expired_session_is_renewed_once_without_an_admin_notice(scrape, servers):
    db, telegram, sources = servers
    tick(scrape)
    sources.mode(forget_sessions=True)
    mark = len(sources.requests())
    status, summary = tick(scrape)
    assert (status, summary["status"]) == (200, "unchanged")
    assert [(r["method"], r["path"]) for r in sources.requests()[mark:]] == [
        ("POST", "/pot/is/st/ariListAjax.do"), ("GET", "/pot/is/st/ari.do"), ("POST", "/pot/is/st/ariListAjax.do")]
    assert admin_notices(telegram) == [] and db.get("state/health") is None


def test_the_daily_page_is_fetched_conditionally(servers, extra_scrape):
    db, telegram, sources = servers
    subscribe(db, [PRIVATE_CHAT])
    mohw = extra_scrape(SOURCE="mohw-daily")
    assert tick(mohw)[1]["status"] == "alerted"
    mark = len(sources.requests())
    status, summary = tick(mohw)
    assert (status, summary["status"]) == (200, "unchanged")
    assert sources.requests()[mark:] == [{"method": "GET", "path": "/bdBoardList_Real.do", "had_cookie": False,
                                          "not_modified": True}]
    assert len(telegram.sent()) == 1


def test_an_older_page_never_alerts(scrape, servers):
    db, telegram, sources = servers
    subscribe(db, [PRIVATE_CHAT])
    tick(scrape)
    sources.serve("kdca", kdca_with([(2026, 36, "196"), (2026, 37, "308"), (2026, 38, "337")]))
    status, summary = tick(scrape)
    assert summary["status"] == "unchanged" and summary["announcement"] == "2026-W38"
    assert len(telegram.sent()) == 1
    assert db.get("state/latest/id") == "2026-W39"


def test_a_corrected_figure_sends_one_correction(scrape, servers):
    db, telegram, sources = servers
    subscribe(db, [PRIVATE_CHAT, GROUP_CHAT])
    tick(scrape)
    sources.serve("kdca", kdca_with([(2026, 38, "337"), (2026, 39, "251")]))
    status, summary = tick(scrape)
    assert (status, summary["status"], summary["sent"]) == (200, "corrected", 2)
    corrections = [m for m in telegram.sent() if "정정" in m["text"]]
    assert len(corrections) == 2 and "<b>251명</b>" in corrections[0]["text"]
    assert tick(scrape)[1]["status"] == "unchanged"
    assert len(telegram.sent()) == 4
    assert db.get("state/latest/figures/covid_inpatients") == 251


def test_a_new_week_alerts_again(scrape, servers):
    db, telegram, sources = servers
    subscribe(db, [PRIVATE_CHAT])
    tick(scrape)
    sources.serve("kdca", kdca_with([(2026, 39, "248"), (2026, 40, "1,302")]))
    status, summary = tick(scrape)
    assert summary["status"] == "alerted" and summary["announcement"] == "2026-W40"
    assert "<b>1,302명</b>" in telegram.sent()[-1]["text"]
    assert "1,054명 증가" in telegram.sent()[-1]["text"]


def test_two_concurrent_runs_send_one_alert_each(scrape, servers, extra_scrape):
    db, telegram, _ = servers
    chats = many_chats(60)
    subscribe(db, chats)
    results = tick_together([scrape, extra_scrape()])
    counts = alerts_by_chat(telegram)
    assert set(counts) == {str(c) for c in chats}
    assert set(counts.values()) == {1}
    statuses = sorted(r[1]["status"] for r in results)
    assert statuses in (["alerted", "unchanged"], ["alerted", "alerted"]), results
    assert sum(r[1]["sent"] for r in results) == 60


@pytest.mark.parametrize("batch", [10, 1])
def test_a_killed_broadcast_is_resumed_without_losing_anyone(scrape, servers, extra_scrape, batch):
    db, telegram, _ = servers
    chats = many_chats(150)
    subscribe(db, chats)
    slow = extra_scrape(BROADCAST_RATE="30", LEDGER_BATCH=str(batch))
    def doomed_tick():
        try:
            http("POST", slow.url, timeout=60)
        except OSError:
            pass  # the connection dies with the killed process
    threading.Thread(target=doomed_tick, daemon=True).start()
    deadline = time.time() + 30
    while len(telegram.sent()) < 60 and time.time() < deadline:
        time.sleep(0.05)
    os.killpg(slow.proc.pid, signal.SIGKILL)
    slow.proc.wait(10)
    sent_before_kill = len(telegram.sent())
    assert 60 <= sent_before_kill < 150, "the kill landed in the middle of the broadcast"
    assert db.get("state/broadcast/key") == "kdca-sentinel_2026-W39"

    time.sleep(3.2)  # the killed run's lease (BROADCAST_LEASE_SECONDS=3) expires
    status, summary = tick(scrape)
    assert status == 200 and summary["status"] == "resumed" and summary["sent"] > 0, summary
    counts = alerts_by_chat(telegram)
    assert set(counts) == {str(c) for c in chats}, "everybody got the alert"
    duplicates = sum(n - 1 for n in counts.values())
    # Only outcomes not yet written (less than one batch) and the messages in flight (4 workers at
    # this rate) can repeat; with LEDGER_BATCH=1, only those in flight.
    assert duplicates <= (batch - 1) + 4, duplicates
    assert db.get("broadcasts/kdca-sentinel_2026-W39/done") is True
    assert tick(scrape)[1]["status"] == "unchanged"


def test_flood_control_is_obeyed(scrape, servers):
    db, telegram, _ = servers
    chats = many_chats(6)
    subscribe(db, chats)
    telegram.control(flood={"every": 3, "retry_after": 1})
    status, summary = tick(scrape)
    assert summary["sent"] == 6 and summary["pending"] == 0
    assert set(alerts_by_chat(telegram).values()) == {1}
    calls = telegram.calls("sendMessage")
    assert len(calls) > 6, "some calls were answered 429 and retried"
    by_chat = {}
    for call in calls:
        by_chat.setdefault(str(call["params"]["chat_id"]), []).append(call["time"])
    retried = [times for times in by_chat.values() if len(times) > 1]
    assert retried and all(times[1] - times[0] >= 0.95 for times in retried)


def test_blocked_and_missing_chats_are_removed(scrape, servers):
    db, telegram, _ = servers
    gone, missing, fine = 1544010214, -1001234567891, PRIVATE_CHAT
    subscribe(db, [gone, missing, fine])
    telegram.control(blocked=[gone], not_found=[missing])
    status, summary = tick(scrape)
    assert (summary["sent"], summary["removed"]) == (1, 2)
    assert list(db.get("subscribers")) == [str(fine)]
    assert db.get(f"deliveries/kdca-sentinel_2026-W39/{gone}") == "removed"


def test_a_group_that_became_a_supergroup_keeps_its_subscription(scrape, servers):
    db, telegram, _ = servers
    old, new = -1001234567, -1009999999999
    subscribe(db, [old, PRIVATE_CHAT])
    db.put(f"subscribers/{old}/prefs", {"format": "text", "night": "normal"})
    telegram.control(migrated={old: new})
    status, summary = tick(scrape)
    assert summary["sent"] == 2 and summary["pending"] == 0
    assert alerts_by_chat(telegram) == {str(new): 1, str(PRIVATE_CHAT): 1}
    assert set(db.get("subscribers")) == {str(new), str(PRIVATE_CHAT)}
    assert db.get(f"subscribers/{new}/migrated_from") == str(old)
    assert db.get(f"subscribers/{new}/prefs") == {"format": "text", "night": "normal"}, "its choices follow it"
    assert tick(scrape)[1]["status"] == "unchanged"


def test_a_refused_token_loses_nobody(servers, extra_scrape, scrape):
    db, telegram, _ = servers
    subscribe(db, [PRIVATE_CHAT, GROUP_CHAT])
    revoked = extra_scrape(TELEGRAM_TOKEN="4242424242:revoked-token-revoked-token")
    status, summary = tick(revoked)
    assert status == 503, "an unfinished broadcast is a failure Cloud Scheduler sees and retries"
    assert summary["status"] == "alerted" and summary["sent"] == 0 and summary["pending"] == 2
    assert summary["failed"] == 0 and summary["removed"] == 0
    assert len(db.get("subscribers")) == 2 and db.get("deliveries") is None
    status, summary = tick(scrape)
    assert summary["status"] == "resumed" and summary["sent"] == 2
    assert alerts_by_chat(telegram) == {str(PRIVATE_CHAT): 1, str(GROUP_CHAT): 1}


def test_telegram_outage_leaves_messages_pending_for_the_next_tick(scrape, servers):
    db, telegram, _ = servers
    subscribe(db, [PRIVATE_CHAT, GROUP_CHAT])
    telegram.control(fail_5xx=100)
    status, summary = tick(scrape)
    assert status == 503 and summary["status"] == "alerted" and summary["pending"] == 2 and summary["sent"] == 0
    assert db.get("state/broadcast/key") == "kdca-sentinel_2026-W39"
    assert db.get("subscribers") is not None, "no subscriber is dropped for a Telegram outage"
    telegram.control()
    status, summary = tick(scrape)
    assert status == 200 and summary["status"] == "resumed" and summary["sent"] == 2
    assert alerts_by_chat(telegram) == {str(PRIVATE_CHAT): 1, str(GROUP_CHAT): 1}


@pytest.mark.parametrize("quiet", [True, False])
def test_alerts_in_quiet_hours_arrive_without_a_sound(servers, extra_scrape, quiet):
    db, telegram, _ = servers
    subscribe(db, [PRIVATE_CHAT, GROUP_CHAT])
    hour = datetime.now(UTC).astimezone(KST).hour
    window = f"{hour}-{min(hour + 2, 24)}" if quiet else f"{(hour + 3) % 24}-{(hour + 5) % 24}"
    status, summary = tick(extra_scrape(QUIET_HOURS=window))
    assert status == 200 and summary["sent"] == 2
    flags = {call["params"].get("disable_notification") for call in telegram.calls("sendMessage")}
    assert flags == ({True} if quiet else {None}), flags


def test_a_broadcast_stops_at_its_time_budget_and_the_next_run_goes_on(servers, extra_scrape):
    """Before the platform's request timeout would kill it, a run stops cleanly: nobody twice."""
    db, telegram, _ = servers
    chats = many_chats(60)
    subscribe(db, chats)
    short = extra_scrape(BROADCAST_RATE="20", BROADCAST_TIME_BUDGET="1")
    status, first = tick(short)
    assert status == 503 and first["status"] == "alerted", first
    assert 0 < first["sent"] < 60 and first["sent"] + first["pending"] == 60, first
    assert db.get("broadcasts/kdca-sentinel_2026-W39/lease") is None, "released: the next run need not wait"
    assert len(db.get("deliveries/kdca-sentinel_2026-W39")) == first["sent"], "every outcome written"
    assert "time budget used up" in short.output()
    runs = [first]
    while runs[-1]["pending"] and len(runs) < 10:
        status, summary = tick(short)
        assert summary["status"] == "resumed" and summary["sent"] > 0, summary
        runs.append(summary)
    assert status == 200 and runs[-1]["pending"] == 0
    assert sum(r["sent"] for r in runs) == 60
    assert alerts_by_chat(telegram) == {str(c): 1 for c in chats}
    assert db.get("broadcasts/kdca-sentinel_2026-W39/done") is True


def admin_notices(telegram) -> list[str]:
    return [m["text"] for m in telegram.sent() if str(m["chat_id"]) == ADMIN]


def test_deaths_first_layout_sends_nothing_and_one_admin_notice(servers, extra_scrape):
    db, telegram, sources = servers
    subscribe(db, [PRIVATE_CHAT])
    mohw = extra_scrape(SOURCE="mohw-daily")
    sources.serve("mohw", (FIXTURES / "mohw-bdBoardList_Real-2021-11-layout-synthetic.html").read_bytes())
    for _ in range(3):
        status, summary = tick(mohw)
        assert status == 502 and summary["status"] == "error"
        assert "확진환자" in summary["error"]
    assert alerts_by_chat(telegram) == {}
    notices = admin_notices(telegram)
    assert len(notices) == 1 and "출처 확인 실패" in notices[0]
    assert db.get("state/latest") is None

    sources.serve("mohw", (FIXTURES / "mohw-bdBoardList_Real-brdGubun11-2021-06-05.html").read_bytes())
    status, summary = tick(mohw)
    assert summary["status"] == "alerted"
    assert "143,596명" in telegram.sent()[-1]["text"] or "143,596명" in telegram.sent()[-2]["text"]
    notices = admin_notices(telegram)
    assert len(notices) == 2 and "출처 복구" in notices[1]


@pytest.mark.parametrize("breakage", ["caption", "html_error", "status", "empty"])
def test_broken_answers_send_nothing_and_one_admin_notice(scrape, servers, breakage):
    db, telegram, sources = servers
    subscribe(db, [PRIVATE_CHAT])
    if breakage == "caption":
        captions = [c for c in KDCA["value"]["captionList"] if "코로나19" not in c]
        sources.serve("kdca", kdca_with([(2026, 39, "248")], captions=captions))
    elif breakage == "empty":
        sources.serve("kdca", kdca_with([]))
    elif breakage == "html_error":
        sources.mode(html_error=True)
    else:
        sources.mode(status=503)
    for _ in range(3):
        status, summary = tick(scrape)
        assert status == 502 and summary["status"] == "error", summary
    assert alerts_by_chat(telegram) == {}
    assert len(admin_notices(telegram)) == 1


def test_timeouts_notify_the_admin_once_after_a_streak(scrape, servers):
    db, telegram, sources = servers
    subscribe(db, [PRIVATE_CHAT])
    sources.mode(delay=3)
    summaries = [tick(scrape) for _ in range(4)]
    assert all(status == 502 and "no answer within" in s["error"] for status, s in summaries)
    assert alerts_by_chat(telegram) == {}
    assert len(admin_notices(telegram)) == 1
    assert db.get("state/health/streak") == 4


def test_old_broadcasts_and_redelivery_marks_are_pruned_once_a_day(scrape, servers):
    db, _, _ = servers
    now = time.time()
    db.put("broadcasts", {"kdca-sentinel_2026-W30": {"done": True, "finished_at": now - 40 * 86400},
                          "kdca-sentinel_2026-W38": {"done": True, "finished_at": now - 5 * 86400},
                          "kdca-sentinel_2026-W39": {"lease": {"owner": "x", "expires": now - 10}}})
    db.put("deliveries", {"kdca-sentinel_2026-W30": {"1544010213": "sent"},
                          "kdca-sentinel_2026-W38": {"1544010213": "sent"}})
    db.put("handled_updates", {"700000001": {"at": now - 3 * 86400}, "700000002": {"at": now - 60}})
    db.put("unsubscribed", {"1544010213": {"update_id": 700000003, "at": now - 3 * 86400},
                            "-1001234567890": {"update_id": 700000004, "at": now - 60}})
    tick(scrape)
    assert set(db.get("deliveries")) >= {"kdca-sentinel_2026-W38"}
    assert "kdca-sentinel_2026-W30" not in db.get("deliveries")
    assert set(db.get("broadcasts")) == {"kdca-sentinel_2026-W38", "kdca-sentinel_2026-W39"}
    assert list(db.get("handled_updates")) == ["700000002"]
    assert list(db.get("unsubscribed")) == ["-1001234567890"]
    assert db.get("state/pruned_at") > now - 60


def test_a_pruning_failure_never_fails_the_tick(servers, extra_scrape, tmp_path):
    """A database whose rules lack the indexes refuses the pruning queries, as production would."""
    _, telegram, _ = servers
    rules = tmp_path / "rules.json"
    rules.write_text(json.dumps({"rules": {".read": False, ".write": False}}))
    port = free_port()
    database = Process(database_command(port, rules),
                       port, tmp_path / "rtdb.log")
    try:
        unindexed = Database(f"127.0.0.1:{port}", own_emulator=True)
        subscribe(unindexed, [PRIVATE_CHAT])
        function = extra_scrape(FIREBASE_DATABASE_EMULATOR_HOST=f"127.0.0.1:{port}")
        first, second = tick(function), tick(function)
        assert first[0] == 200 and first[1]["status"] == "alerted" and first[1]["sent"] == 1
        assert second[0] == 200 and second[1]["status"] == "unchanged"
        assert unindexed.get("state/pruned_at") > time.time() - 60, "tried again tomorrow, not every tick"
        assert function.output().count("pruning old data failed") == 1
        assert "Index not defined" in function.output()
        assert alerts_by_chat(telegram) == {str(PRIVATE_CHAT): 1}
    finally:
        database.stop()


def test_negative_and_backwards_figures_are_refused(servers, extra_scrape):
    db, telegram, sources = servers
    subscribe(db, [PRIVATE_CHAT])
    mohw = extra_scrape(SOURCE="mohw-daily")
    assert tick(mohw)[1]["status"] == "alerted"
    page = (FIXTURES / "mohw-bdBoardList_Real-brdGubun11-2021-06-05.html").read_text(encoding="utf-8")
    later = page.replace("(6.5. 00시 기준)", "(6.6. 00시 기준)").replace("143,596", "143,000", 1)
    sources.serve("mohw", later)
    status, summary = tick(mohw)
    assert status == 502 and "went backwards" in summary["error"]
    assert alerts_by_chat(telegram) == {str(PRIVATE_CHAT): 1}


def test_a_year_typo_in_the_source_is_refused_and_never_blocks_later_weeks(scrape, servers):
    db, telegram, sources = servers
    subscribe(db, [PRIVATE_CHAT])
    data = json.loads((FIXTURES / "kdca-dportal-ari-ListAjax-2026-w35-w39.json").read_text(encoding="utf-8"))
    data["value"]["data"][-1]["TITLE"] = "2062"
    sources.serve("kdca", json.dumps(data, ensure_ascii=False))
    status, summary = tick(scrape)
    assert status == 502 and "dated in the future: 2062-W39" in summary["error"]
    assert alerts_by_chat(telegram) == {} and db.get("state/latest") is None
    sources.reset()
    status, summary = tick(scrape)
    assert summary["status"] == "alerted" and summary["announcement"] == "2026-W39"
    assert alerts_by_chat(telegram) == {str(PRIVATE_CHAT): 1}


def test_a_database_outage_is_a_503_and_sends_nothing(servers, extra_scrape):
    _, telegram, _ = servers
    broken = extra_scrape(FIREBASE_DATABASE_EMULATOR_HOST=f"127.0.0.1:{free_port()}")
    status, summary = tick(broken)
    assert status == 503 and summary["status"] == "error" and "database" in summary["error"]
    assert telegram.sent() == []


# -- hostile sources and broken peers ---------------------------------------------------------------------

def test_cookie_names_that_cannot_be_database_keys_are_kept_as_values(scrape, servers):
    db, telegram, sources = servers
    subscribe(db, [PRIVATE_CHAT])
    sources.mode(forget_sessions=True,  # a new session, whatever earlier tests left in this process
                 cookies=[".ASPXAUTH=abc; Path=/", "a$b=1; Path=/", "a#b=2; Path=/", "a/b=3; Path=/"])
    status, summary = tick(scrape)
    assert (status, summary["status"], summary["sent"]) == (200, "alerted", 1), summary
    assert db.get("state/last_tick/status") == "alerted", "the tick's summary was written"
    stored = db.get("state/source_cache/kdca-sentinel/cookies")
    assert {c["name"] for c in stored} >= {"JSESSIONID", ".ASPXAUTH", "a$b"}
    mark = len(sources.requests())
    status, summary = tick(scrape)
    assert (status, summary["status"]) == (200, "unchanged")
    assert sources.requests()[mark:] == [{"method": "POST", "path": "/pot/is/st/ariListAjax.do", "had_cookie": True}]
    assert alerts_by_chat(telegram) == {str(PRIVATE_CHAT): 1}


def test_a_two_digit_year_is_refused_and_never_silences_later_weeks(scrape, servers):
    db, telegram, sources = servers
    subscribe(db, [PRIVATE_CHAT])
    assert tick(scrape)[1]["announcement"] == "2026-W39"
    sources.serve("kdca", kdca_with([(2026, 38, "337"), (2026, 39, "248"), (26, 47, "999")]))
    status, summary = tick(scrape)
    assert status == 502 and "four digits" in summary["error"], summary
    assert db.get("state/latest/id") == "2026-W39" and db.get("state/health/failing") is True
    sources.serve("kdca", kdca_with([(2026, 39, "248"), (2026, 40, "301")]))
    status, summary = tick(scrape)
    assert (status, summary["status"], summary["announcement"]) == (200, "alerted", "2026-W40")
    assert alerts_by_chat(telegram) == {str(PRIVATE_CHAT): 2}
    assert "47주" not in " ".join(m["text"] for m in telegram.sent())


def test_figures_as_json_numbers_are_accepted(scrape, servers):
    db, telegram, sources = servers
    subscribe(db, [PRIVATE_CHAT])
    data = json.loads(kdca_with([(2026, 38, "337"), (2026, 39, "248")]))
    for row in data["value"]["data"]:
        row["COLUMN12"] = int(row["COLUMN12"])
    sources.serve("kdca", json.dumps(data))
    status, summary = tick(scrape)
    assert (status, summary["status"]) == (200, "alerted")
    assert "<b>248명</b>" in telegram.sent()[0]["text"] and "337명" in telegram.sent()[0]["text"]


@pytest.mark.parametrize("value, error", [
    (float("nan"), "not a whole number"), (float("inf"), "not a whole number"), (True, "bool is not a count"),
    ([248], "list is not a count"), ({"v": 248}, "dict is not a count"), (10**12, "implausibly large"),
    (int("9" * 4000), "implausibly large"), ("9" * 4000, "characters is not a count"), (248.5, "whole number"),
], ids=["nan", "infinity", "boolean", "list", "object", "10**12", "4000-digit number", "4000-digit text", "fraction"])
def test_absurd_figures_are_a_source_error_with_health_written(scrape, servers, value, error):
    db, telegram, sources = servers
    subscribe(db, [PRIVATE_CHAT])
    data = json.loads(kdca_with([(2026, 38, "337"), (2026, 39, "248")]))
    data["value"]["data"][-1]["COLUMN12"] = value
    sources.serve("kdca", json.dumps(data))
    status, summary = tick(scrape)
    assert status == 502 and summary["status"] == "error" and error in summary["error"], summary
    assert db.get("state/health/streak") == 1 and db.get("state/last_tick/status") == "error"
    assert alerts_by_chat(telegram) == {} and len(admin_notices(telegram)) == 1


@pytest.mark.parametrize("chats", [[0, 1], [1, 2]])
def test_subscribers_keyed_like_an_array_are_all_served(scrape, servers, chats):
    """Ids 0 and 1 (stored before ids were checked) or 1 and 2 make Realtime Database answer the subscriber
    list, and the ledger, as JSON arrays."""
    db, telegram, _ = servers
    subscribe(db, chats)
    assert isinstance(db.get("subscribers"), list)
    status, summary = tick(scrape)
    assert (status, summary["status"], summary["sent"]) == (200, "alerted", 2), summary
    assert alerts_by_chat(telegram) == {str(c): 1 for c in chats}
    assert isinstance(db.get("deliveries/kdca-sentinel_2026-W39"), list)
    telegram.control(fail_5xx=100)
    db.put("state/broadcast", {"key": "kdca-sentinel_2026-W39", "kind": "alert", "announcement": "2026-W39"})
    db.put("broadcasts/kdca-sentinel_2026-W39/done", None)
    status, summary = tick(scrape)
    assert (status, summary["status"]) == (200, "resumed") and summary["sent"] == 0, "the array ledger is read"
    assert alerts_by_chat(telegram) == {str(c): 1 for c in chats}


def test_a_broadcast_text_telegram_can_never_accept_is_dropped_not_retried_forever(scrape, servers):
    db, telegram, _ = servers
    subscribe(db, [PRIVATE_CHAT])
    key = "kdca-sentinel_2026-W38"
    db.put("broadcasts", {key: {"kind": "alert", "announcement": "2026-W38", "text": "가" * 5000,
                                "text_en": "a" * 5000, "wording": texts.WORDING}})  # this version's: not rendered again
    db.put("state/broadcast", {"key": key, "kind": "alert", "announcement": "2026-W38"})
    status, summary = tick(scrape)
    assert (status, summary["status"]) == (200, "alerted"), summary
    assert db.get(f"broadcasts/{key}/done") is True and db.get("state/broadcast") is None
    assert [len(m["text"]) <= 4096 for m in telegram.sent()] == [True]
    assert tick(scrape)[0] == 200


def test_an_admin_notice_quoting_a_huge_error_is_cut_to_fit(scrape, servers, scrape_function):
    db, telegram, sources = servers
    captions = [f"<병원체 \"{i}\"> " + "가" * 60 for i in range(200)]
    sources.serve("kdca", kdca_with([(2026, 39, "248")], captions=captions))
    status, summary = tick(scrape)
    assert status == 502
    notices = [c for c in telegram.calls("sendMessage") if str(c["params"]["chat_id"]) == ADMIN]
    assert len(notices) == 1 and notices[0]["status"] == 200, "Telegram accepted the notice"
    assert "전체는 로그에 있습니다" in notices[0]["params"]["text"]
    assert "병원체 &quot;199&quot;" not in notices[0]["params"]["text"]
    assert "병원체 \\\"199\\\"" in scrape_function.output(), "the log keeps the whole error"


MALFORMED_ANSWERS = {
    "result_true": '{"ok": true, "result": true}',
    "no_error_code": '{"ok": false}',
    "undecodable": "\udcff\udcfe{",
    "parameters_list": '{"ok": false, "error_code": 429, "description": "Too Many Requests", "parameters": [5]}',
    "code_as_text": '{"ok": false, "error_code": "400", "description": "Bad Request"}',
    "not_an_object": "[1, 2, 3]",
}


@pytest.mark.parametrize("answer", sorted(MALFORMED_ANSWERS))
def test_bot_api_answers_out_of_format_leave_every_chat_pending(scrape, servers, answer):
    db, telegram, _ = servers
    chats = many_chats(6)
    subscribe(db, chats)
    telegram.control(raw={"sendMessage": {"status": 200, "body": MALFORMED_ANSWERS[answer]}})
    status, summary = tick(scrape)
    assert status == 503 and summary["status"] == "alerted", summary
    assert summary["sent"] == 0 and summary["pending"] == 6 and summary["failed"] == 0
    assert db.get("deliveries") is None and db.get("broadcasts/kdca-sentinel_2026-W39/done") is None
    assert len(db.get("subscribers")) == 6
    telegram.reset()
    status, summary = tick(scrape)
    assert (status, summary["status"], summary["sent"]) == (200, "resumed", 6)
    assert alerts_by_chat(telegram) == {str(c): 1 for c in chats}


def test_a_malformed_answer_to_an_admin_notice_is_logged_not_a_500(scrape, servers, scrape_function):
    db, telegram, sources = servers
    telegram.control(raw={"sendMessage": {"status": 200, "body": '{"ok": true, "result": true}'}})
    sources.serve("kdca", kdca_with([]))
    status, summary = tick(scrape)
    assert status == 502 and summary["status"] == "error"
    assert db.get("state/health/failing") is True
    assert "admin notice not delivered: 0 malformed answer to sendMessage" in scrape_function.output()


def test_an_error_echoing_the_token_is_redacted_in_every_form(scrape, servers, scrape_function, token):
    from urllib.parse import quote
    db, telegram, _ = servers
    subscribe(db, [PRIVATE_CHAT])
    echo = f"Bad Request: no such chat in /bot{token}/sendMessage or bot{quote(token, safe='')}/sendMessage"
    telegram.control(raw={"sendMessage": {"status": 400, "body": json.dumps(
        {"ok": False, "error_code": 400, "description": echo})}})
    status, summary = tick(scrape)
    assert summary["failed"] == 1
    output = scrape_function.output()
    assert "delivery failed permanently" in output
    assert token.split(":")[1] not in output and quote(token, safe="") not in output


def test_debug_logs_never_show_the_service_key_url_encoded(servers, extra_scrape):
    key = "AbCdEf123+456/789==xyz"  # pragma: allowlist secret (made up, with the characters URLs encode)
    portal = extra_scrape(SOURCE="data-portal", DATA_PORTAL_SERVICE_KEY=key, LOG_LEVEL="DEBUG")
    status, summary = tick(portal)
    assert summary["announcement"] == "2021-07-22", summary
    output = portal.output()
    assert "serviceKey=" in output, "urllib3 logged the request line at DEBUG"
    for form in (key, "AbCdEf123%2B456%2F789%3D%3Dxyz", "AbCdEf123%2b456%2f789%3d%3dxyz"):
        assert form not in output


# -- adaptive polling and late announcements ----------------------------------------------------------------


@pytest.fixture
def adaptive(extra_scrape):
    """A scrape function deciding for itself when to fetch, on a host whose zone is not Seoul."""
    return lambda: extra_scrape(POLLING="adaptive", TZ="America/Los_Angeles")


def test_a_call_that_does_not_fetch_costs_one_read_and_no_write(servers, adaptive):
    db, telegram, sources = servers
    now = kst_now()
    db.put("state", {"latest": recorded_week(), "seen": {"kdca-sentinel": seen_weekly(now - timedelta(hours=1))},
                     "last_fetch_at": (now - timedelta(minutes=5)).isoformat(timespec="seconds"),
                     "migrations": MIGRATED})
    function = adaptive()
    before, source_requests = db.stats(), len(sources.requests())
    for _ in range(3):
        status, summary = tick(function)
        assert (status, summary["status"], summary["reason"]) == (200, "idle", "announcement already seen")
    after = db.stats()
    assert after.get("GET", 0) - before.get("GET", 0) == 3, "one read per call"
    assert sum(after.get(m, 0) - before.get(m, 0) for m in ("PUT", "PATCH", "POST", "DELETE")) == 0
    assert len(sources.requests()) == source_requests and telegram.calls() == []


def test_an_unfinished_broadcast_is_resumed_by_the_next_call_whatever_the_model(servers, adaptive):
    db, telegram, _ = servers
    subscribe(db, [PRIVATE_CHAT])
    now = kst_now()
    key = "kdca-sentinel_2026-W39"
    db.put("broadcasts", {key: {"kind": "alert", "announcement": "2026-W39", "text": "알림"}})
    db.put("state", {"latest": recorded_week(), "seen": {"kdca-sentinel": seen_weekly(now - timedelta(hours=1))},
                     "last_fetch_at": now.isoformat(timespec="seconds"),
                     "broadcast": {"key": key, "kind": "alert", "announcement": "2026-W39"}})
    status, summary = tick(adaptive())
    assert (status, summary["status"], summary["sent"]) == (200, "resumed", 1)


def test_a_late_week_is_told_to_the_admins_once_and_its_arrival_once(servers, adaptive):
    db, telegram, sources = servers
    subscribe(db, [PRIVATE_CHAT, GROUP_CHAT])
    now = kst_now()
    window_day = (now - timedelta(days=1)).replace(hour=9, minute=0, second=0, microsecond=0)
    db.put("state", {"latest": recorded_week(39),
                     "seen": {"kdca-sentinel": seen_weekly(window_day - timedelta(weeks=1))}})
    functions = [adaptive(), adaptive()]

    def concurrently() -> list[tuple[int, dict]]:
        results: list = []
        threads = [threading.Thread(target=lambda f=f: results.append(tick(f))) for f in functions * 2]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return results

    results = concurrently()
    assert all(status == 200 and s["status"] in ("unchanged", "idle") for status, s in results), results
    notices = admin_notices(telegram)
    assert len(notices) == 1 and "예상 시각보다 늦어지고 있습니다" in notices[0], notices
    assert f"{window_day.month}월 {window_day.day}일" in notices[0] and "2026년 39주 (9월 20일~26일)" in notices[0]
    assert alerts_by_chat(telegram) == {}, "subscribers are never told"
    db.put("state/last_fetch_at", None)
    concurrently()
    assert len(admin_notices(telegram)) == 1, "told once, however many ticks follow"

    sources.serve("kdca", kdca_with([(2026, 39, "248"), (2026, 40, "301")]))
    db.put("state/last_fetch_at", None)
    results = concurrently()
    assert all(status in (200, 503) and isinstance(s, dict) for status, s in results), results
    assert [s["status"] for _, s in results].count("alerted") >= 1, results
    notices = admin_notices(telegram)
    assert len(notices) == 2 and "늦어진 발표가 나왔습니다" in notices[1] and "늦었습니다" in notices[1]
    assert alerts_by_chat(telegram) == {str(PRIVATE_CHAT): 1, str(GROUP_CHAT): 1}
    seen = db.get("state/seen/kdca-sentinel")
    assert len(seen) == 4 and seen[-1] > seen[-2], "the arrival is a new first-seen moment"
    assert db.get("state/latest/first_seen") == seen[-1]
    assert db.get("state/late_notice/kdca-sentinel/arrived_at") >= seen[-1]


def test_a_tick_logs_its_start_and_the_broadcast_its_progress_as_json_lines(servers, extra_scrape):
    db, telegram, _ = servers
    subscribe(db, many_chats(90))
    function = extra_scrape(BROADCAST_RATE="30", BROADCAST_PROGRESS_SECONDS="1")
    status, summary = tick(function)
    assert status == 200 and summary["sent"] == 90
    lines = [json.loads(line) for line in function.output().splitlines() if line.startswith("{")]
    started = [line for line in lines if line["message"] == "tick started"]
    progress = [line for line in lines if line["message"].startswith("broadcast progress")]
    assert started and started[-1]["source"] == "kdca-sentinel" and started[-1]["reason"]
    assert len(progress) >= 2, "one line a second during a three-second broadcast"
    assert all(p["total"] == 90 and 0 <= p["settled"] <= 90 and p["per_second"] >= 0 for p in progress)
    assert any(p["seconds_left"] is not None for p in progress) and "\r" not in function.output()


def test_a_broadcast_reads_its_subscribers_page_by_page_as_they_change(servers, extra_scrape):
    """Pages of five chats read as the senders need them: a chat that subscribes ahead of the reader gets the
    alert, one that leaves before its page is read does not, everyone else once; and the run asks for pages
    by key (orderBy $key, startAt, limitToFirst), not for everything at once."""
    db, telegram, _ = servers
    chats = many_chats(30)
    subscribe(db, chats)
    function = extra_scrape(BROADCAST_PAGE_SIZE="5", BROADCAST_RATE="15")
    joined, left = 5_999_999_999, chats[-1]
    answer: list = []
    runner = threading.Thread(target=lambda: answer.append(tick(function)))
    runner.start()
    deadline = time.time() + 30
    while len(telegram.sent()) < 3 and time.time() < deadline:
        time.sleep(0.05)
    db.put(f"subscribers/{joined}", {"since": "2026-09-30T09:00:00+09:00", "chat_type": "private"})
    db.put(f"subscribers/{left}", None)
    runner.join(60)
    status, summary = answer[0]
    assert status == 200 and summary["pending"] == 0
    counts = alerts_by_chat(telegram)
    assert set(counts.values()) == {1}, "nobody twice"
    assert set(counts) == {str(c) for c in chats[:-1]} | {str(joined)}
    assert db.get("state/broadcast") is None
