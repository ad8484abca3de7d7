"""The trend: periods read from history records, changes, direction, the /history text, the chart's series.
Pure functions, so no process boundary: called directly."""

from __future__ import annotations

import json

import pytest

from coronabot import sources, texts
from coronabot.adapters.storage import history_changes
from coronabot.chat.commands import Action, recognise
from coronabot.model import history
from coronabot.sources import REGISTRY, kdca_sentinel
from support import FIXTURES

TWO_YEARS = json.loads((FIXTURES / "kdca-ari-2024-w40-2026-w39-synthetic.json").read_text(encoding="utf-8"))


def weekly(values: list[int], year: int = 2026, first_week: int = 30) -> list[history.Point]:
    return [history.Point(f"{year}-W{first_week + i:02d}", (year, first_week + i, 0), v, "weekly", "명")
            for i, v in enumerate(values)]


def test_the_two_year_fixture_parses_as_104_weeks_ending_with_the_real_sample():
    series = kdca_sentinel.parse_series(TWO_YEARS)
    assert len(series) == 104 and series[0].id == "2024-W40" and series[-1].id == "2026-W39"
    assert [a.figure("covid_inpatients").value for a in series[-5:]] == [115, 196, 308, 337, 248]
    assert series[-1] == kdca_sentinel.parse(TWO_YEARS)
    # every week carries the week before it, across the year boundary too
    first_of_2025 = next(a for a in series if a.id == "2025-W01")
    assert first_of_2025.figure("covid_inpatients_prev").label == "전주(52주, 12월 22일~28일)"


def test_the_trend_reads_records_of_every_shape_and_skips_damaged_ones():
    records = {a.id: a.to_record() for a in kdca_sentinel.parse_series(TWO_YEARS)[-3:]}
    records["2026-W36"] = {"source": "kdca-sentinel", "id": "2026-W36", "order": "2026-W36", "figures": "broken"}
    records["2026-W35"] = dict(records["2026-W37"], id="2026-W35", order="2026-W35",  # an earlier version's list
                               figures={"0": {"key": "covid_inpatients", "label": "코로나19 입원환자", "value": 115}})
    records["junk"] = ["not", "a", "record"]
    found = sources.trend(records, "kdca-sentinel")
    assert [(p.id, p.value, p.unit) for p in found] == [("2026-W35", 115, "명"), ("2026-W37", 308, "명"),
                                                         ("2026-W38", 337, "명"), ("2026-W39", 248, "명")]
    assert sources.trend(None, "kdca-sentinel") == [] and history.points([], "no_such_figure") == []


def test_changes_only_between_consecutive_periods_and_never_for_a_cumulative_series():
    a, b, c = weekly([10, 15, 15])
    gap = history.Point("2026-W40", (2026, 40, 0), 9, "weekly", "명")
    assert history.change(a, b) == 5 and history.change(b, c) == 0 and history.change(None, a) is None
    assert history.change(c, gap) is None  # weeks 33..39 are missing
    year_end = history.Point("2025-W52", (2025, 52, 0), 1, "weekly", "명")
    new_year = history.Point("2026-W01", (2026, 1, 0), 3, "weekly", "명")
    assert history.change(year_end, new_year) == 2
    w = {key: history.Point(f"{key[0]}-W{key[1]:02d}", (*key, 0), 1, "weekly", "명")
         for key in ((2022, 52), (2022, 53), (2023, 1), (2026, 52), (2027, 1))}
    assert history.follows(w[2022, 52], w[2022, 53]) and history.follows(w[2022, 53], w[2023, 1])
    assert not history.follows(w[2022, 52], w[2023, 1]), "2022 had 53 weeks: its week 52 is two weeks before"
    assert history.follows(w[2026, 52], w[2027, 1])
    assert history.year_before(w[2027, 1]) == (2026, 1, 0) and history.year_before(w[2022, 53]) == (2021, 52, 0)
    day1 = history.Point("2021-06-04", (2021, 6, 4), 142852, "cumulative", "명")
    day2 = history.Point("2021-06-05", (2021, 6, 5), 143596, "cumulative", "명")
    assert history.follows(day1, day2) and history.change(day1, day2) is None


@pytest.mark.parametrize(("values", "trend", "rises", "falls"), [
    ([100, 110, 130, 120, 200], "rising", 3, 1),
    ([300, 250, 260, 200, 150], "falling", 1, 3),
    ([100, 104, 98, 101, 103], "flat", 3, 1),
    ([0, 0, 0, 0, 5], "rising", 1, 0),
])
def test_the_direction_over_four_periods(values, trend, rises, falls):
    found = history.direction(weekly(values))
    assert (found.trend, found.rises, found.falls) == (trend, rises, falls)
    assert (found.first.value, found.last.value) == (values[0], values[-1])


