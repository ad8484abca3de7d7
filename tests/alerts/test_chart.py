"""The chart renderer: a real PNG of the expected size, with something drawn, and Hangul in a Korean font.
The renderer has no process boundary (bytes in memory), so it is called directly; the alert that carries
the chart is tested through the real scrape function in test_history_e2e.py."""

from __future__ import annotations

import io
import json
import warnings

import pytest

from coronabot.model import history
from coronabot.sources import REGISTRY, kdca_sentinel
from support import FIXTURES

chart = pytest.importorskip("coronabot.alerts.chart")
Image = pytest.importorskip("PIL.Image")

TWO_YEARS = json.loads((FIXTURES / "kdca-ari-2024-w40-2026-w39-synthetic.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def series() -> history.ChartSeries:
    drawn = history.chart_series(history.points(kdca_sentinel.parse_series(TWO_YEARS), "covid_inpatients"),
                                 "2026-W39")
    assert drawn is not None
    return drawn


def render_with_warnings(series, **options) -> tuple[bytes, list[str]]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        png = chart.render(REGISTRY["kdca-sentinel"], series, **options)
    return png, [str(w.message) for w in caught]


def test_the_chart_is_a_1280_by_720_png_with_a_line_drawn(series):
    png, _ = render_with_warnings(series)
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    image = Image.open(io.BytesIO(png)).convert("RGB")
    assert image.size == (chart.WIDTH, chart.HEIGHT)
    pixels = list(image.get_flattened_data())
    blue = sum(1 for r, g, b in pixels if b > 120 and r < 80)  # the recent line
    red = sum(1 for r, g, b in pixels if r > 180 and g < 80 and b < 80)  # the current week's mark and value
    grey = sum(1 for r, g, b in pixels if abs(r - g) < 20 and abs(g - b) < 30 and 140 < r < 200)  # a year earlier
    assert blue > 3000 and red > 300 and grey > 1000, (blue, red, grey)
    assert sum(1 for p in pixels if p != (255, 255, 255)) > 0.03 * len(pixels)


def test_hangul_is_drawn_with_the_bundled_korean_font(series):
    png, messages = render_with_warnings(series)
    assert not [m for m in messages if "missing from font" in m], messages
    files = chart.font_files()
    assert any(path.name == "NanumGothic.ttf" for path in files)
    from matplotlib import font_manager
    used = font_manager.findfont(font_manager.FontProperties(family=chart.FONT_FAMILY), fallback_to_default=False)
    assert used.endswith("NanumGothic.ttf")


def test_a_font_without_hangul_would_show_missing_glyphs(series):
    """The check above can fail: the same chart in DejaVu Sans (no Hangul) draws boxes and says so."""
    png, messages = render_with_warnings(series, family="DejaVu Sans")
    assert [m for m in messages if "missing from font" in m]
    default, _ = render_with_warnings(series)
    assert png != default


def test_a_short_history_draws_too(series):
    short = history.ChartSeries(series.recent[-2:], [None, None])
    image = Image.open(io.BytesIO(chart.render(REGISTRY["kdca-sentinel"], short)))
    assert image.size == (chart.WIDTH, chart.HEIGHT)


def test_the_english_chart_has_no_hangul_to_draw(series):
    """Drawn in English for English chats: even a font without Hangul (DejaVu Sans) misses no glyph, and the
    picture differs from the Korean one."""
    png, messages = render_with_warnings(series, lang="en", family="DejaVu Sans")
    assert not [m for m in messages if "missing from font" in m], messages
    korean, _ = render_with_warnings(series, family="DejaVu Sans")
    assert png.startswith(b"\x89PNG") and png != korean
