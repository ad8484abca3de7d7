"""The original bot's source (2020–2021): the daily page of domestic cases on ncov.mohw.go.kr.

The figures are found by the block's heading (확진환자, 사망) and the values by
their labels (누적, 전일대비), never by position: a later layout put deaths in
the first block, and a positional selector would then report deaths as cases.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from coronabot.model.announcement import Announcement
from coronabot.model.source import Source, SourceTexts

from ._daily import DailyAnnouncements
from ._errors import LayoutError, parse_count

if TYPE_CHECKING:
    from bs4 import BeautifulSoup

    from ._http import SourceHttp

NAME = "mohw-daily"
OFFICIAL_URL = "http://ncov.mohw.go.kr/bdBoardList_Real.do?brdId=1&brdGubun=11"
_AS_OF = re.compile(r"(\d{1,2})\.\s*(\d{1,2})\.?\s*(\d{1,2})\s*시\s*기준")


def _as_of(soup: BeautifulSoup, now: datetime) -> date:
    heading = next((h for h in soup.find_all(["h4", "h5"]) if "누적 확진자 현황" in h.get_text()), None)
    if heading is None:
        raise LayoutError("heading '누적 확진자 현황' with the as-of date is missing")
    match = _AS_OF.search(heading.get_text(" "))
    if match is None:
        raise LayoutError(f"as-of date not found in {heading.get_text(' ', strip=True)!r}")
    month, day = int(match.group(1)), int(match.group(2))
    try:
        candidate = date(now.year, month, day)
    except ValueError:
        raise LayoutError(f"as-of date {month}.{day}. is not a calendar date") from None
    if (candidate - now.date()).days > 1:
        candidate = candidate.replace(year=now.year - 1)
    return candidate


def _blocks(soup: BeautifulSoup) -> dict[str, dict[str, str]]:
    table = soup.select_one("div.caseTable")
    if table is None:
        raise LayoutError("div.caseTable is missing")
    blocks = {}
    for block in table.find_all("div", recursive=False):
        title = block.find("strong", class_="ca_top")
        if title is None:
            continue
        values = {}
        for item in block.find_all("dl"):
            label, value = item.find("dt"), item.find("dd")
            if label is None or value is None:
                continue
            subtotal = value.find("strong", string=re.compile("소계"))
            shown = subtotal.find_next_sibling("p") if subtotal is not None else None
            if shown is not None:
                values[label.get_text(strip=True)] = shown.get_text(strip=True)
            else:
                values[label.get_text(strip=True)] = value.get_text(" ", strip=True)
        blocks[title.get_text(strip=True)] = values
    return blocks


def _value(blocks: dict[str, Any], block: str, label: str) -> int:
    if block not in blocks:
        raise LayoutError(f"block '{block}' is missing (blocks: {', '.join(blocks) or 'none'})")
    if label not in blocks[block]:
        raise LayoutError(f"label '{label}' is missing in block '{block}' (labels: {', '.join(blocks[block])})")
    return parse_count(blocks[block][label], f"{block} {label}")


def parse(html: str | bytes, now: datetime) -> Announcement:
    """The cumulative and new confirmed cases (and cumulative deaths) as the page publishes them."""
    from bs4 import BeautifulSoup  # loaded by a process that reads this page, never by the webhook

    soup = BeautifulSoup(html, "html.parser")
    as_of = _as_of(soup, now)
    blocks = _blocks(soup)
    values = {"confirmed_total": _value(blocks, "확진환자", "누적"),
              "confirmed_new": _value(blocks, "확진환자", "전일대비")}
    if "사망" in blocks:
        values["deaths_total"] = _value(blocks, "사망", "누적")
    return DAILY.of(as_of, values)


# Each figure the page publishes: its key, label and kind, in the order a message shows them.
FIGURES = (("confirmed_total", "누적 확진자", "cumulative"), ("confirmed_new", "신규 확진자(전일 대비)", "new"),
           ("deaths_total", "누적 사망자", "cumulative"))


DAILY = DailyAnnouncements(NAME, OFFICIAL_URL, "코로나19 국내 발생 현황", FIGURES, "confirmed_total")


def fetch(http: SourceHttp, cache: dict[str, Any], now: datetime) -> Announcement | None:
    """GET the page, conditionally when the server gave validators last time."""
    headers = {k: v for k, v in (("If-None-Match", cache.get("etag")),
                                 ("If-Modified-Since", cache.get("last_modified"))) if isinstance(v, str) and v}
    response = http.request("GET", OFFICIAL_URL, expect="html", headers=headers)
    if response is None:
        return None
    announcement = parse(response.content, now)
    cache.update({k: v for k, v in (("etag", response.headers.get("ETag")),
                                    ("last_modified", response.headers.get("Last-Modified"))) if v})
    return announcement


SOURCE = Source(
    name=NAME, official_url=OFFICIAL_URL, cadence="daily", trend_figure="confirmed_new", compared=False,
    fetch=fetch, rebuild=DAILY.rebuild,
    texts={
        "ko": SourceTexts(
            name="보건복지부·질병관리청 코로나바이러스감염증-19 국내 발생 현황",
            description="보건복지부·질병관리청 코로나바이러스감염증-19 국내 발생 현황 (2020~2021년 매일 0시 기준 발표)",
            trend_title="코로나19 신규 확진자 수",
        ),
        "en": SourceTexts(
            name="Ministry of Health and Welfare and KDCA: COVID-19 in Korea",
            description="The Ministry of Health and Welfare's and KDCA's daily COVID-19 situation in Korea "
                        "(published every day for midnight, 2020–2021)",
            trend_title="New confirmed COVID-19 cases",
            headline="COVID-19 in Korea",
            figures={"confirmed_total": "Confirmed cases, cumulative", "confirmed_new": "New confirmed cases "
                     "(since the day before)", "deaths_total": "Deaths, cumulative"},
        ),
    },
)
