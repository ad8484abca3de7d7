"""Message texts: Korean, escaped HTML, separators, KST, lengths."""

from __future__ import annotations

from datetime import UTC, datetime

from coronabot import texts
from coronabot.announcement import Announcement, Figure


def sample(label: str = "누적 확진자") -> Announcement:
    return Announcement(source="mohw-daily", id="2021-06-05", order="2021-06-05", period="2021년 6월 5일 0시 기준",
                        figures=(Figure("confirmed_total", label, 143596, "cumulative"),
                                 Figure("confirmed_new", "신규 확진자(전일 대비)", 744, "new")),
                        url="http://ncov.mohw.go.kr/a?b=1&c=2", headline="코로나19 국내 발생 현황")


def test_numbers_and_times():
    assert texts.number(143596) == "143,596" and texts.number(7) == "7"
    assert texts.kst(datetime(2026, 9, 30, 5, 5, tzinfo=UTC)) == "2026년 9월 30일 14:05 (KST)"


def test_alert_labels_and_escaping():
    text = texts.alert(sample("누적 <확진자>"))
    assert "누적 &lt;확진자&gt;: <b>143,596명</b>" in text
    assert "신규 확진자(전일 대비): <b>744명</b>" in text
    assert 'href="http://ncov.mohw.go.kr/a?b=1&amp;c=2"' in text
    assert text.index("143,596") < text.index("744")


def test_a_published_previous_period_is_shown_as_the_change_line():
    announcement = Announcement(
        source="kdca-sentinel", id="2026-W39", order="2026-W39", period="2026년 39주차",
        figures=(Figure("covid_detections", "코로나19 바이러스 검출(39주차)", 248, "weekly", "건",
                        compared_with="covid_detections_prev"),
                 Figure("covid_detections_prev", "전주(38주차) 검출", 337, "weekly", "건")),
        url="https://dportal.kdca.go.kr/pot/is/st/ari.do", headline="코로나19 표본감시 주간 발표")
    lines = texts.alert(announcement).splitlines()
    assert "• 코로나19 바이러스 검출(39주차): <b>248건</b>" in lines
    assert "• 전주(38주차) 검출: 337건 → 전주 대비 89건 감소" in lines
    assert sum("38주차" in line for line in lines) == 1, "the previous week is not listed a second time"
    alone = announcement._replace(figures=announcement.figures[:1])
    assert "전주" not in texts.alert(alone), "without the previous week's figure there is no change line"


def test_about_names_each_source():
    for source, description in texts.SOURCE_DESCRIPTIONS.items():
        text = texts.about(source)
        assert description in text and "발표한 그대로" in text, source


def test_record_round_trip():
    announcement = sample()
    assert Announcement.from_record(announcement.to_record()) == announcement
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
    assert texts.unknown_command(None).startswith("잘못된 명령어입니다")
