"""KDCA disease portal: patients hospitalised with acute respiratory infection at the sentinel hospitals.

``ariListAjax.do`` serves KDCA's inpatient sentinel survey of acute respiratory infection (급성호흡기감염증
입원환자 표본감시): patients hospitalised at about 220 hospital-level sites (병원급 의료기관; KDCA has named
218 to 221), counted by pathogen, one row per surveillance week; COVID-19 joined the survey in 2024. Its
COVID-19 column is the weekly "코로나19 입원환자 수" that KDCA's releases lead with (2025 W26-W37: 63, 101,
..., 460), a count of patients (명), not of detections: see docs/sources.md for the evidence. The column is
found by its caption, never by its position. Weeks follow KDCA's calendar (:mod:`coronabot.model.weeks`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from coronabot import texts
from coronabot.model.announcement import Announcement, Figure, order_key
from coronabot.model.source import Pending, Series, Source, SourceTexts
from coronabot.model.weeks import Week

from ._errors import FetchError, LayoutError, UnexpectedPageError, parse_count

if TYPE_CHECKING:
    from http.cookiejar import Cookie

    from ._http import SourceHttp

NAME = "kdca-sentinel"
PAGE_URL = "https://dportal.kdca.go.kr/pot/is/st/ari.do"
OFFICIAL_URL = "https://dportal.kdca.go.kr/pot/is/st/ariListAjax.do"
COVID_CAPTION = re.compile(r"코로나19.*바이러스")
_YEAR = re.compile(r"\d{4}")
_WEEK = re.compile(r"\d{1,2}")
MAX_COOKIES = 20
FIGURE = "covid_inpatients"
PREVIOUS_FIGURE = "covid_inpatients_prev"
# The keys of versions before 1 December 2026, which called the same published figure "검출 건수".
FORMER_FIGURES = {"covid_detections": FIGURE, "covid_detections_prev": PREVIOUS_FIGURE}
HEADLINE = "코로나19 입원환자 주간 발표 (표본감시)"
NOTE = ("전국 약 220개 병원급 표본감시 의료기관에 그 주 입원한 코로나19 환자 수입니다. "
        "일부 병원의 표본 수치라 국내 전체 환자 수가 아니며, 잠정 통계라 나중에 바뀔 수 있습니다.")


# What the portal writes in a cell without a figure (docs/sources.md, "The portal's states"): every cell of a
# week that has ended but is not published yet reads "집계 중" (being counted); "-" marks a missing or negative
# value, and a cell can be empty. Compared without spaces.
COUNTING, NO_VALUE = "counting", "no value"
COUNTING_TEXT = "집계중"
NO_VALUE_TEXTS = ("", "-", "--")


class EmptyAnswerError(LayoutError):
    """An answer without rows: what the portal gives a session that has expired (or a page that broke)."""


RECENT_WEEKS = 6  # what a tick asks for: enough to see the latest week, its previous one and late revisions
MAX_WEEKS = 520  # a backfill asks for at most ten years in one request


def query(now: datetime, weeks: int = RECENT_WEEKS) -> dict[str, Any]:
    """Form fields asking for the last ``weeks`` weeks that have ended in Seoul (``now`` is Seoul's time),
    across year boundaries if needed: the running week has no figure yet. The portal's range is free:
    ``startYear/startWeek`` to ``endYear/endWeek``, in KDCA's calendar."""
    end = Week.of(now.date()).previous()
    start = end.shifted(1 - max(1, min(weeks, MAX_WEEKS)))
    return {"startYear": str(start.year), "startWeek": f"{start.number:02d}",
            "endYear": str(end.year), "endWeek": f"{end.number:02d}",
            "dayCheck": "1", "infectiousGubun": "", "subInfectious": "", "age": ""}


def _covid_column(value: dict[str, Any]) -> str:
    captions = value.get("captionList")
    if not isinstance(captions, list) or not captions:
        raise LayoutError("captionList is missing or empty")
    matches = [i for i, caption in enumerate(captions)
               if isinstance(caption, str) and len(caption) <= 200 and COVID_CAPTION.search(caption)]
    if len(matches) != 1:
        raise LayoutError(f"no single COVID-19 caption (코로나19 … 바이러스) in captionList {captions}")
    return f"COLUMN{matches[0] + 1}"


def _year_week(row: dict[str, Any]) -> tuple[int, int]:
    """The row's year (four digits) and week (1–53), or a LayoutError: never a two-digit year such as "26"."""
    year, week = row.get("TITLE"), row.get("SUBTITLE")
    year_text = str(year).strip() if isinstance(year, (str, int)) and not isinstance(year, bool) else ""
    week_text = str(week).strip() if isinstance(week, (str, int)) and not isinstance(week, bool) else ""
    if not (_YEAR.fullmatch(year_text) and _WEEK.fullmatch(week_text) and 1 <= int(week_text) <= 53):
        raise LayoutError(f"row without a year/week (TITLE/SUBTITLE) of four digits and 1–53: "
                          f"{str(year)[:20]!r}/{str(week)[:20]!r}")
    return int(year_text), int(week_text)


def _placeholder(cell: object) -> str | None:
    """Which of the portal's placeholders a cell holds (``COUNTING`` or ``NO_VALUE``), or None for anything
    else: only what the portal writes is a placeholder, never "anything that is not a number"."""
    if not isinstance(cell, str):
        return None
    text = "".join(cell.split())
    if text == COUNTING_TEXT:
        return COUNTING
    return NO_VALUE if text in NO_VALUE_TEXTS else None


def read_answer(data: object) -> Series:
    """Every week with a COVID-19 figure, oldest first, each with the week before it when the answer has it;
    and the oldest week after the newest of them that the answer lists without a figure (being counted, or
    "-"). A week whose cell is a placeholder is left out, never read as 0, and the week after it is marked
    incomplete (its comparison is unknown); any other text that is not a count is a LayoutError. An answer
    without rows is an :class:`EmptyAnswerError` (an expired session gets one)."""
    if not isinstance(data, dict) or data.get("result") is not True or not isinstance(data.get("value"), dict):
        raise LayoutError("answer is not {result: true, value: {...}}")
    value = data["value"]
    column = _covid_column(value)
    rows = value.get("data")
    if not isinstance(rows, list) or not rows:
        raise EmptyAnswerError("data table is empty")
    published: dict[Week, int] = {}
    unpublished: dict[Week, str] = {}
    for row in rows:
        if not isinstance(row, dict):
            raise LayoutError("a data row is not an object")
        week = Week(*_year_week(row))
        cell = row.get(column, "")
        placeholder = _placeholder(cell)
        if placeholder is not None:
            unpublished[week] = placeholder
        else:
            published[week] = parse_count(cell, f"{week.order} 코로나19 {column}")
    if not published:
        raise LayoutError(f"no week has a COVID-19 value in {column}")
    newest = max(published)
    later = sorted(week for week in unpublished if week > newest)
    pending = Pending(later[0].order, unpublished[later[0]] == COUNTING) if later else None
    return Series(tuple(announcement(week, count, published.get(week.previous()))
                        for week, count in sorted(published.items())), pending,
                  frozenset(week.order for week in published if week.previous() in unpublished))


def parse_series(data: object) -> list[Announcement]:
    """The published weeks of one answer, oldest first (see :func:`read_answer`)."""
    return list(read_answer(data).periods)


def parse(data: object) -> Announcement:
    """The latest week with a COVID-19 figure, and the week before it."""
    return read_answer(data).periods[-1]


def announcement(week: Week, inpatients: int, previous: int | None = None) -> Announcement:
    """One week's announcement: its COVID-19 inpatients and, when published, the week before's."""
    figures = [Figure(FIGURE, "코로나19 입원환자", inpatients, "weekly", "명",
                      compared_with=PREVIOUS_FIGURE if previous is not None else "")]
    if previous is not None:
        before = week.previous()
        figures.append(Figure(PREVIOUS_FIGURE, f"전주({before.number}주, {texts.ko.week_dates(before)})", previous,
                              "weekly", "명"))
    return Announcement(source=NAME, id=week.order, order=week.order, period=texts.ko.week_period(week),
                        figures=tuple(figures), url=PAGE_URL, headline=HEADLINE, note=NOTE)


def rebuild(order: str, values: Mapping[str, int]) -> Announcement | None:
    """A stored week read back in these words: its COVID-19 inpatients and the week before's, by key."""
    key = order_key(order)
    if key is None or key[2] or FIGURE not in values:
        return None
    return announcement(Week(key[0], key[1]), values[FIGURE], values.get(PREVIOUS_FIGURE))


def _post(http: SourceHttp, now: datetime, weeks: int) -> object:
    response = http.request("POST", OFFICIAL_URL, expect="json", data=query(now, weeks),
                            headers={"Referer": http.url(PAGE_URL), "X-Requested-With": "XMLHttpRequest"})
    if response is None:  # a POST asks nothing conditional
        raise FetchError(f"POST {OFFICIAL_URL}: HTTP 304 to a request that was not conditional")
    try:
        return response.json()
    except ValueError:
        raise FetchError(f"POST {OFFICIAL_URL}: answer is not JSON") from None


def fetch(http: SourceHttp, cache: dict[str, Any], now: datetime) -> Announcement | None:
    """The latest published week (see :func:`fetch_series`)."""
    return fetch_series(http, cache, now).periods[-1]


def fetch_series(http: SourceHttp, cache: dict[str, Any], now: datetime, weeks: int = RECENT_WEEKS) -> Series:
    """POST the weekly query for the last ``weeks`` weeks on the portal's session, opening one first (GET
    ``ari.do``, which sets the cookie the POST rides) when there is none: the published weeks, oldest first
    (the last is the current announcement), and the week being counted after them.

    The cookie is kept in ``cache`` (stored with the scraper state), so a tick with a live session makes one
    request. An answer that shows the session expired (an HTML page, no rows) opens one new session, once: at
    most three requests. Anything else, a week being counted or a layout change, keeps the session.
    """
    if not http.session.cookies:
        for name, value in stored_cookies(cache.get("cookies")):
            http.session.cookies.set(name, value)
    series = None
    if http.session.cookies:
        try:
            series = read_answer(_post(http, now, weeks))
        except (UnexpectedPageError, EmptyAnswerError):
            http.session.cookies.clear()
    if series is None:
        _open_session(http)
        series = read_answer(_post(http, now, weeks))
    jar: list[Cookie] = list(http.session.cookies)  # type: ignore[arg-type]  # a CookieJar yields Cookies
    cache["cookies"] = [{"name": cookie.name, "value": cookie.value}
                        for cookie in jar[:MAX_COOKIES] if cookie.value is not None]
    return series


def _open_session(http: SourceHttp) -> None:
    """GET the portal's screen for the session cookie its data POST rides; FetchError when it sets none."""
    http.request("GET", PAGE_URL, expect="html")
    if not http.session.cookies:
        raise FetchError(f"GET {PAGE_URL}: the page set no session cookie (JSESSIONID), which the data "
                         "request needs")


def stored_cookies(stored: object) -> list[tuple[str, str]]:
    """The session cookies kept in the cache as a list of ``{"name", "value"}`` values.

    Cookie names come from the network (``.ASPXAUTH``, ``a$b``…) and can never be database keys, so they are
    stored as values; a dict left by an older version is still read.
    """
    if isinstance(stored, dict):
        pairs = list(stored.items())
    elif isinstance(stored, list):
        pairs = [(c.get("name"), c.get("value")) for c in stored if isinstance(c, dict)]
    else:
        return []
    return [(name, value) for name, value in pairs[:MAX_COOKIES] if isinstance(name, str) and isinstance(value, str)]


SOURCE = Source(
    name=NAME, official_url=OFFICIAL_URL, cadence="weekly", trend_figure=FIGURE, compared=True,
    fetch=fetch, fetch_series=fetch_series, rebuild=rebuild, former_keys=FORMER_FIGURES,
    texts={
        "ko": SourceTexts(
            name="질병관리청 감염병포털 (급성호흡기감염증 입원환자 표본감시)",
            description="질병관리청 감염병포털 급성호흡기감염증 입원환자 표본감시: 전국 약 220개 병원급 표본감시 "
                        "의료기관에 입원한 급성호흡기감염증 환자를 병원체별로 주마다 집계합니다 (코로나19는 2023년 "
                        "8월 31일 표본감시 감염병이 되었고 2024년부터 이 집계에 들어갑니다). 표본 수치라 국내 전체 "
                        "환자 수가 아니며, 잠정 통계라 나중에 바뀔 수 있습니다",
            trend_title="코로나19 입원환자 수 (표본감시 병원)",
            trend_axis="주간 입원환자 수",
            trend_note="표본감시 병원의 잠정 수치이며 국내 전체 환자 수가 아닙니다.",
            comparison_note="알림 조건은 표본감시 병원의 코로나19 입원환자 수를 전주 수치와 비교합니다.",
            previous="전주",
            headline=HEADLINE, note=NOTE,
        ),
        "en": SourceTexts(
            name="KDCA Infectious Disease Portal (acute respiratory infection inpatient sentinel surveillance)",
            description="KDCA's inpatient sentinel surveillance of acute respiratory infections: about 220 "
                        "hospital-level sentinel sites across Korea report, week by week, the patients admitted "
                        "with an acute respiratory infection, by pathogen (COVID-19 became a sentinel-surveillance "
                        "disease on 31 August 2023 and is counted from 2024). The figures are a sample, not every "
                        "patient in Korea, and provisional: they may be revised later.",
            trend_title="COVID-19 inpatients (sentinel hospitals)",
            trend_axis="Patients admitted per week",
            trend_note="Provisional figures from the sentinel hospitals, not every patient in Korea.",
            comparison_note="The conditions compare the sentinel hospitals' COVID-19 inpatients with the week "
                            "before.",
            previous="the week before",
            headline="COVID-19 inpatients, weekly (sentinel surveillance)",
            note="COVID-19 patients admitted that week to about 220 hospital-level sentinel sites across Korea. "
                 "It is a sample, not the number of patients in the whole country, and provisional: it may be "
                 "revised later.",
            figures={FIGURE: "COVID-19 inpatients", PREVIOUS_FIGURE: "Week before ({previous})"},
        ),
    },
)
