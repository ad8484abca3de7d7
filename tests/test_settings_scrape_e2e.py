"""Broadcasts honour each chat's choices, through the real scrape function: alert conditions on rising,
falling and flat figures, quiet hours that hold an alert until the morning (read on the Korean clock on a
host in another zone), the format, and resumed broadcasts that decide nothing twice."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

import pytest

from coronabot.texts import KST
from support import PRIVATE_CHAT, kdca_with, morning_now, quiet_now, subscribe_with, tick, tick_together, uploads

KEY = "kdca-sentinel_2026-W39"
HOST_ZONE = "America/Los_Angeles"
EVERY, ROSE, CHANGE20, RISE50 = "5000000001", "5000000002", "5000000003", "5000000004"
HOLD, SILENT, NORMAL, TEXT = "5000000011", "5000000012", "5000000013", "5000000014"


def received(telegram) -> Counter:
    return Counter(str(m["chat_id"]) for m in telegram.sent())


@pytest.mark.parametrize("weeks, expected", [
    ((248, 400), {EVERY, ROSE, CHANGE20, RISE50}),  # +61%
    ((337, 248), {EVERY, CHANGE20}),  # -26%, the sample
    ((248, 260), {EVERY, ROSE}),  # +5%
    ((248, 248), {EVERY}),  # flat
])
def test_each_condition_on_rising_falling_and_flat_figures(scrape_function, servers, weeks, expected):
    db, telegram, sources = servers
    sources.serve("kdca", kdca_with([(2026, 38, str(weeks[0])), (2026, 39, str(weeks[1]))]))
    subscribe_with(db, {EVERY: {}, ROSE: {"when": "rose"}, CHANGE20: {"when": "change20"},
                        RISE50: {"when": "rise50"}})
    status, summary = tick(scrape_function)
    assert status == 200 and summary["status"] == "alerted"
    assert set(received(telegram)) == expected and set(received(telegram).values()) == {1}
    skipped = {chat: f"skipped:{when}" for chat, when in ((ROSE, "rose"), (CHANGE20, "change20"),
                                                           (RISE50, "rise50")) if chat not in expected}
    assert db.get(f"deliveries/{KEY}") == dict(dict.fromkeys(expected, "sent"), **skipped)
    assert summary["sent"] == len(expected) and summary.get("skipped", 0) == len(skipped)
    assert db.get(f"broadcasts/{KEY}/compare") == [weeks[1], weeks[0]]


def test_a_resumed_broadcast_decides_nothing_twice(scrape_function, servers):
    """Telegram fails mid-broadcast; the skipped chat stays skipped even after it changes its mind, and a chat
    the broadcast had not reached yet gets what its settings say when the resumed run reaches it."""
    db, telegram, _ = servers
    reached_later = "5000000005"
    subscribe_with(db, {ROSE: {"when": "rose"}, EVERY: {}, reached_later: {}})
    telegram.control(fail_5xx=100)
    status, summary = tick(scrape_function)
    assert status == 503 and summary["pending"] == 2 and summary["skipped"] == 1
    assert db.get(f"deliveries/{KEY}") == {ROSE: "skipped:rose"}
    db.put(f"subscribers/{ROSE}/prefs/when", "every")
    db.put(f"subscribers/{reached_later}/prefs", {"when": "rose"})
    telegram.reset()
    status, summary = tick(scrape_function)
    assert status == 200 and summary["status"] == "resumed" and summary["sent"] == 1
    assert received(telegram) == {EVERY: 1}
    assert db.get(f"deliveries/{KEY}") == {ROSE: "skipped:rose", EVERY: "sent", reached_later: "skipped:rose"}
    assert db.get(f"broadcasts/{KEY}/done") is True


def test_night_choices_then_the_held_alert_is_delivered_once_in_the_morning(servers, extra_scrape):
    db, telegram, _ = servers
    subscribe_with(db, {HOLD: {"night": "hold"}, SILENT: {}, NORMAL: {"night": "normal"}})
    status, summary = tick(extra_scrape(QUIET_HOURS=quiet_now(), TZ=HOST_ZONE))
    assert status == 200 and summary["sent"] == 2 and summary["held"] == 1
    sounds = {str(c["params"]["chat_id"]): c["params"].get("disable_notification")
              for c in telegram.calls("sendMessage")}
    assert sounds == {SILENT: True, NORMAL: None}
    assert db.get(f"deliveries/{KEY}/{HOLD}") == "held" and db.get("state/held") is True
    assert db.get(f"held/{HOLD}/{KEY}")["order"] == "2026-W39"
    still_night = extra_scrape(QUIET_HOURS=quiet_now(), TZ=HOST_ZONE)
    assert tick(still_night)[1].get("morning") is None, "nothing is delivered while the night lasts"

    telegram.reset()
    morning = extra_scrape(QUIET_HOURS=morning_now(), TZ=HOST_ZONE)
    status, summary = tick(morning)
    assert status == 200 and summary["status"] == "unchanged" and summary["morning"]["sent"] == 1
    assert received(telegram) == {HOLD: 1}
    text = telegram.sent()[0]
    assert text["text"].startswith("🌅 밤사이 나온 발표(2026년 39주)를 아침") and "248명" in text["text"]
    assert text.get("disable_notification") is None
    key = summary["morning"]["broadcast"]
    assert key == f"held_{datetime.now(UTC).astimezone(KST).date().isoformat()}"
    assert db.get(f"deliveries/{key}") == {HOLD: "sent"} and db.get("held") is None and db.get("state/held") is None
    telegram.reset()
    status, summary = tick(morning)
    assert status == 200 and "morning" not in summary and telegram.sent() == [], "never twice"


def test_two_held_announcements_arrive_as_one_message_naming_both(servers, extra_scrape):
    db, telegram, sources = servers
    subscribe_with(db, {HOLD: {"night": "hold"}, "5000000021": {"night": "hold", "when": "rise50"}})
    night = extra_scrape(QUIET_HOURS=quiet_now(), TZ=HOST_ZONE)
    assert tick(night)[1]["held"] == 1
    sources.serve("kdca", kdca_with([(2026, 39, "248"), (2026, 40, "402")]))
    status, summary = tick(night)
    assert summary["status"] == "alerted" and summary["held"] == 2 and telegram.sent() == []
    status, summary = tick(extra_scrape(QUIET_HOURS=morning_now(), TZ=HOST_ZONE))
    assert summary["morning"]["sent"] == 2
    by_chat = {str(m["chat_id"]): m["text"] for m in telegram.sent()}
    assert "2건(2026년 39주, 2026년 40주)" in by_chat[HOLD] and "402명" in by_chat[HOLD]
    assert "밤사이 나온 발표(2026년 40주)" in by_chat["5000000021"], "the rise50 chat held only week 40"
    assert len(telegram.sent()) == 2


def test_a_chat_that_unsubscribed_in_the_night_gets_nothing_in_the_morning(servers, extra_scrape):
    db, telegram, _ = servers
    subscribe_with(db, {HOLD: {"night": "hold"}, NORMAL: {"night": "normal"}})
    tick(extra_scrape(QUIET_HOURS=quiet_now(), TZ=HOST_ZONE))
    db.put(f"subscribers/{HOLD}", None)
    telegram.reset()
    status, summary = tick(extra_scrape(QUIET_HOURS=morning_now(), TZ=HOST_ZONE))
    assert status == 200 and summary["morning"]["sent"] == 0 and telegram.sent() == []
    assert db.get("held") is None and db.get("state/held") is None


def test_a_morning_delivery_cut_short_is_finished_by_the_next_tick(servers, extra_scrape):
    db, telegram, _ = servers
    chats = {str(5_100_000_000 + i): {"night": "hold"} for i in range(30)}
    subscribe_with(db, chats)
    tick(extra_scrape(QUIET_HOURS=quiet_now(), TZ=HOST_ZONE))
    telegram.control(fail_5xx=1000)  # the first morning run meets a Telegram outage
    morning = extra_scrape(QUIET_HOURS=morning_now(), TZ=HOST_ZONE)
    status, summary = tick(morning)
    assert status == 503 and summary["morning"]["pending"] == 30
    assert db.get("state/held") is True and len(db.get("held")) == 30
    telegram.control()
    status, summary = tick(morning)
    assert status == 200 and summary["morning"]["sent"] == 30
    assert received(telegram) == dict.fromkeys(chats, 1), "every held chat once"
    assert db.get("held") is None and db.get("state/held") is None


@pytest.mark.usefixtures("portal")
def test_the_format_choice_and_a_held_alert_with_its_chart(servers, extra_scrape):
    db, telegram, _ = servers
    subscribe_with(db, {str(PRIVATE_CHAT): {}, TEXT: {"format": "text"}, HOLD: {"night": "hold"}})
    status, summary = tick(extra_scrape(CHARTS="on", QUIET_HOURS=quiet_now(), TZ=HOST_ZONE))
    assert status == 200 and summary["sent"] == 2 and summary["held"] == 1
    assert [str(p["chat_id"]) for p in telegram.photos()] == [str(PRIVATE_CHAT)]
    assert [str(c["params"]["chat_id"]) for c in telegram.calls("sendMessage")] == [TEXT]
    status, summary = tick(extra_scrape(CHARTS="on", QUIET_HOURS=morning_now(), TZ=HOST_ZONE))
    assert summary["morning"]["sent"] == 1
    photos = telegram.photos()
    assert [str(p["chat_id"]) for p in photos] == [str(PRIVATE_CHAT), HOLD]
    assert len(uploads(telegram)) == 1, "the morning sends the evening's chart by its file_id"
    assert photos[-1]["caption"].startswith("🌅 밤사이 나온 발표")


def test_two_concurrent_morning_ticks_deliver_each_held_alert_once(servers, extra_scrape):
    db, telegram, _ = servers
    chats = {str(5_200_000_000 + i): {"night": "hold"} for i in range(40)}
    subscribe_with(db, chats)
    tick(extra_scrape(QUIET_HOURS=quiet_now(), TZ=HOST_ZONE))
    answers = tick_together([extra_scrape(QUIET_HOURS=morning_now(), TZ=HOST_ZONE, BROADCAST_RATE="50")
                             for _ in range(2)])
    assert sorted(status for status, _ in answers) == [200, 200]
    # the other either found the delivery leased (busy) or, if it came after, finished
    assert sum(summary.get("morning", {}).get("sent", 0) for _, summary in answers) == 40
    assert received(telegram) == dict.fromkeys(chats, 1)
    assert db.get("held") is None and db.get("state/held") is None


def test_a_correction_reaches_the_chats_for_which_the_corrected_figures_qualify(scrape_function, servers):
    db, telegram, sources = servers
    subscribe_with(db, {EVERY: {}, ROSE: {"when": "rose"}, RISE50: {"when": "rise50"}})
    assert tick(scrape_function)[1]["skipped"] == 2, "week 39 fell: only EVERY hears of it"
    sources.serve("kdca", kdca_with([(2026, 38, "337"), (2026, 39, "400")]))  # corrected: it rose by 19%
    telegram.reset()
    status, summary = tick(scrape_function)
    assert status == 200 and summary["status"] == "corrected"
    assert set(received(telegram)) == {EVERY, ROSE} and all("정정" in m["text"] for m in telegram.sent())
    correction = summary["broadcast"]
    assert db.get(f"broadcasts/{correction}/compare") == [400, 337]
    assert db.get(f"broadcasts/{correction}/compare_before") == [248, 337]
    assert db.get(f"deliveries/{correction}/{RISE50}") == "skipped:rise50"


def test_damaged_held_alerts_are_settled_without_a_message(servers, extra_scrape):
    db, telegram, _ = servers
    subscribe_with(db, {HOLD: {"night": "hold"}, NORMAL: {"night": "hold"}})
    db.put("held", {HOLD: {"k1": "junk"}, NORMAL: {"k2": {"announcement": "2026-W30", "order": "2026-W30",
                                                            "period": "2026년 30주", "kind": "alert"}}})
    db.put("state/held", True)
    status, summary = tick(extra_scrape(QUIET_HOURS=morning_now(), TZ=HOST_ZONE))
    assert status == 200 and summary["morning"]["skipped"] == 2 and summary["morning"]["sent"] == 0
    key = summary["morning"]["broadcast"]
    assert db.get(f"deliveries/{key}") == {HOLD: "skipped:damaged", NORMAL: "skipped:damaged"}
    assert db.get("held") is None and db.get("state/held") is None
    assert not [m for m in telegram.sent() if "밤사이" in m["text"]], "nobody gets a broken message"


@pytest.mark.usefixtures("portal")
def test_a_held_alert_nobody_got_in_the_evening_uploads_its_chart_in_the_morning(servers, extra_scrape):
    db, telegram, _ = servers
    subscribe_with(db, {HOLD: {"night": "hold"}, "5000000031": {"night": "hold"}})
    assert tick(extra_scrape(CHARTS="on", QUIET_HOURS=quiet_now(), TZ=HOST_ZONE))[1]["held"] == 2
    assert telegram.photos() == []
    status, summary = tick(extra_scrape(CHARTS="on", QUIET_HOURS=morning_now(), TZ=HOST_ZONE))
    assert status == 200 and summary["morning"]["sent"] == 2
    assert len(uploads(telegram)) == 1 and len(telegram.photos()) == 2
    assert all(p["caption"].startswith("🌅 밤사이 나온 발표") for p in telegram.photos())
    assert db.get("charts/kdca-sentinel/file_id"), "/chart has the picture from then on"
