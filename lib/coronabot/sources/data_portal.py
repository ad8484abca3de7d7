"""The public data portal's COVID-19 infection state API (getCovid19InfStateJson, XML despite the name).

It publishes cumulative figures only (decideCnt, deathCnt) for each stateDt; the
bot reports them as published and never computes a daily number from them.
Needs the portal's service key in ``DATA_PORTAL_SERVICE_KEY``.
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from coronabot.config import BY_NAME
from coronabot.model.announcement import Announcement
from coronabot.model.source import Source, SourceTexts

from ._daily import DailyAnnouncements
from ._errors import FetchError, LayoutError, parse_count

if TYPE_CHECKING:
    from ._http import SourceHttp

NAME = "data-portal"
OFFICIAL_URL = "http://openapi.data.go.kr/openapi/service/rest/Covid19/getCovid19InfStateJson"


def parse(xml: str | bytes) -> Announcement:
    """The item with the newest stateDt."""
    import xml.etree.ElementTree as ET  # loaded by a process that reads this API, never by the webhook

    try:
        root = ET.fromstring(xml)
    except ET.ParseError as exc:
        raise LayoutError(f"answer is not XML ({exc})") from None
    code = root.findtext("header/resultCode")
    if code is None:
        raise LayoutError("header/resultCode is missing")
    if code.strip() != "00":
        raise FetchError(f"API error {code.strip()}: {root.findtext('header/resultMsg', '').strip()}")
    items = root.findall("body/items/item")
    if not items:
        raise LayoutError("body/items has no item")
    newest = max(items, key=lambda item: (item.findtext("stateDt") or "").strip())
    raw_date = (newest.findtext("stateDt") or "").strip()
    try:
        as_of = datetime.strptime(raw_date, "%Y%m%d").date()
    except ValueError:
        raise LayoutError(f"stateDt {raw_date!r} is not a YYYYMMDD date") from None
    values = {"confirmed_total": parse_count(newest.findtext("decideCnt"), "decideCnt"),
              "deaths_total": parse_count(newest.findtext("deathCnt"), "deathCnt")}
    return DAILY.of(as_of, values)


# Each figure the API publishes: its key, label and kind, in the order a message shows them.
FIGURES = (("confirmed_total", "누적 확진자", "cumulative"), ("deaths_total", "누적 사망자", "cumulative"))


DAILY = DailyAnnouncements(NAME, OFFICIAL_URL, "코로나19 감염 현황 (공공데이터포털)", FIGURES, "confirmed_total")


def fetch(http: SourceHttp, cache: dict[str, Any], now: datetime) -> Announcement | None:
    """GET the last few days' items; the service key comes from the environment only."""
    key = BY_NAME["DATA_PORTAL_SERVICE_KEY"].read(os.environ)  # a secret: read where it is used, never kept
    if not key:
        raise FetchError("DATA_PORTAL_SERVICE_KEY is not set")
    params = {"serviceKey": key, "pageNo": "1", "numOfRows": "10",
              "startCreateDt": (now - timedelta(days=3)).strftime("%Y%m%d"), "endCreateDt": now.strftime("%Y%m%d")}
    response = http.request("GET", OFFICIAL_URL, expect="xml", params=params)
    return parse(response.content) if response is not None else None


SOURCE = Source(
    name=NAME, official_url=OFFICIAL_URL, cadence="daily", trend_figure="confirmed_total", compared=False,
    fetch=fetch, rebuild=DAILY.rebuild,
    texts={
        "ko": SourceTexts(
            name="공공데이터포털 코로나19 감염 현황 API",
            description="공공데이터포털 코로나19 감염 현황 API (질병관리청 제공 누적 확진자·사망자)",
            trend_title="코로나19 누적 확진자 수",
        ),
        "en": SourceTexts(
            name="Public Data Portal COVID-19 infection status API",
            description="The Public Data Portal's COVID-19 infection status API (cumulative confirmed cases and "
                        "deaths, from KDCA)",
            trend_title="Confirmed COVID-19 cases, cumulative",
            headline="COVID-19 infection status (Public Data Portal)",
            figures={"confirmed_total": "Confirmed cases, cumulative", "deaths_total": "Deaths, cumulative"},
        ),
    },
)
