"""KDCA's calendar through the real scrape function, its clock moved to the 2026/2027 year boundary
(tests/clock/sitecustomize.py: time-machine, started before the function's code): the weeks it asks the
portal for, the alert's dates, and the weeks it must refuse before anyone is alerted."""

from __future__ import annotations

import os

import pytest

from coronabot_dev.harness import ROOT
from support import ADMIN, GROUP_CHAT, PRIVATE_CHAT, alerts_by_chat, kdca_with, subscribe, tick

CLOCK = str(ROOT / "tests" / "clock")
NEW_YEAR_SUNDAY = "2027-01-03T10:00:00+09:00"  # 2027 W1 (2026-12-27..2027-01-02) ended last night
INSIDE_2027_W1 = "2026-12-30T12:00:00+09:00"  # a Wednesday: 2026 W52 is the last week that has ended
DECEMBER_ROWS = [(2026, week, f"{300 + week}") for week in range(47, 53)]


@pytest.fixture
def scrape_at(extra_scrape):
    """A scrape function whose wall clock starts at the given moment (ISO 8601) and ticks from there."""
    def start(moment: str):
        path = os.pathsep.join(p for p in (CLOCK, os.environ.get("PYTHONPATH", "")) if p)
        return extra_scrape(CORONABOT_TEST_CLOCK=moment, PYTHONPATH=path)
    return start


def test_the_first_week_of_2027_is_asked_for_and_alerted_with_its_days(scrape_at, servers):
    db, telegram, sources = servers
    subscribe(db, [PRIVATE_CHAT, GROUP_CHAT])
    sources.serve("kdca", kdca_with([*DECEMBER_ROWS, (2027, 1, "412")]))
    sources.mode(ranges=True)
    mark = len(sources.requests())
    scrape = scrape_at(NEW_YEAR_SUNDAY)
    status, summary = tick(scrape)
    assert (status, summary["status"], summary["announcement"]) == (200, "alerted", "2027-W01"), summary
    assert summary["at"].startswith("2027-01-03T10:"), "the function ran on the moved clock"
    assert tick(scrape)[1]["status"] == "unchanged"
    posts = [r for r in sources.requests()[mark:] if r["method"] == "POST"]
    assert [p["weeks"] for p in posts] == [[[2026, 2], [2027, 1]], [[2026, 48], [2027, 1]]], \
        "the first tick's backfill: 52 weeks (2026 has 52); then the usual 6; both up to the last that has ended"
    text = telegram.sent()[0]["text"]
    assert "2027년 1주 (12월 27일~1월 2일)" in text and "코로나19 입원환자: <b>412명</b>" in text
    assert "전주(52주, 12월 20일~26일): 352명 → 전주 대비 60명 증가" in text
    assert alerts_by_chat(telegram) == {str(PRIVATE_CHAT): 1, str(GROUP_CHAT): 1}
    assert sorted(db.get("history/kdca-sentinel")) == [f"2026-W{w}" for w in range(47, 53)] + ["2027-W01"]


@pytest.mark.parametrize("moment, rows, error", [
    (INSIDE_2027_W1, [*DECEMBER_ROWS, (2027, 1, "412")], "the week 2027-W01 has not ended yet"),
    (NEW_YEAR_SUNDAY, [*DECEMBER_ROWS, (2026, 53, "412")], "2026 has no week 53"),
])
def test_a_running_week_or_one_kdca_never_has_is_refused_before_anyone_is_alerted(scrape_at, servers, moment,
                                                                                 rows, error):
    db, telegram, sources = servers
    subscribe(db, [PRIVATE_CHAT])
    sources.serve("kdca", kdca_with(rows))  # the whole answer, whatever was asked: a broken or hostile portal
    status, summary = tick(scrape_at(moment))
    assert status == 502 and summary["status"] == "error" and error in summary["error"], summary
    assert alerts_by_chat(telegram) == {} and db.get("state/latest") is None
    assert db.get("history/kdca-sentinel") is None, "a refused answer stores nothing"
    notices = [m["text"] for m in telegram.sent() if str(m["chat_id"]) == ADMIN]
    assert len(notices) == 1 and "출처 확인 실패" in notices[0] and error in notices[0]
