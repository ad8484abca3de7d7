"""Message texts: Korean, escaped HTML, separators, KST, lengths."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from coronabot import texts
from coronabot.model import history, preferences
from coronabot.model.announcement import Announcement, Figure
from coronabot.model.weeks import Week
from coronabot.sources import REGISTRY, restore


def sample(label: str = "누적 확진자") -> Announcement:
    return Announcement(source="mohw-daily", id="2021-06-05", order="2021-06-05", period="2021년 6월 5일 0시 기준",
                        figures=(Figure("confirmed_total", label, 143596, "cumulative"),
                                 Figure("confirmed_new", "신규 확진자(전일 대비)", 744, "new")),
                        url="http://ncov.mohw.go.kr/a?b=1&c=2", headline="코로나19 국내 발생 현황")


def test_numbers_and_times():
    assert texts.number(143596) == "143,596" and texts.number(7) == "7"
    assert texts.ko.kst(datetime(2026, 9, 30, 5, 5, tzinfo=UTC)) == "2026년 9월 30일 14:05 (KST)"


def test_alert_labels_and_escaping():
    text = texts.ko.alert(sample("누적 <확진자>"), REGISTRY["mohw-daily"])
    assert "누적 &lt;확진자&gt;: <b>143,596명</b>" in text
    assert "신규 확진자(전일 대비): <b>744명</b>" in text
    assert 'href="http://ncov.mohw.go.kr/a?b=1&amp;c=2"' in text
    assert text.index("143,596") < text.index("744")


def test_a_published_previous_period_is_shown_as_the_change_line():
    announcement = Announcement(
        source="kdca-sentinel", id="2026-W39", order="2026-W39", period="2026년 39주 (9월 20일~26일)",
        figures=(Figure("covid_inpatients", "코로나19 입원환자", 248, "weekly", "명",
                        compared_with="covid_inpatients_prev"),
                 Figure("covid_inpatients_prev", "전주(38주, 9월 13일~19일)", 337, "weekly", "명")),
        url="https://dportal.kdca.go.kr/pot/is/st/ari.do", headline="코로나19 입원환자 주간 발표 (표본감시)")
    lines = texts.ko.alert(announcement, REGISTRY["kdca-sentinel"]).splitlines()
    assert lines[1] == "2026년 39주 (9월 20일~26일)", "the week with its days"
    assert "• 코로나19 입원환자: <b>248명</b>" in lines
    assert "• 전주(38주, 9월 13일~19일): 337명 → 전주 대비 89명 감소" in lines
    assert sum("38주" in line for line in lines) == 1, "the previous week is not listed a second time"
    alone = announcement._replace(figures=announcement.figures[:1])
    assert "전주" not in texts.ko.alert(alone, REGISTRY["kdca-sentinel"]), \
        "without the previous week's figure there is no change line"


def test_about_names_each_source():
    for source in REGISTRY.values():
        text = texts.ko.about(source)
        assert source.words("ko").description in text and "발표한 그대로" in text, source.name


def test_record_round_trip():
    announcement = sample()
    assert restore(announcement.to_record()) == announcement
    assert announcement.to_record()["digest"] == sample().digest()
    corrected = (Figure("confirmed_total", "누적 확진자", 1, "cumulative"),)
    changed = announcement._replace(figures=corrected)
    assert changed.digest() != announcement.digest()


def test_split_keeps_every_line_under_the_limit():
    long = "\n".join(f"줄 {i} " + "가" * 50 for i in range(200))
    parts = texts.split(long)
    assert len(parts) > 1 and all(len(p) <= texts.MAX_MESSAGE_CHARS for p in parts)
    assert "\n".join(parts) == long
    assert texts.split("짧은 글") == ["짧은 글"]


def test_unknown_command_without_a_name():
    assert texts.ko.unknown_command(None).startswith("잘못된 명령어입니다")


@pytest.mark.parametrize("week, shown", [
    (Week(2027, 1), "2027년 1주 (12월 27일~1월 2일)"), (Week(2026, 38), "2026년 38주 (9월 13일~19일)"),
    (Week(2026, 40), "2026년 40주 (9월 27일~10월 3일)"), (Week(2022, 53), "2022년 53주 (12월 25일~31일)"),
])
def test_a_week_is_shown_with_its_days(week, shown):
    assert texts.ko.week_period(week) == shown
    assert texts.ko.period_label((*week, 0), dates=True) == shown


def test_every_text_that_explains_the_default_figure_names_hospitalised_patients():
    about = texts.ko.about(REGISTRY["kdca-sentinel"])
    assert "입원환자" in about and "약 220개 병원급" in about and "잠정" in about and "검출" not in about
    settings, _ = texts.ko.settings_view(REGISTRY["kdca-sentinel"], preferences.DEFAULTS, (22, 8))
    assert "코로나19 입원환자 수를 전주 수치와 비교" in settings
    kdca = REGISTRY["kdca-sentinel"]
    assert "입원환자" in kdca.words("ko").trend_title
    assert "입원환자" in texts.ko.chart_caption(kdca, {"order": "2026-W39"})
    point = history.Point("2026-W39", (2026, 39, 0), 248, "weekly", "명")
    labels = texts.ko.chart_labels(REGISTRY["kdca-sentinel"], point)
    assert labels["y"] == "주간 입원환자 수 (명)" and labels["current"] == "2026년 39주 (9월 20일~26일): 248명"
    assert "국내 전체 환자 수가 아닙니다" in labels["note"]
