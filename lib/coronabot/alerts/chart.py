"""The trend chart: a PNG line chart of the last 52 periods, sized and lettered for a phone.

Imported only by the scrape function when it renders a chart (never by the webhook): matplotlib costs
about a second and tens of megabytes to import. No pyplot (no global figure state, no GUI); the Agg
canvas draws straight into a PNG. Hangul is drawn with NanumGothic, which the ``koreanize-matplotlib``
package bundles; its fonts are registered from the package folder without importing the package,
whose module imports ``distutils`` (gone from Python 3.12, the deployed runtime).
"""

from __future__ import annotations

import importlib.util
import io
import os
import tempfile
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

# matplotlib keeps a font cache in its config folder; a Cloud Function's home is read-only, /tmp is not.
os.environ.setdefault("MPLCONFIGDIR", os.path.join(tempfile.gettempdir(), "coronabot-matplotlib"))

import matplotlib

matplotlib.use("Agg")

from matplotlib import font_manager
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator

from coronabot import texts
from coronabot.model.history import ChartSeries

if TYPE_CHECKING:
    from coronabot.model.source import Source

WIDTH, HEIGHT, DPI = 1280, 720, 100
FONT_FAMILY = "NanumGothic"
FONT_PACKAGE = "koreanize_matplotlib"
RECENT_COLOUR, EARLIER_COLOUR, CURRENT_COLOUR = "#1f5fa8", "#9aa5b1", "#d62728"

_fonts_lock = threading.Lock()
_fonts_loaded = False


class ChartError(Exception):
    """The chart cannot be drawn here (no Korean font installed)."""


def font_files() -> list[Path]:
    """The NanumGothic files shipped with koreanize-matplotlib (found without importing it)."""
    spec = importlib.util.find_spec(FONT_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ChartError(f"the {FONT_PACKAGE} package (Korean font) is not installed")
    files = sorted((Path(next(iter(spec.submodule_search_locations))) / "fonts").glob("NanumGothic*.ttf"))
    if not files:
        raise ChartError(f"no NanumGothic font in the {FONT_PACKAGE} package")
    return files


def _load_fonts() -> None:
    global _fonts_loaded
    with _fonts_lock:
        if not _fonts_loaded:
            for path in font_files():
                font_manager.fontManager.addfont(str(path))
            _fonts_loaded = True


def _thousands(value: float, _position: int) -> str:
    return texts.number(round(value))


def render(source: Source, series: ChartSeries, lang: str = "ko", family: str = FONT_FAMILY) -> bytes:
    """The chart as PNG bytes, 1280×720: the recent periods as a line, the current one highlighted with its
    value, the same periods a year earlier faint where history has them, a title, axis labels and source
    line in ``lang``. ``family`` exists for the tests (a font without Hangul must show missing glyphs)."""
    _load_fonts()
    recent, earlier = series.recent, series.year_earlier
    current = recent[-1]
    words = texts.of(lang)
    labels = words.chart_labels(source, current)
    figure = Figure(figsize=(WIDTH / DPI, HEIGHT / DPI), dpi=DPI)
    FigureCanvasAgg(figure)
    style: dict[str, Any] = {"family": family}
    axes = figure.add_axes((0.085, 0.2, 0.89, 0.64))
    positions = list(range(len(recent)))
    earlier_points = [(x, p.value) for x, p in zip(positions, earlier, strict=True) if p is not None]
    if earlier_points:
        xs, ys = zip(*earlier_points, strict=True)
        axes.plot(xs, ys, color=EARLIER_COLOUR, linewidth=2.5, alpha=0.6, label=labels["year_earlier"])
    axes.plot(positions, [p.value for p in recent], color=RECENT_COLOUR, linewidth=4, marker="o", markersize=4,
              label=labels["recent"])
    axes.plot([positions[-1]], [current.value], "o", color=CURRENT_COLOUR, markersize=14, zorder=5)
    axes.annotate(labels["current"], (positions[-1], current.value), xytext=(-12, 18), textcoords="offset points",
                  ha="right", fontsize=22, fontweight="bold", color=CURRENT_COLOUR, fontfamily=family,
                  bbox={"boxstyle": "round,pad=0.25", "facecolor": "white", "edgecolor": "none", "alpha": 0.85})
    step = max(1, len(recent) // 6)
    ticks = sorted({*range(len(recent) - 1, -1, -step)})
    axes.set_xticks(ticks, [words.period_label(recent[i].key, short=True) for i in ticks], fontsize=16, **style)
    axes.yaxis.set_major_formatter(FuncFormatter(_thousands))
    axes.yaxis.set_major_locator(MaxNLocator(nbins=6, integer=True))
    for tick in axes.get_yticklabels():
        tick.set_fontsize(16)
        tick.set_fontfamily(family)
    axes.set_ylim(bottom=0)
    axes.set_ylabel(labels["y"], fontsize=18, **style)
    axes.set_xlabel(labels["x"], fontsize=18, **style)
    axes.grid(axis="y", alpha=0.3)
    axes.spines[["top", "right"]].set_visible(False)
    axes.legend(loc="upper left", fontsize=16, frameon=False, prop={"family": family, "size": 16})
    figure.text(0.085, 0.92, labels["title"], fontsize=30, fontweight="bold", **style)
    if labels.get("note"):  # what the figure is not (a sample, provisional), under the title
        figure.text(0.085, 0.865, labels["note"], fontsize=16, color="#555555", **style)
    figure.text(0.085, 0.035, labels["source"], fontsize=14, color="#555555", **style)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI, facecolor="white")
    return buffer.getvalue()
