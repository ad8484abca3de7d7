"""Parsers against every saved sample, with the exact figures from shared/samples/SOURCES.md."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime

import pytest

import portal_answers as portal
from coronabot.model.weeks import Week
from coronabot.sources import (
    LayoutError,
    Pending,
    SanityError,
    check,
    data_portal,
    kdca_sentinel,
    mohw_daily,
    rebase_url,
    restore,
)
from coronabot.sources import (
    values as recorded_values,
)
from coronabot.sources._errors import parse_count
from coronabot.texts import KST
from support import FIXTURES


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def values(announcement) -> dict:
    return {f.key: f.value for f in announcement.figures}


def test_kdca_sentinel_sample():
    announcement = kdca_sentinel.parse(json.loads(fixture("kdca-dportal-ari-ListAjax-2026-w35-w39.json")))
    assert announcement.id == "2026-W39" and announcement.order == "2026-W39"
    assert values(announcement) == {"covid_inpatients": 248, "covid_inpatients_prev": 337}
    assert announcement.period == "2026년 39주 (9월 20일~26일)"
    assert [(f.label, f.unit) for f in announcement.figures] == [("코로나19 입원환자", "명"),
                                                                 ("전주(38주, 9월 13일~19일)", "명")]
    assert "약 220개 병원급 표본감시 의료기관" in announcement.note
    assert "국내 전체 환자 수가 아니며" in announcement.note
    assert "잠정" in announcement.note and "검출" not in announcement.note + announcement.headline
    assert announcement.url == "https://dportal.kdca.go.kr/pot/is/st/ari.do"


def test_kdca_sentinel_finds_the_column_by_caption_not_position():
    data = json.loads(fixture("kdca-dportal-ari-ListAjax-2026-w35-w39.json"))
    value = data["value"]
    value["captionList"].insert(0, value["captionList"].pop())
    for row in value["data"]:
        columns = [row[f"COLUMN{i}"] for i in range(1, 13)]
        columns.insert(0, columns.pop())
        row.update({f"COLUMN{i}": v for i, v in enumerate(columns, start=1)})
    assert values(kdca_sentinel.parse(data)) == {"covid_inpatients": 248, "covid_inpatients_prev": 337}


@pytest.mark.parametrize("mutate, message", [
    (lambda d: d["value"].update(captionList=[c for c in d["value"]["captionList"] if "코로나19" not in c]),
     "COVID-19 caption"),
    (lambda d: d["value"].update(data=[]), "empty"),
    (lambda d: d.update(result=False), "result: true"),
    (lambda d: d.update(value=None), "result: true"),
    (lambda d: d["value"]["data"][-1].update(COLUMN12="n/a"), "is not a number"),
    (lambda d: [r.update(COLUMN12="-") for r in d["value"]["data"]], "no week has a COVID-19 value"),
    (lambda d: d["value"]["data"][0].pop("SUBTITLE"), "year/week"),
])
def test_kdca_sentinel_refuses_unexpected_answers(mutate, message):
    data = json.loads(fixture("kdca-dportal-ari-ListAjax-2026-w35-w39.json"))
    mutate(data)
    with pytest.raises(LayoutError, match=message):
        kdca_sentinel.parse(data)


def test_kdca_sentinel_skips_a_week_not_yet_published():
    data = json.loads(fixture("kdca-dportal-ari-ListAjax-2026-w35-w39.json"))
    data["value"]["data"].append(dict(data["value"]["data"][-1], SUBTITLE="40", COLUMN12=""))
    assert kdca_sentinel.parse(data).id == "2026-W39"


def test_kdca_sentinel_query_spans_the_year_boundary():
    query = kdca_sentinel.query(datetime(2026, 1, 10, tzinfo=KST))  # Saturday of 2026 W2: W1 is the last ended
    assert (query["startYear"], query["startWeek"], query["endYear"], query["endWeek"], query["dayCheck"]) == \
        ("2025", "48", "2026", "01", "1")


def test_mohw_daily_sample():
    announcement = mohw_daily.parse(fixture("mohw-bdBoardList_Real-brdGubun11-2021-06-05.html"),
                                    datetime(2021, 6, 5, 9, 0, tzinfo=KST))
    assert announcement.id == "2021-06-05" and announcement.period == "2021년 6월 5일 0시 기준"
    assert values(announcement) == {"confirmed_total": 143596, "confirmed_new": 744, "deaths_total": 1971}
    labels = {f.key: f.label for f in announcement.figures}
    assert labels["confirmed_total"].startswith("누적") and labels["confirmed_new"].startswith("신규")


def test_mohw_daily_year_is_resolved_around_new_year():
    page = fixture("mohw-bdBoardList_Real-brdGubun11-2021-06-05.html").decode("utf-8")
    december = page.replace("(6.5. 00시 기준)", "(12.31. 00시 기준)")
    assert mohw_daily.parse(december, datetime(2022, 1, 1, 8, 0, tzinfo=KST)).id == "2021-12-31"
    assert mohw_daily.parse(page, datetime(2021, 6, 4, 23, 50, tzinfo=KST)).id == "2021-06-05"


def test_mohw_daily_refuses_the_deaths_first_layout():
    page = fixture("mohw-bdBoardList_Real-2021-11-layout-synthetic.html")
    with pytest.raises(LayoutError, match="확진환자"):
        mohw_daily.parse(page, datetime(2021, 11, 16, 9, 0, tzinfo=KST))


@pytest.mark.parametrize("edit, message", [
    (lambda p: p.replace('class="caseTable"', 'class="other"'), "caseTable"),
    (lambda p: p.replace("<dt class=\"ca_subtit\">전일대비</dt>", "<dt class=\"ca_subtit\">증감</dt>", 1), "전일대비"),
    (lambda p: p.replace("143,596", "십사만", 1), "is not a number"),
    (lambda p: p.replace("(6.5. 00시 기준)", "(집계 중)"), "as-of date"),
])
def test_mohw_daily_refuses_broken_pages(edit, message):
    page = edit(fixture("mohw-bdBoardList_Real-brdGubun11-2021-06-05.html").decode("utf-8"))
    with pytest.raises(LayoutError, match=message):
        mohw_daily.parse(page, datetime(2021, 6, 5, 9, 0, tzinfo=KST))


def test_data_portal_samples():
    pretty = data_portal.parse(fixture("api-getCovid19InfStateJson-2021-07-22-pretty-extracted.xml"))
    assert pretty.id == "2021-07-22"
    assert values(pretty) == {"confirmed_total": 184103, "deaths_total": 2063}
    single = data_portal.parse(fixture("api-getCovid19InfStateJson-2020-03-10-singleline-extracted.xml"))
    assert single.id == "2020-03-10"
    assert values(single) == {"confirmed_total": 7513, "deaths_total": 54}
    assert all(f.kind == "cumulative" for f in single.figures), "the API publishes no daily figure"


@pytest.mark.parametrize("xml, message", [
    (b"<html><body>error</body></html>", "resultCode"),
    (b"<response><header><resultCode>00</resultCode></header><body><items/></body></response>", "no item"),
    (b"not xml at all", "not XML"),
])
def test_data_portal_refuses_broken_answers(xml, message):
    with pytest.raises(LayoutError, match=message):
        data_portal.parse(xml)


TODAY = date(2026, 11, 29)


def test_sanity_checks():
    announcement = data_portal.parse(fixture("api-getCovid19InfStateJson-2021-07-22-pretty-extracted.xml"))
    earlier = data_portal.parse(fixture("api-getCovid19InfStateJson-2020-03-10-singleline-extracted.xml"))
    check(announcement, earlier.to_record(), TODAY)
    bigger = dict(announcement.to_record(), order="2021-07-21")
    bigger["figures"] = {key: value + 10 for key, value in bigger["figures"].items()}
    with pytest.raises(SanityError, match="went backwards"):
        check(announcement, bigger, TODAY)


def test_an_announcement_dated_in_the_future_is_refused():
    """A typo in the source's year would make every real later announcement look old; a week that has not
    ended in Seoul has no figure yet."""
    weekly = kdca_sentinel.parse(json.loads(fixture("kdca-dportal-ari-ListAjax-2026-w35-w39.json")))
    check(weekly, None, TODAY)
    check(weekly._replace(order="2026-W48"), None, TODAY)  # 2026-11-22..28, ended yesterday
    with pytest.raises(SanityError, match="has not ended"):
        check(weekly._replace(order="2026-W49"), None, TODAY)  # this week, begun today (a Sunday)
    for order in ("2026-W50", "2062-W39"):
        with pytest.raises(SanityError, match="dated in the future"):
            check(weekly._replace(order=order), None, TODAY)
    with pytest.raises(SanityError, match="has not ended"):
        check(weekly._replace(order="2026-W48"), None, date(2026, 11, 28))  # its Saturday: not over in Seoul
    daily = mohw_daily.parse(fixture("mohw-bdBoardList_Real-brdGubun11-2021-06-05.html"),
                             datetime(2021, 6, 5, 10, tzinfo=KST))
    check(daily, None, date(2021, 6, 5))
    with pytest.raises(SanityError, match="dated in the future"):
        check(daily, None, date(2021, 6, 3))
    with pytest.raises(SanityError, match="unreadable"):
        check(daily._replace(order="someday"), None, TODAY)


def test_parse_count_and_rebase_url():
    assert parse_count("+ 744", "x") == 744 and parse_count("1,162", "x") == 1162
    with pytest.raises(LayoutError, match="no value"):
        parse_count("--", "x")
    assert rebase_url("https://dportal.kdca.go.kr/pot/is/st/ari.do", "http://127.0.0.1:8123") == \
        "http://127.0.0.1:8123/pot/is/st/ari.do"
    assert rebase_url(mohw_daily.OFFICIAL_URL, "http://127.0.0.1:9") == \
        "http://127.0.0.1:9/bdBoardList_Real.do?brdId=1&brdGubun=11"


@pytest.mark.parametrize("order", ["26-W47", "2026-W54", "2026-W53", "2025-W53", "2026-W00", "2026-13-01",
                                   "0026-W01", "2019-W40"])
def test_orders_that_cannot_be_a_week_or_a_day_of_covid_reporting_are_refused(order):
    announcement = kdca_sentinel.parse(json.loads(fixture("kdca-dportal-ari-ListAjax-2026-w35-w39.json")))
    with pytest.raises(SanityError):
        check(announcement._replace(order=order, id=order), None, date(2026, 10, 1))


def test_a_week_kdca_calendar_does_not_have_is_refused_but_2022_w53_is_not():
    announcement = kdca_sentinel.parse(json.loads(fixture("kdca-dportal-ari-ListAjax-2026-w35-w39.json")))
    with pytest.raises(SanityError, match="2026 has no week 53"):
        check(announcement._replace(order="2026-W53", id="2026-W53"), None, date(2027, 1, 10))
    check(announcement._replace(order="2022-W53", id="2022-W53"), None, date(2023, 1, 1))


@pytest.mark.parametrize("now, weeks, asked", [
    (datetime(2026, 12, 6, 9, tzinfo=KST), 6, ("2026", "44", "2026", "49")),  # a Sunday: W50 has just begun
    (datetime(2026, 12, 5, 23, tzinfo=KST), 6, ("2026", "43", "2026", "48")),  # Saturday night: W49 still runs
    (datetime(2027, 1, 3, 10, tzinfo=KST), 6, ("2026", "48", "2027", "01")),  # 2027 W1 ended on 1-2
    (datetime(2026, 12, 30, 10, tzinfo=KST), 6, ("2026", "47", "2026", "52")),  # inside 2027 W1
    (datetime(2026, 10, 1, 10, tzinfo=KST), 52, ("2025", "40", "2026", "39")),  # a backfill of a year
    (datetime(2023, 1, 8, 10, tzinfo=KST), 2, ("2022", "53", "2023", "01")),
])
def test_the_portal_is_asked_for_weeks_that_have_ended_on_kdca_calendar(now, weeks, asked):
    form = kdca_sentinel.query(now, weeks)
    assert (form["startYear"], form["startWeek"], form["endYear"], form["endWeek"]) == asked


def test_a_record_written_before_the_figure_was_named_inpatients_is_read_in_the_new_words():
    """Records of earlier versions say "바이러스 검출" under covid_detections: read, they are this version's."""
    legacy = {"source": "kdca-sentinel", "id": "2026-W39", "order": "2026-W39",
              "period": "2026년 39주차 (주간 표본감시)",
              "figures": [{"key": "covid_detections", "label": "코로나19 바이러스 검출(39주차)", "value": 248,
                           "kind": "weekly", "unit": "건", "compared_with": "covid_detections_prev"},
                          {"key": "covid_detections_prev", "label": "전주(38주차) 검출", "value": 337,
                           "kind": "weekly", "unit": "건", "compared_with": ""}],
              "url": kdca_sentinel.PAGE_URL, "headline": "코로나19 표본감시 주간 발표", "note": "…검출된 … 건수입니다.",
              "digest": "0123456789abcdef", "first_seen": "2026-09-30T14:05:00+09:00"}
    current = kdca_sentinel.parse(json.loads(fixture("kdca-dportal-ari-ListAjax-2026-w35-w39.json")))
    assert restore(legacy) == current
    assert recorded_values(legacy) == current.values(), "the values it published, by the keys of now"
    assert not current.revises(recorded_values(legacy)), "so no correction"
    for damaged in ({"source": "kdca-sentinel", "id": "2026-W39", "figures": "damaged"}, None, [],
                    {"source": "kdca-sentinel", "id": "2026-W38", "order": "2026-W39",
                     "figures": {"covid_inpatients": 1}}):
        with pytest.raises(ValueError):
            restore(damaged)


