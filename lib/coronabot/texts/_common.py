"""What every language's texts share: Telegram's limits, numbers, splitting, and the layouts (which figure
rows an announcement shows, the /history table, the /settings keyboard) each language fills with its words."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from html import escape, unescape
from typing import TYPE_CHECKING, Any, TypeGuard

from coronabot.model.announcement import Announcement, Figure, order_key
from coronabot.model.history import Point, change
from coronabot.model.language import LANGUAGES
from coronabot.model.preferences import CHOICES, Preferences, callback_data

if TYPE_CHECKING:
    from coronabot.model.source import Pending

MAX_MESSAGE_CHARS = 4096
MAX_CAPTION_CHARS = 1024
MAX_QUOTED_ERROR_CHARS = 500  # even fully escaped (&quot; is 6 characters) a notice stays under 4,096

# The version of the words of what is rendered and kept (a broadcast's messages, an uploaded chart; records
# hold values and are read in the words of now): a broadcast resumed after an upgrade is sent in this version's
# words, and /chart never shows a picture drawn with older ones (before 2, the kdca-sentinel figure was called
# "바이러스 검출 건수" for what are hospitalised patients).
WORDING = 2

# Each language named in its own words: the language buttons read the same in every language.
LANGUAGE_NAMES = {"ko": "한국어", "en": "English"}


def number(value: int) -> str:
    """Thousands separators: 143596 → '143,596'."""
    return f"{value:,}"


def sendable(text: object) -> TypeGuard[str]:
    """Whether a stored broadcast text is one Telegram accepts as one message (not empty, at most 4,096)."""
    return isinstance(text, str) and 0 < len(text) <= MAX_MESSAGE_CHARS


def split(text: str, limit: int = MAX_MESSAGE_CHARS) -> list[str]:
    """Split a long text at line breaks into messages Telegram accepts."""
    if len(text) <= limit:
        return [text]
    parts, current = [], ""
    for line in text.split("\n"):
        while len(line) > limit:
            if current:
                parts.append(current)
                current = ""
            parts.append(line[:limit])
            line = line[limit:]
        candidate = f"{current}\n{line}" if current else line
        if len(candidate) > limit:
            parts.append(current)
            current = line
        else:
            current = candidate
    if current:
        parts.append(current)
    return parts


def caption_length(html: str) -> int:
    """How long Telegram counts a caption: the text without its HTML tags, in UTF-16 code units (an emoji
    counts two), so a caption that passes here is never refused as too long."""
    visible = unescape(re.sub(r"<[^>]*>", "", html))
    return len(visible.encode("utf-16-le")) // 2


def figure_rows(announcement: Announcement) -> list[tuple[Figure, Figure | None]]:
    """The figures an announcement shows, each with the previous period's published figure it is compared
    with (None when it has none); a figure shown as another's comparison gets no row of its own."""
    shown_as_change = {figure.compared_with for figure in announcement.figures}
    return [(figure, announcement.figure(figure.compared_with) if figure.compared_with else None)
            for figure in announcement.figures if figure.key not in shown_as_change]


def body(announcement: Announcement, source_word: str, source_name: str, figure_line: Callable[[Figure], str],
         change_line: Callable[[Figure, Figure], str]) -> list[str]:
    """An announcement's lines: each figure (and its previous period's, compared), what the figure is, and
    the source linked; the language gives the words of each line."""
    lines = []
    for figure, previous in figure_rows(announcement):
        lines.append(figure_line(figure))
        if previous is not None:
            lines.append(change_line(figure, previous))
    if announcement.note:
        lines += ["", f"※ {escape(announcement.note)}"]
    lines.append(f'{source_word}: <a href="{escape(announcement.url, quote=True)}">{escape(source_name)}</a>')
    return lines


def pending_sentence(pending: Pending | None, label: Callable[[tuple[int, int, int]], str],
                     phrases: Mapping[str, str]) -> str:
    """The sentence saying a period the source lists has no figure yet, in the language of ``phrases``
    (``counting_week``, ``counting``, ``not_published``, each with ``{period}``); "" for none or an
    unreadable id."""
    key = order_key(pending.id) if pending is not None else None
    if pending is None or key is None:
        return ""
    phrase = ("counting" if key[2] else "counting_week") if pending.counting else "not_published"
    return phrases[phrase].format(period=escape(label(key)))


def change_mark(delta: int | None) -> str:
    """/history's change column: ▲ up, ▼ down, ― unchanged, blank where the period before is missing."""
    if delta is None:
        return ""
    if delta > 0:
        return f"▲{number(delta)}"
    if delta < 0:
        return f"▼{number(-delta)}"
    return "―"


def table(series: list[Point], periods: int, label: Callable[[tuple[int, int, int]], str],
          value: Callable[[Point], str]) -> tuple[str, int]:
    """/history's table of the last ``periods`` (aligned columns: period, value, change) and how many rows."""
    previous = [None, *series[:-1]]
    shown = list(zip(previous, series, strict=True))[-periods:]
    values = [value(p) for _, p in shown]
    labels = [label(p.key) for _, p in shown]
    width, label_width = max(len(v) for v in values), max(len(text) for text in labels)
    rows = [f"{text:<{label_width}}  {v:>{width}}  {change_mark(change(before, p))}".rstrip()
            for (before, p), text, v in zip(shown, labels, values, strict=True)]
    return "\n".join(rows), len(shown)


def _button(label: str, field: str, value: str, current: str) -> dict[str, Any]:
    return {"text": ("✅ " if value == current else "") + label, "callback_data": callback_data("set", field, value)}


def language_row(current: str) -> list[dict[str, Any]]:
    """The language buttons, the chat's language ticked."""
    return [_button(LANGUAGE_NAMES[lang], "lang", lang, current) for lang in LANGUAGES]


def settings_keyboard(prefs: Preferences, quiet_hours: tuple[int, int] | None, lang: str,
                      words: Mapping[str, Mapping[str, str]], close: str) -> dict[str, Any]:
    """The inline keyboard of /settings: one button per choice, the chosen ones ticked, then the language."""
    when = [_button(words["when"][v], "when", v, prefs.when) for v in CHOICES["when"]]
    rows = [when[:2], when[2:]]
    if quiet_hours is not None:
        rows.append([_button(words["night"][v].format(end=quiet_hours[1]), "night", v, prefs.night)
                     for v in CHOICES["night"]])
    rows.append([_button(words["format"][v], "format", v, prefs.format) for v in CHOICES["format"]])
    rows.append(language_row(lang))
    rows.append([{"text": close, "callback_data": callback_data("close")}])
    return {"inline_keyboard": rows}
