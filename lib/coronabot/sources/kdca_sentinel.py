"""KDCA disease portal: weekly sentinel surveillance of acute respiratory infection pathogens.

Since 2023-08-31 COVID-19 is reported weekly from sentinel sites. The portal's
``ariListAjax.do`` answers JSON with one row per week; the COVID-19 column is
found by its caption, never by its position.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from ..announcement import Announcement, Figure
from ._errors import FetchError, LayoutError, UnexpectedPageError, parse_count
from ._http import SourceHttp

NAME = "kdca-sentinel"
PAGE_URL = "https://dportal.kdca.go.kr/pot/is/st/ari.do"
OFFICIAL_URL = "https://dportal.kdca.go.kr/pot/is/st/ariListAjax.do"
COVID_CAPTION = re.compile(r"코로나19.*바이러스")
_YEAR = re.compile(r"\d{4}")
_WEEK = re.compile(r"\d{1,2}")
MAX_COOKIES = 20
NOTE = ("전국 표본감시기관의 급성호흡기감염증 환자 검체에서 검출된 코로나19 바이러스 건수입니다. "
        "전체 확진자 수가 아닙니다.")


RECENT_WEEKS = 6  # what a tick asks for: enough to see the latest week, its previous one and late revisions
MAX_WEEKS = 520  # a backfill asks for at most ten years in one request


def query(now: datetime, weeks: int = RECENT_WEEKS) -> dict:
    """Form fields asking for the last ``weeks`` weeks up to next week, across year boundaries if needed
    (the portal's range is free: ``startYear/startWeek`` to ``endYear/endWeek``)."""
    start = now - timedelta(weeks=max(1, min(weeks, MAX_WEEKS)))
    end_week = min(53, now.isocalendar().week + 1)
    return {"startYear": str(start.year), "startWeek": f"{max(1, start.isocalendar().week):02d}",
            "endYear": str(now.year), "endWeek": f"{end_week:02d}",
            "dayCheck": "1", "infectiousGubun": "", "subInfectious": "", "age": ""}


def _covid_column(value: dict) -> str:
    captions = value.get("captionList")
    if not isinstance(captions, list) or not captions:
        raise LayoutError("captionList is missing or empty")
    matches = [i for i, caption in enumerate(captions)
               if isinstance(caption, str) and len(caption) <= 200 and COVID_CAPTION.search(caption)]
    if len(matches) != 1:
        raise LayoutError(f"no single COVID-19 caption (코로나19 … 바이러스) in captionList {captions}")
    return f"COLUMN{matches[0] + 1}"


def _year_week(row: dict) -> tuple[int, int]:
    """The row's year (four digits) and week (1–53), or a LayoutError: never a two-digit year such as "26"."""
    year, week = row.get("TITLE"), row.get("SUBTITLE")
    year_text = str(year).strip() if isinstance(year, (str, int)) and not isinstance(year, bool) else ""
    week_text = str(week).strip() if isinstance(week, (str, int)) and not isinstance(week, bool) else ""
    if not (_YEAR.fullmatch(year_text) and _WEEK.fullmatch(week_text) and 1 <= int(week_text) <= 53):
        raise LayoutError(f"row without a year/week (TITLE/SUBTITLE) of four digits and 1–53: "
                          f"{str(year)[:20]!r}/{str(week)[:20]!r}")
    return int(year_text), int(week_text)


def parse_series(data: object) -> list[Announcement]:
    """Every week with a COVID-19 figure, oldest first, each with the week before it when the answer has it."""
    if not isinstance(data, dict) or data.get("result") is not True or not isinstance(data.get("value"), dict):
        raise LayoutError("answer is not {result: true, value: {...}}")
    value = data["value"]
    column = _covid_column(value)
    rows = value.get("data")
    if not isinstance(rows, list) or not rows:
        raise LayoutError("data table is empty")
    weeks = {}
    for row in rows:
        if not isinstance(row, dict):
            raise LayoutError("a data row is not an object")
        year, week = _year_week(row)
        cell = row.get(column, "")
        if isinstance(cell, str) and cell.strip() in ("", "-", "--"):
            continue
        weeks[(year, week)] = parse_count(row.get(column), f"{year}-W{week:02d} 코로나19 {column}")
    if not weeks:
        raise LayoutError(f"no week has a COVID-19 value in {column}")
    return [_week(weeks, year_week) for year_week in sorted(weeks)]


def parse(data: object) -> Announcement:
    """The latest week with a COVID-19 figure, and the week before it."""
    return parse_series(data)[-1]


def _week(weeks: dict[tuple[int, int], int], year_week: tuple[int, int]) -> Announcement:
    year, week = year_week
    previous = (year, week - 1) if week > 1 else max((k for k in weeks if k[0] == year - 1), default=None)
    figures = [Figure("covid_detections", f"코로나19 바이러스 검출({week}주차)", weeks[(year, week)], "weekly", "건",
                      compared_with="covid_detections_prev" if previous in weeks else "")]
    if previous in weeks:
        label = f"전주({previous[1]}주차) 검출"
        figures.append(Figure("covid_detections_prev", label, weeks[previous], "weekly", "건"))
    return Announcement(
        source=NAME, id=f"{year}-W{week:02d}", order=f"{year}-W{week:02d}",
        period=f"{year}년 {week}주차 (주간 표본감시)", figures=tuple(figures), url=PAGE_URL,
        headline="코로나19 표본감시 주간 발표", note=NOTE,
    )


def _post(http: SourceHttp, now: datetime, weeks: int) -> object:
    response = http.request("POST", OFFICIAL_URL, expect="json", data=query(now, weeks),
                            headers={"Referer": http.url(PAGE_URL), "X-Requested-With": "XMLHttpRequest"})
    try:
        return response.json()
    except ValueError:
        raise FetchError(f"POST {OFFICIAL_URL}: answer is not JSON") from None


def fetch(http: SourceHttp, cache: dict, now: datetime) -> Announcement | None:
    """The latest week (see :func:`fetch_series`)."""
    return fetch_series(http, cache, now)[-1]


def fetch_series(http: SourceHttp, cache: dict, now: datetime, weeks: int = RECENT_WEEKS) -> list[Announcement]:
    """POST the weekly query for the last ``weeks`` weeks; GET the portal page first for a session cookie
    when there is none. Every week the answer has, oldest first (the last is the current announcement).

    The cookie is kept in ``cache`` (stored with the scraper state), so a tick
    with a live session makes one request. A stale session may answer with an
    HTML page or an empty result; then a new session is started, once, so an
    expired cookie is never reported to the admins as a layout change.
    """
    if not http.session.cookies:
        for name, value in stored_cookies(cache.get("cookies")):
            http.session.cookies.set(name, value)
    series = None
    if http.session.cookies:
        try:
            series = parse_series(_post(http, now, weeks))
        except (UnexpectedPageError, LayoutError):
            http.session.cookies.clear()
    if series is None:
        http.request("GET", PAGE_URL, expect="html")
        series = parse_series(_post(http, now, weeks))
    cache["cookies"] = [{"name": cookie.name, "value": cookie.value}
                        for cookie in list(http.session.cookies)[:MAX_COOKIES] if cookie.value is not None]
    return series


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
