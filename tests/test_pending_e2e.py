"""KDCA's portal as it really answers (shared/samples/SOURCES.md §8), through the real scrape and webhook
functions, the local database, the fake Telegram and the source stand-in serving the real rows: a week that
has ended but is being counted ("집계 중") is the portal's ordinary state, never a failure."""

from __future__ import annotations

import itertools
import os
from datetime import timedelta

import pytest

import portal_answers as portal
from coronabot_dev.harness import ROOT
from support import (
    ADMIN,
    GROUP_CHAT,
    MIGRATED,
    PRIVATE_CHAT,
    alerts_by_chat,
    kst_now,
    recorded_week,
    seen_weekly,
    subscribe,
    tick,
)

POST = ("POST", "/pot/is/st/ariListAjax.do")
PAGE = ("GET", "/pot/is/st/ari.do")
W37_W39 = portal.ROWS_W37_W41[:3]
# KDCA's figure for W40 is not in the saved samples: 251 is made up, in the real W39 row's cells.
W40_PUBLISHED = [*W37_W39, portal.row(2026, 40, "251")]
_ids = itertools.count(780_000_001)


ENGLISH_CHAT = 1544020002  # a private chat whose Telegram is English: it reads English from the start


def said(text: str, code: str = "ko") -> dict:
    chat = ENGLISH_CHAT if code == "en" else PRIVATE_CHAT
    return {"update_id": next(_ids), "message": {
        "message_id": 9, "date": 1790000000, "text": text, "chat": {"id": chat, "type": "private"},
        "from": {"id": chat, "is_bot": False, "first_name": "지민", "language_code": code}}}


def notices(telegram) -> list[str]:
    return [m["text"] for m in telegram.sent() if str(m["chat_id"]) == ADMIN]


def requests_since(sources, mark: int) -> list[tuple[str, str]]:
    return [(r["method"], r["path"]) for r in sources.requests()[mark:]]


@pytest.fixture
def recorded_w39(scrape_function, servers):
    """W39 alerted to two chats and recorded, the session live: the state of the bot on a Monday."""
    db, telegram, sources = servers
    subscribe(db, [PRIVATE_CHAT, GROUP_CHAT])
    sources.serve("kdca", portal.text(W37_W39))
    assert tick(scrape_function)[1]["status"] == "alerted"
    telegram.reset()
    return scrape_function


def test_a_week_being_counted_is_a_200_with_one_request_no_notice_and_no_alert(recorded_w39, servers, post):
    db, telegram, sources = servers
    sources.serve("kdca", portal.text(portal.ROWS_W37_W41))  # the real call of 2026-10-06
    mark = len(sources.requests())
    for _ in range(3):
        status, summary = tick(recorded_w39)
        assert (status, summary["status"], summary["announcement"], summary["pending_week"]) == \
            (200, "pending", "2026-W39", "2026-W40"), summary
    assert requests_since(sources, mark) == [POST] * 3, "one request a tick on the live session"
    assert telegram.sent() == [] and notices(telegram) == []
    assert db.get("state/health") is None and db.get("state/last_tick/pending_week") == "2026-W40"
    assert db.get("state/latest/pending") == {"id": "2026-W40", "counting": True}
    assert db.get("history/kdca-sentinel/2026-W40") is None, "a week being counted is never stored as 0"

    now = post(said("/now"))[1]["text"]
    assert "<b>248명</b>" in now and "2026년 40주 (9월 27일~10월 3일)는 질병관리청이 집계 중입니다." in now
    english = post(said("/now", code="en"))[1]["text"]
    assert "KDCA is still counting 2026 week 40 (27 Sep – 3 Oct)." in english and "<b>248</b>" in english
    about = post(said("/about"))[1]["text"]
    assert "• 2026년 40주 (9월 27일~10월 3일)는 질병관리청이 집계 중입니다." in about


def test_the_week_published_later_alerts_each_chat_once_and_no_recovery_notice(recorded_w39, servers, post):
    db, telegram, sources = servers
    sources.serve("kdca", portal.text(portal.ROWS_W37_W41))
    assert tick(recorded_w39)[1]["status"] == "pending"
    sources.serve("kdca", portal.text(W40_PUBLISHED))
    status, summary = tick(recorded_w39)
    assert (status, summary["status"], summary["announcement"], summary["sent"]) == (200, "alerted", "2026-W40", 2)
    assert "pending_week" not in summary
    assert alerts_by_chat(telegram) == {str(PRIVATE_CHAT): 1, str(GROUP_CHAT): 1}
    assert "전주(39주, 9월 20일~26일): 248명 → 전주 대비 3명 증가" in telegram.sent()[0]["text"]
    assert notices(telegram) == [], "nothing failed, so nothing recovered"
    assert db.get("state/latest/id") == "2026-W40" and db.get("state/latest/pending") is None
    assert "집계 중" not in post(said("/now"))[1]["text"]
    assert tick(recorded_w39)[1]["status"] == "unchanged"
    assert alerts_by_chat(telegram) == {str(PRIVATE_CHAT): 1, str(GROUP_CHAT): 1}


