"""docs/architecture.md's "How to add a source", followed once: a fourth source registered through the one
registry runs a whole tick (check, record, alert, history) with nothing else changed; the local database and
the fake Bot API are real processes, the tick runs in this process (the registry is this process's)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from coronabot import sources, texts
from coronabot.config import Settings
from coronabot.model.announcement import Announcement, Figure
from coronabot.model.weeks import Week
from coronabot.sources import Source, SourceTexts
from coronabot.tick.ticker import Ticker
from support import DATABASE_URL, PRIVATE_CHAT

PUBLISHED = {Week(2026, 47): 120, Week(2026, 48): 150}


def fetch_series(http, cache, now, weeks: int = 6) -> list[Announcement]:
    """A weekly series as a source module's fetch_series gives it, oldest first."""
    series = []
    for week, value in sorted(PUBLISHED.items()):
        before = PUBLISHED.get(week.previous())
        figures = [Figure("cases", "시험 환자", value, "weekly", "명", compared_with="cases_prev" if before else "")]
        if before is not None:
            figures.append(Figure("cases_prev", "전주 시험 환자", before, "weekly", "명"))
        series.append(Announcement("test-weekly", week.order, week.order, texts.ko.week_period(week), tuple(figures),
                                   "https://example.invalid/weekly", "시험 출처 주간 발표"))
    return series


FOURTH = Source(name="test-weekly", official_url="https://example.invalid/weekly", cadence="weekly",
                trend_figure="cases", compared=True, fetch=lambda http, cache, now: fetch_series(http, cache, now)[-1],
                fetch_series=fetch_series,
                texts={"ko": SourceTexts(name="시험 출처", description="시험용 출처입니다", trend_title="시험 환자 수",
                                         previous="전주"),
                       "en": SourceTexts(name="Test source", description="A source for the tests",
                                         trend_title="Test patients", previous="the week before",
                                         headline="Test patients, weekly",
                                         figures={"cases": "Test patients", "cases_prev": "Week before ({previous})"})})


@pytest.fixture
def registered(monkeypatch):
    monkeypatch.setitem(sources.REGISTRY, FOURTH.name, FOURTH)
    return FOURTH


def test_a_fourth_source_runs_a_whole_tick_through_the_registry(registered, database_server, telegram_server,
                                                                  servers, token, monkeypatch):
    db_host = database_server.base.removeprefix("http://")
    monkeypatch.setenv("FIREBASE_DATABASE_EMULATOR_HOST", db_host)
    database_server.put("subscribers", {str(PRIVATE_CHAT): {"since": "2026-11-30T09:00:00+09:00",
                                                           "chat_type": "private"}})
    settings = Settings(telegram_token=token, api_base=telegram_server.url, database_url=DATABASE_URL,
                        emulator_host=db_host, source=FOURTH.name, polling="always", charts=False)
    summary = Ticker(settings).tick(datetime(2026, 12, 6, 3, tzinfo=UTC))
    assert (summary.status, summary.announcement, summary.http_status) == ("alerted", "2026-W48", 200)
    alert = telegram_server.sent()[0]["text"]
    assert "시험 출처 주간 발표" in alert and "2026년 48주 (11월 22일~28일)" in alert
    assert "시험 환자: <b>150명</b>" in alert
    assert "전주 대비 30명 증가" in alert and "출처: <a href=\"https://example.invalid/weekly\">시험 출처</a>" in alert
    assert sorted(database_server.get(f"history/{FOURTH.name}")) == ["2026-W47", "2026-W48"]
    assert texts.ko.about(FOURTH).count("시험용 출처입니다") == 1
