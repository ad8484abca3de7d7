"""The disease portal's answers as the tests serve them: the saved envelope (headerList, captionList) of a real
call, with the rows of another real call, or rows made from them (shared/samples/SOURCES.md §7 and §8)."""

from __future__ import annotations

import copy
import json

from support import FIXTURES

ENVELOPE = json.loads((FIXTURES / "kdca-dportal-ari-ListAjax-2026-w35-w39.json").read_text())
# A call on Tuesday 2026-10-06: W37-W39 published, W40 (ended 10-03) every cell "집계 중", no row for W41.
ROWS_W37_W41 = json.loads((FIXTURES / "kdca-dportal-ari-ListAjax-2026-w37-w41-rows-extracted.json").read_text())
# A call across the 2025/2026 boundary: 2025 W52 (COVID-19 66) and 2026 W01 (60).
ROWS_2025_W52_2026_W01 = json.loads(
    (FIXTURES / "kdca-dportal-ari-ListAjax-2025-w52-2026-w01-rows-extracted.json").read_text())
COVID = "COLUMN12"  # the column whose caption is 코로나19 코로나19 바이러스 in these answers
COUNTING_ROW = ROWS_W37_W41[-1]  # the real row of a week being counted


def answer(rows: list[dict]) -> dict:
    """The saved envelope holding these rows as ``value.data``."""
    data = copy.deepcopy(ENVELOPE)
    data["value"]["data"] = copy.deepcopy(rows)
    return data


def text(rows: list[dict]) -> str:
    """:func:`answer` as the portal sends it."""
    return json.dumps(answer(rows), ensure_ascii=False)


def row(year: int, week: int, covid: str, like: dict | None = None) -> dict:
    """A real row (the W39 one unless ``like``) moved to another week, its COVID-19 cell set to ``covid``."""
    base = like if like is not None else ROWS_W37_W41[2]
    return dict(base, TITLE=str(year), SUBTITLE=f"{week:02d}", **{COVID: covid})


def counting(year: int, week: int) -> dict:
    """The real "집계 중" row moved to another week: every cell being counted."""
    return dict(COUNTING_ROW, TITLE=str(year), SUBTITLE=f"{week:02d}")