def test_a_record_holds_values_and_reads_back_in_the_words_of_now():
    current = kdca_sentinel.parse(json.loads(fixture("kdca-dportal-ari-ListAjax-2026-w35-w39.json")))
    record = current.to_record()
    assert record == {"source": "kdca-sentinel", "id": "2026-W39", "order": "2026-W39",
                      "figures": {"covid_inpatients": 248, "covid_inpatients_prev": 337},
                      "url": kdca_sentinel.PAGE_URL, "digest": current.digest()}
    assert not any(isinstance(v, str) and any("가" <= c <= "힣" for c in v) for v in record.values()), "no words"
    assert restore(record) == current
    daily = mohw_daily.parse(fixture("mohw-bdBoardList_Real-brdGubun11-2021-06-05.html"),
                             datetime(2021, 6, 5, 3, tzinfo=UTC))
    assert restore(daily.to_record()) == daily
    portal_day = data_portal.parse(fixture("api-getCovid19InfStateJson-2021-07-22-pretty-extracted.xml"))
    assert restore(portal_day.to_record()) == portal_day


# -- the portal's other states (shared/samples/SOURCES.md §8): real rows -------------------------------------
def test_a_week_being_counted_is_pending_and_the_latest_published_week_is_current():
    series = kdca_sentinel.read_answer(portal.answer(portal.ROWS_W37_W41))
    assert [a.id for a in series.periods] == ["2026-W37", "2026-W38", "2026-W39"]
    assert values(series.periods[-1]) == {"covid_inpatients": 248, "covid_inpatients_prev": 337}
    assert series.pending == Pending("2026-W40", counting=True)
    assert series.incomplete == frozenset()


