"""What one language gives the texts: its words, its sentence templates and a few small phrase functions.

A language is one ``Words`` value (``korean.py``, ``english.py``). Every field is required, so a language
that lacks a word does not construct, and the type checker says which. The layouts that put the words
together are written once, in ``_layouts``. Templates are ``str.format`` strings whose fields each layout
names; the values they receive are escaped by the layout."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, NamedTuple

from coronabot.model.announcement import Announcement, Figure
from coronabot.model.history import Direction, Point
from coronabot.model.weeks import Week

if TYPE_CHECKING:  # (types only: the texts load with the webhook's first update, a cold start pays for each)
    from typing import Protocol

    from coronabot.model.publication import Window
    from coronabot.model.source import Source, SourceTexts

    class PeriodLabel(Protocol):
        def __call__(self, key: Key, short: bool = False, dates: bool = False) -> str: ...

Key = tuple[int, int, int]


class Words(NamedTuple):
    """One language: the fixed answers (upper case, as the code names them), templates and phrases."""

    # -- who speaks: the language's code and its help --------------------------------------------------------
    LANGUAGE: str
    COMMAND_LIST: str
    HELP: str
    BOT_COMMANDS: tuple[tuple[str, str], ...]  # (command, description) for setMyCommands
    BOT_DESCRIPTION: str  # setMyDescription, at most 512 characters
    BOT_SHORT_DESCRIPTION: str  # setMyShortDescription, at most 120
    UNKNOWN_COMMAND: str  # {commands}
    UNKNOWN_COMMAND_TO: str  # {name}, {commands}: addressing the sender

    # -- fixed answers ---------------------------------------------------------------------------------------
    SUBSCRIBED: str
    ALREADY_SUBSCRIBED: str
    UNSUBSCRIBED: str
    NOT_SUBSCRIBED: str
    NO_DATA_YET: str
    TRY_AGAIN_LATER: str
    UNRECOGNISED: str
    ADMINS_ONLY: str
    NON_TEXT_HINT: str
    NO_HISTORY_YET: str
    NO_CHART_YET: str

    # -- the chat's language ---------------------------------------------------------------------------------
    LANGUAGE_SET: str
    LANGUAGE_UNCHANGED: str
    LANGUAGE_ADMINS_ONLY: str
    LANGUAGE_PROMPT: str

    # -- inline mode -----------------------------------------------------------------------------------------
    INLINE_NO_DATA_TITLE: str
    INLINE_NO_DATA_DESCRIPTION: str
    INLINE_NO_DATA: str
    INLINE_CHART_TITLE: str
    INLINE_BUTTON: str
    SHARED_LINK: str  # {link}, {username}

    # -- an announcement: alert, correction, /now, /about ----------------------------------------------------
    SOURCE_WORD: str  # "출처" in front of the source's name
    CORRECTION: str  # {period}
    SEEN_AT: str  # {time}
    PENDING: Mapping[str, str]  # counting_week, counting, not_published: {period}
    PENDING_NOW: str  # {line}: /now's last paragraph
    EXPECTED: str  # {window}
    EXPECTED_UNKNOWN: str
    ABOUT: str  # {description}, {expected}

    # -- the trend: /history and /chart ----------------------------------------------------------------------
    TREND_WORDS: Mapping[str, str]  # rising, falling, flat
    HISTORY_HEAD: str  # {title}, {count}, {unit}, {source}
    HISTORY_UNITS: Mapping[bool, str]  # weekly? -> the unit of /history's heading
    HISTORY_FOOT: str
    CHART_CAPTION: str  # {title}, {period}, {note}, {source}

    # -- per-chat choices: /settings, its buttons, /status ---------------------------------------------------
    WHEN_LABELS: Mapping[str, str]  # {prev}
    WHEN_BUTTONS: Mapping[str, str]
    NIGHT_LABELS: Mapping[str, str]  # {end}
    NIGHT_BUTTONS: Mapping[str, str]  # {end}
    FORMAT_LABELS: Mapping[str, str]  # the buttons
    FORMAT_CHOSEN: Mapping[str, str]  # the format as a settings line names it
    CLOSE: str
    PREVIOUS_DEFAULT: str  # what the conditions compare with when the source does not say
    CHOICE_LINES: Mapping[str, str]  # when, format, language: {choice}
    SETTINGS_TITLE: str
    SETTINGS_UNCOMPARED: str
    SETTINGS_HINT: str
    UNSUBSCRIBED_VIEW: str
    SUBSCRIBE_BUTTON: str
    STATUS_TITLE: str
    STATUS_NONE: str
    STATUS_ACTIVE: str  # {since}
    STATUS_SINCE: str  # {time}
    STATUS_SUBSCRIBED: str  # when the subscription's start does not read
    STATUS_FOOT: str
    HELD_ONE: str  # {period}, {hour}
    HELD_MANY: str  # {count}, {periods}, {hour}
    SETTING_SAVED: str
    SETTING_UNCHANGED: str
    SETTINGS_CLOSED: str
    BUTTON_UNKNOWN: str
    BUTTON_STALE: str
    BUTTON_UNUSABLE: str
    SETTINGS_ADMINS_ONLY: str
    SUBSCRIBE_FIRST: str
    SUBSCRIBED_BY_BUTTON: str
    BUTTON_TRY_AGAIN: str

    # -- phrases: what no template says, such as dates in each language's order ------------------------------
    week_dates: Callable[[Week], str]  # the days a week covers
    week_period: Callable[[Week], str]  # a week with its days
    kst: Callable[[datetime], str]  # a moment as Korean local time
    window_text: Callable[[Window], str]  # when an announcement is expected
    period_label: PeriodLabel  # a period by its order key
    table_label: Callable[[Key], str]  # a row of /history
    table_value: Callable[[Point], str]  # a value of /history
    night_span: Callable[[tuple[int, int]], str]  # the quiet hours
    figure_line: Callable[[Figure], str]
    change_line: Callable[[Figure, Figure], str]  # the previous period's figure and the change
    direction_line: Callable[[list[Point], Direction | None, int], str]  # the trend's sentence
    inline_title: Callable[[Announcement], str]  # an inline result's title
    localized: Callable[[Announcement, Source], Announcement]  # a recorded announcement in these words
    chart_texts: Callable[[SourceTexts, Point], dict[str, str]]  # the chart's title, axes, legend, source