def test_a_new_week_and_the_next_being_counted_in_one_answer_alert_once_and_keep_the_marker(scrape_function,
                                                                                           servers):
    db, telegram, sources = servers
    subscribe(db, [PRIVATE_CHAT])
    sources.serve("kdca", portal.text(portal.ROWS_W37_W41))
    status, summary = tick(scrape_function)
    assert (summary["status"], summary["announcement"], summary["pending_week"]) == ("alerted", "2026-W39",
                                                                                     "2026-W40")
    assert db.get("state/latest/pending") == {"id": "2026-W40", "counting": True}
    assert db.get("history/kdca-sentinel/2026-W39/pending") is None, "the marker is not part of the record"
    assert alerts_by_chat(telegram) == {str(PRIVATE_CHAT): 1}


def test_a_dash_in_the_latest_covid_cell_is_pending_not_published(recorded_w39, servers, post):
    db, telegram, sources = servers
    sources.serve("kdca", portal.text([*W37_W39, portal.row(2026, 40, "-")]))
    status, summary = tick(recorded_w39)
    assert (status, summary["status"], summary["pending_week"]) == (200, "pending", "2026-W40")
    assert db.get("state/latest/pending") == {"id": "2026-W40", "counting": False}
    assert "2026년 40주 (9월 27일~10월 3일) 수치는 아직 공개되지 않았습니다." in post(said("/now"))[1]["text"]
    assert telegram.sent() == []


def test_an_unknown_text_in_the_cell_is_one_notice_quoting_it_and_keeps_the_session(recorded_w39, servers):
    db, telegram, sources = servers
    sources.serve("kdca", portal.text([*W37_W39, portal.row(2026, 40, "확인 중")]))
    mark = len(sources.requests())
    for _ in range(2):
        status, summary = tick(recorded_w39)
        assert status == 502 and "'확인 중' is not a number" in summary["error"], summary
    assert requests_since(sources, mark) == [POST, POST], "a layout change is no reason to drop a good session"
    assert alerts_by_chat(telegram) == {}
    [notice] = notices(telegram)
    assert "확인 중" in notice and "출처 확인 실패" in notice
    assert db.get("state/latest/id") == "2026-W39"


def test_a_week_turned_back_into_being_counted_keeps_what_was_stored_and_sends_nothing(recorded_w39, servers):
    db, telegram, sources = servers
    sources.serve("kdca", portal.text(W40_PUBLISHED))
    assert tick(recorded_w39)[1]["status"] == "alerted"
    stored = db.get("history/kdca-sentinel/2026-W40")
    telegram.reset()
    sources.serve("kdca", portal.text(portal.ROWS_W37_W41))
    status, summary = tick(recorded_w39)
    assert (status, summary["status"], summary["announcement"]) == (200, "unchanged", "2026-W39"), summary
    assert "pending_week" not in summary and db.get("state/latest/pending") is None
    assert db.get("history/kdca-sentinel/2026-W40") == stored and db.get("state/latest/id") == "2026-W40"
    assert telegram.sent() == []


def test_a_placeholder_in_an_older_row_never_removes_or_corrects_a_stored_figure(recorded_w39, servers):
    db, telegram, sources = servers
    before = db.get("history/kdca-sentinel")
    assert before["2026-W38"]["figures"]["covid_inpatients"] == 337
    sources.serve("kdca", portal.text([portal.row(2026, 37, "308"), portal.counting(2026, 38),
                                       portal.row(2026, 39, "248")]))
    status, summary = tick(recorded_w39)
    assert (status, summary["status"]) == (200, "unchanged"), "W39 lost its comparison for now: no correction"
    after = db.get("history/kdca-sentinel")
    assert {week: after[week]["figures"] for week in before} == {week: before[week]["figures"] for week in before}
    assert telegram.sent() == []