def test_no_direction_with_too_few_periods_a_gap_or_cumulative_figures():
    assert history.direction(weekly([1, 2, 3, 4])) is None
    with_gap = weekly([1, 2, 3]) + weekly([4, 5], first_week=40)
    assert history.direction(with_gap) is None
    cumulative = [p._replace(kind="cumulative") for p in weekly([1, 2, 3, 4, 5])]
    assert history.direction(cumulative) is None


def test_history_text_for_rising_falling_and_flat_series():
    rising = weekly([58, 65, 78, 94, 105, 105, 96, 115, 196, 308, 337, 400, 450])
    text = texts.ko.history(REGISTRY["kdca-sentinel"], rising, history.direction(rising))
    table = text.split("<pre>")[1].split("</pre>")[0].splitlines()
    assert len(table) == 12, "the last 12 weeks; the 13th read gives the first one its change"
    assert table[0] == "2026년 31주 7.26~8.1      65명  ▲7", "each week with its days (Sunday to Saturday)"
    assert table[5] == "2026년 36주 8.30~9.5      96명  ▼9" and table[4].endswith("―")
    assert table[-1] == "2026년 42주 10.11~10.17  450명  ▲50"
    assert "최근 4주: <b>📈 증가 추세</b> (4주 중 4주 증가·0주 감소, 2026년 38주 196명 → 2026년 42주 450명)" in text
    falling = weekly([400, 350, 300, 310, 200])
    assert "📉 감소 추세</b> (4주 중 1주 증가·3주 감소, 2026년 30주 400명 → 2026년 34주 200명)" in texts.ko.history(
        REGISTRY["kdca-sentinel"], falling, history.direction(falling))
    flat = weekly([100, 104, 98, 101, 103])
    assert "➡️ 큰 변화 없음" in texts.ko.history(REGISTRY["kdca-sentinel"], flat, history.direction(flat))
    assert texts.ko.history(REGISTRY["kdca-sentinel"], [], None) == texts.ko.NO_HISTORY_YET


def test_history_text_of_a_cumulative_daily_series_shows_no_computed_difference():
    days = [history.Point(f"2021-07-{d:02d}", (2021, 7, d), v, "cumulative", "명")
            for d, v in ((21, 182265), (22, 184103))]
    text = texts.ko.history(REGISTRY["data-portal"], days, history.direction(days))
    assert "2021.07.22  184,103명" in text and "▲" not in text and "누적 수치입니다" in text


def test_the_chart_series_is_the_last_52_up_to_the_announcement_with_the_year_before():
    found = history.points(kdca_sentinel.parse_series(TWO_YEARS), "covid_inpatients")
    series = history.chart_series(found, "2026-W39")
    assert len(series.recent) == 52 and series.recent[0].id == "2025-W40" and series.recent[-1].id == "2026-W39"
    assert series.year_earlier[0].id == "2024-W40" and series.year_earlier[-1].id == "2025-W39"
    older = history.chart_series(found, "2025-W10")
    assert older.recent[-1].id == "2025-W10" and older.year_earlier[-1] is None  # no 2024-W10 in history
    assert history.chart_series(found[:1], found[0].id) is None and history.chart_series(found, "2030-W01") is None


def test_revised_periods_are_written_field_by_field_so_first_seen_stays():
    announcement = kdca_sentinel.parse_series(TWO_YEARS)[-2]
    changes = history_changes([announcement], "2026-10-01T14:00:00+09:00")
    assert "history/kdca-sentinel/2026-W38/figures" in changes
    assert not any(path.endswith(("/first_seen", "/recorded_at")) for path in changes)
    assert changes["history/kdca-sentinel/2026-W38/synced_at"] == "2026-10-01T14:00:00+09:00"
    revised = announcement._replace(figures=(announcement.figures[0]._replace(value=340), *announcement.figures[1:]))
    assert history.series_digest([announcement]) != history.series_digest([revised])


def test_captions_are_counted_as_telegram_counts_them():
    assert texts.caption_length("<b>a&amp;b</b>") == 3
    assert texts.caption_length("🦠") == 2  # one emoji, two UTF-16 code units


@pytest.mark.parametrize(("text", "private", "action"), [
    ("/history", False, Action.HISTORY), ("/trend", True, Action.HISTORY), ("/추이", True, Action.HISTORY),
    ("추이", False, Action.HISTORY), ("최근 기록", True, Action.HISTORY),
    ("요즘 코로나 늘고 있어?", True, Action.HISTORY),
    ("확진자 줄었어?", True, Action.HISTORY), ("/chart", False, Action.CHART), ("/그래프", True, Action.CHART),
    ("그래프", True, Action.CHART), ("차트", False, Action.CHART), ("/start chart", True, Action.CHART),
    ("요즘 코로나 어때?", True, Action.NOW), ("코로나 현황 알려줄래?", True, Action.NOW),
])
def test_history_and_chart_are_recognised_in_latin_korean_and_questions(text, private, action):
    assert recognise(text, private, lambda: "Bot").action is action


def test_trend_questions_are_answered_in_private_chats_only():
    assert recognise("요즘 코로나 늘고 있어?", False, lambda: "Bot") is None
