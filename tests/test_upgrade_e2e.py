"""A database written by the version before the figure was named 입원환자, carried on by this one through the
real functions: its history, ``state/latest``, chart, held alerts and an unfinished broadcast were all written
under ``covid_detections`` with "바이러스 검출" and 건 (tests/fixtures/database-before-inpatients.json, made by
that version's own scrape-once: see make_database_before_inpatients.py)."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from coronabot import sources as product_sources
from coronabot.adapters.storage import Database, key_order
from coronabot.config import Settings
from support import DATABASE_URL, FIXTURES, kdca_with, message, morning_now, tick, uploads

SNAPSHOT = json.loads((FIXTURES / "database-before-inpatients.json").read_text(encoding="utf-8"))
SOURCE = "kdca-sentinel"
KEY = "kdca-sentinel_2026-W39"
HOLDING = set(SNAPSHOT["_fixture"]["holding"])
CHATS = set(SNAPSHOT["subscribers"])
LEDGER = SNAPSHOT["deliveries"][KEY]
PENDING = CHATS - set(LEDGER)


@pytest.fixture
def upgraded(servers):
    """The test database as the older version left it."""
    db, _, _ = servers
    db.put("", {k: v for k, v in SNAPSHOT.items() if k != "_fixture"})
    return servers


def test_the_fixture_is_what_the_older_version_wrote():
    assert SNAPSHOT["state"]["latest"]["figures"][0]["key"] == "covid_detections"
    assert "검출" in SNAPSHOT["state"]["latest"]["figures"][0]["label"]
    assert "검출" in SNAPSHOT["broadcasts"][KEY]["text"] and "wording" not in SNAPSHOT["charts"][SOURCE]
    assert SNAPSHOT["state"]["broadcast"]["key"] == KEY and PENDING and HOLDING
    assert all(LEDGER[chat] == "held" for chat in HOLDING)


def test_an_older_database_goes_on_in_the_new_words_without_a_duplicate_or_a_gap(upgraded, extra_scrape, post):
    db, telegram, sources = upgraded
    before = post(message("/chart"))[1]
    assert "아직 그래프가 없습니다" in before["text"], "a chart drawn with the older words is never shown"
    scrape = extra_scrape(CHARTS="on", QUIET_HOURS=morning_now())
    status, summary = tick(scrape)
    assert (status, summary["status"], summary["sent"]) == (200, "resumed", len(PENDING)), summary
    assert summary["morning"]["sent"] == len(HOLDING), "the held alerts go in the morning"
    sent = telegram.sent()
    assert Counter(str(m["chat_id"]) for m in sent) == Counter(PENDING | HOLDING), "nobody served is served again"
    assert not any("검출" in m["text"] for m in sent), "no message in the older words"
    resumed = [m for m in sent if str(m["chat_id"]) in PENDING]
    assert all("코로나19 입원환자: <b>248명</b>" in m["text"] and "2026년 39주 (9월 20일~26일)" in m["text"]
               for m in resumed)
    morning = [m for m in sent if str(m["chat_id"]) in HOLDING]
    assert all(m["text"].startswith("🌅") and "2026년 38주, 2026년 39주" in m["text"] and "248명" in m["text"]
               for m in morning)
    assert len(uploads(telegram)) == 1, "the chart is drawn again in the new words, uploaded once"
    assert db.get(f"broadcasts/{KEY}/done") is True and not db.get("state/broadcast")
    assert db.get(f"charts/{SOURCE}/wording") == 2

    status, summary = tick(scrape)
    assert (status, summary["status"]) == (200, "unchanged"), "the renamed figure is not taken for a correction"
    assert len(telegram.sent()) == len(sent)

    now = post(message("/now"))[1]["text"]
    assert "코로나19 입원환자: <b>248명</b>" in now and "전주(38주, 9월 13일~19일): 337명" in now and "검출" not in now
    table = post(message("/history"))[1]["text"]
    rows = table.split("<pre>")[1].split("</pre>")[0].splitlines()
    assert len(rows) == 12 and all(row.split()[-1][0] in "▲▼―" for row in rows), "a change on every row: no gap"
    assert all("명" in row for row in rows) and "건" not in table
    series = product_sources.trend(db.get(f"history/{SOURCE}"), SOURCE)
    assert len(series) == 104 and all(p.unit == "명" for p in series)
    chart = post(message("/chart"))[1]
    assert chart["method"] == "sendPhoto" and "입원환자" in chart["caption"]


def test_a_correction_of_a_week_the_older_version_recorded_is_sent_once_in_the_new_words(upgraded, extra_scrape):
    db, telegram, sources = upgraded
    db.put("state/broadcast", None)
    db.put("state/held", None)
    db.put("held", None)
    sources.serve("kdca", kdca_with([(2026, 38, "337"), (2026, 39, "251")]))
    scrape = extra_scrape(QUIET_HOURS=morning_now())
    status, summary = tick(scrape)
    assert (status, summary["status"]) == (200, "corrected"), summary
    corrections = telegram.sent()
    assert Counter(str(m["chat_id"]) for m in corrections) == Counter(CHATS)
    assert all(m["text"].startswith("✏️ <b>정정</b>: 2026년 39주 (9월 20일~26일)") and "251명" in m["text"]
               and "검출" not in m["text"] for m in corrections)
    assert tick(scrape)[1]["status"] == "unchanged" and len(telegram.sent()) == len(corrections)


def test_the_languages_migration_marks_earlier_subscribers_korean_resumably_and_loses_nothing(upgraded,
                                                                                           database_server):
    """The database of before languages: a run cut short goes on where it stopped, a chat's own choice is
    kept, a second run changes nothing, and the subscribers still read in key order."""
    db = upgraded[0]
    chose = sorted(CHATS)[3]
    db.put("languages", {chose: "en", "5999999999": "en"})  # one subscriber chose English; one other chat did
    database = Database(Settings(database_url=DATABASE_URL, emulator_host=database_server.base.removeprefix(
        "http://")), light=True)
    runs, marked, done = 0, 0, False
    while not done:
        progress = db.get("state/migrations/languages") or {}
        done, count = database.mark_languages(progress.get("after"), pages=1, at="2026-12-08T10:00:00+09:00", size=3)
        runs, marked = runs + 1, marked + count
    assert runs > 2 and marked == len(CHATS) - 1
    assert db.get("subscribers") == SNAPSHOT["subscribers"], "no subscription or choice changed"
    assert db.get("languages") == {**{chat: "ko" for chat in CHATS}, chose: "en", "5999999999": "en"}
    assert db.get("state/migrations/languages") == {"done_at": "2026-12-08T10:00:00+09:00"}
    assert database.mark_languages(None, pages=100, at="later", size=3) == (True, 0), "idempotent"
    assert db.get("languages") == {**{chat: "ko" for chat in CHATS}, chose: "en", "5999999999": "en"}
    read = [chat for page in database.pages("subscribers", size=3) for chat in page]
    assert read == sorted(CHATS, key=key_order), "a broadcast's pages still read the chats in key order"