def test_a_page_that_sets_no_session_cookie_is_a_fetch_error_that_says_so(scrape_function, servers):
    db, telegram, sources = servers
    sources.mode(no_session=True, forget_sessions=True)  # the warm function's session has expired too
    mark = len(sources.requests())
    status, summary = tick(scrape_function)
    assert status == 502 and "set no session cookie" in summary["error"] and summary["error"].startswith("fetch")
    assert requests_since(sources, mark)[-1] == PAGE, "no POST without a session"
    assert len(requests_since(sources, mark)) <= 2 and telegram.sent() == [], "a fetch error: no notice at once"


def test_an_expired_session_during_a_week_being_counted_is_renewed_once(recorded_w39, servers):
    db, telegram, sources = servers
    sources.serve("kdca", portal.text(portal.ROWS_W37_W41))
    sources.mode(forget_sessions=True)
    mark = len(sources.requests())
    status, summary = tick(recorded_w39)
    assert (status, summary["status"]) == (200, "pending")
    assert requests_since(sources, mark) == [POST, PAGE, POST], "at most three requests"
    mark = len(sources.requests())
    assert tick(recorded_w39)[1]["status"] == "pending" and requests_since(sources, mark) == [POST]
    assert notices(telegram) == []


@pytest.fixture
def scrape_at(extra_scrape):
    """A scrape function whose wall clock starts at the given moment (tests/clock/sitecustomize.py)."""
    def start(moment: str):
        path = os.pathsep.join(p for p in (str(ROOT / "tests" / "clock"), os.environ.get("PYTHONPATH", "")) if p)
        return extra_scrape(CORONABOT_TEST_CLOCK=moment, PYTHONPATH=path)
    return start


def test_a_week_being_counted_at_the_year_boundary_has_its_right_days(scrape_at, servers, post):
    """Wednesday 2026-12-30 runs in 2027 W1 (12-27..01-02): 2026 W52 (12-20..26) has ended and is counted."""
    db, telegram, sources = servers
    subscribe(db, [PRIVATE_CHAT])
    rows = [portal.row(2026, week, str(300 + week)) for week in range(47, 52)] + [portal.counting(2026, 52)]
    sources.serve("kdca", portal.text(rows))
    sources.mode(ranges=True)
    scrape = scrape_at("2026-12-30T12:00:00+09:00")
    status, summary = tick(scrape)
    assert (status, summary["status"], summary["announcement"], summary["pending_week"]) == \
        (200, "alerted", "2026-W51", "2026-W52"), summary
    assert sources.requests()[-1]["weeks"][1] == [2026, 52], "asked up to the last week that has ended"
    status, summary = tick(scrape)
    assert (summary["status"], summary["pending_week"]) == ("pending", "2026-W52")
    assert "2026년 52주 (12월 20일~26일)는 질병관리청이 집계 중입니다." in post(said("/now"))[1]["text"]
    assert "KDCA is still counting 2026 week 52 (20–26 Dec)." in post(said("/now", code="en"))[1]["text"]
    assert alerts_by_chat(telegram) == {str(PRIVATE_CHAT): 1} and notices(telegram) == []


def test_a_week_counted_past_its_expected_window_is_late_not_failing(servers, extra_scrape):
    """The publication model counts a tick that finds the week being counted as "not published yet": past the
    expected window by LATE_NOTICE_HOURS the admins hear once that it is late (never that the source fails),
    and once more when it comes."""
    db, telegram, sources = servers
    subscribe(db, [PRIVATE_CHAT])
    now = kst_now()
    window_day = (now - timedelta(days=1)).replace(hour=9, minute=0, second=0, microsecond=0)
    db.put("state", {"latest": recorded_week(39), "migrations": MIGRATED,
                     "seen": {"kdca-sentinel": seen_weekly(window_day - timedelta(weeks=1))}})
    sources.serve("kdca", portal.text(portal.ROWS_W37_W41))
    function = extra_scrape(POLLING="adaptive", TZ="America/Los_Angeles")
    status, summary = tick(function)
    assert (status, summary["status"], summary["pending_week"]) == (200, "pending", "2026-W40"), summary
    [late] = notices(telegram)
    assert "예상 시각보다 늦어지고 있습니다" in late and "출처 확인 실패" not in late
    assert db.get("state/health") is None and db.get("state/seen/kdca-sentinel") == seen_weekly(
        window_day - timedelta(weeks=1)), "a week being counted is no publication the model learns from"
    sources.serve("kdca", portal.text(W40_PUBLISHED))
    db.put("state/last_fetch_at", None)
    assert tick(function)[1]["status"] == "alerted"
    assert len(notices(telegram)) == 2 and "늦어진 발표가 나왔습니다" in notices(telegram)[1]
    assert alerts_by_chat(telegram) == {str(PRIVATE_CHAT): 1}