def test_the_rows_across_the_year_boundary_compare_2026_w01_with_2025_w52():
    series = kdca_sentinel.read_answer(portal.answer(portal.ROWS_2025_W52_2026_W01))
    current = series.periods[-1]
    assert (current.id, current.period, values(current)) == (
        "2026-W01", "2026년 1주 (12월 28일~1월 3일)", {"covid_inpatients": 60, "covid_inpatients_prev": 66})
    assert series.pending is None


@pytest.mark.parametrize("cell, counting", [("-", False), ("", False), ("--", False), ("집계 중", True),
                                            (" 집계중 ", True)])
def test_the_covid_cell_alone_being_a_placeholder_is_pending(cell, counting):
    rows = [*portal.ROWS_W37_W41[:3], portal.row(2026, 40, cell)]  # every other cell a number
    series = kdca_sentinel.read_answer(portal.answer(rows))
    assert series.periods[-1].id == "2026-W39" and series.pending == Pending("2026-W40", counting)


def test_a_placeholder_in_an_older_row_leaves_that_week_out_and_marks_the_next_incomplete():
    rows = [portal.row(2026, 37, "308"), portal.counting(2026, 38), portal.row(2026, 39, "248"),
            portal.row(2026, 40, "251")]
    series = kdca_sentinel.read_answer(portal.answer(rows))
    assert [a.id for a in series.periods] == ["2026-W37", "2026-W39", "2026-W40"], "never stored as 0"
    assert values(series.periods[1]) == {"covid_inpatients": 248}, "no comparison with a week being counted"
    assert series.incomplete == {"2026-W39"} and series.pending is None


@pytest.mark.parametrize("cell", ["확인 중", "집계 예정", "N/A", "0명?"])
def test_text_that_is_neither_a_count_nor_a_placeholder_is_a_layout_change(cell):
    rows = [*portal.ROWS_W37_W41[:3], portal.row(2026, 40, cell)]
    with pytest.raises(LayoutError, match=re.escape(f"2026-W40 코로나19 COLUMN12: '{cell}' is not a number")):
        kdca_sentinel.read_answer(portal.answer(rows))


def test_an_answer_without_any_published_week_is_a_layout_change_not_pending():
    with pytest.raises(LayoutError, match="no week has a COVID-19 value"):
        kdca_sentinel.read_answer(portal.answer([portal.counting(2026, 40), portal.counting(2026, 41)]))
    with pytest.raises(kdca_sentinel.EmptyAnswerError):
        kdca_sentinel.read_answer(portal.answer([]))


def test_a_figure_missing_now_is_no_correction_but_a_changed_one_is():
    recorded = recorded_values(kdca_sentinel.announcement(Week(2026, 39), 248, 337).to_record())
    assert not kdca_sentinel.announcement(Week(2026, 39), 248).revises(recorded)
    assert not kdca_sentinel.announcement(Week(2026, 39), 248, 337).revises(recorded)
    assert kdca_sentinel.announcement(Week(2026, 39), 250, 337).revises(recorded)
    assert kdca_sentinel.announcement(Week(2026, 39), 248, 340).revises(recorded)
    assert kdca_sentinel.announcement(Week(2026, 39), 248, 337).revises(
        recorded_values(kdca_sentinel.announcement(Week(2026, 39), 248).to_record())), \
        "a comparison published later is new"
