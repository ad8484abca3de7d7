"""The bot's English, for people who know what KDCA is but not the Korean terms: every word and template of
``Words``, and the phrases English orders its own way. An announcement is recorded in the source's Korean
words; here it is shown in the source's English ones (``localized``)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from html import escape
from typing import TYPE_CHECKING

from coronabot.model.announcement import Announcement, Figure, order_key
from coronabot.model.history import Direction, Point
from coronabot.model.seoul import KST
from coronabot.model.weeks import Week

from ._common import number
from ._words import Key, Words

if TYPE_CHECKING:
    from coronabot.model.publication import Window
    from coronabot.model.source import Source, SourceTexts

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
TREND_WORDS = {"rising": "📈 rising", "falling": "📉 falling", "flat": "➡️ about level"}

COMMAND_LIST = (
    "/now — the latest COVID-19 figures KDCA published\n"
    "/history — the last 12 weeks (table)\n"
    "/chart — the last year as a chart\n"
    "/subscribe — get an alert when new figures come out\n"
    "/unsubscribe — stop the alerts\n"
    "/settings — choose when, at night and in which format\n"
    "/status — see your alert settings\n"
    "/about — about the bot and its data\n"
    "/lang — change the language (한국어: <code>/lang ko</code>)\n"
    "/help — this help"
)


def _day(day: date) -> str:
    return f"{day.day} {_MONTHS[day.month - 1]}"


def week_dates(week: Week) -> str:
    """The days a KDCA week covers: '13–19 Sep', '27 Sep – 3 Oct', '27 Dec – 2 Jan'."""
    first, last = week.first_day, week.last_day
    if first.month == last.month:
        return f"{first.day}–{last.day} {_MONTHS[last.month - 1]}"
    return f"{_day(first)} – {_day(last)}"


def week_period(week: Week) -> str:
    """A week with its days: '2027 week 1 (27 Dec – 2 Jan)'."""
    return f"{week.year} week {week.number} ({week_dates(week)})"


def kst(moment: datetime) -> str:
    """A moment as Korean local time, e.g. '30 Sep 2026, 14:05 KST'."""
    local = moment.astimezone(KST)
    return f"{_day(local)} {local.year}, {local:%H:%M} KST"


def window_text(window: Window) -> str:
    """When an announcement is expected: 'Thu 8 Oct, 09:00–11:30 KST'."""
    start, end = window.start.astimezone(KST), window.end.astimezone(KST)
    return f"{WEEKDAYS[start.weekday()]} {_day(start)}, {start:%H:%M}–{end:%H:%M} KST"


def period_label(key: Key, short: bool = False, dates: bool = False) -> str:
    """A period in English: '2026 week 39' (short: 'W39 ’26'; dates: '2026 week 39 (20–26 Sep)'), or
    '2021-06-05' (short: '5 Jun')."""
    year, part, day = key
    if day == 0:
        if dates:
            return week_period(Week(year, part))
        return f"W{part} ’{year % 100:02d}" if short else f"{year} week {part}"
    return f"{day} {_MONTHS[part - 1]}" if short else f"{year}-{part:02d}-{day:02d}"


def table_label(key: Key) -> str:
    """A row of /history: '2026 W39 20–26 Sep' (a week with its days), or '2021-06-05'."""
    if key[2]:
        return period_label(key)
    week = Week(key[0], key[1])
    return f"{week.year} W{week.number} {week_dates(week)}"


def table_value(point: Point) -> str:
    return number(point.value)


def night_span(quiet_hours: tuple[int, int]) -> str:
    """The quiet hours in English: 'At night (22:00–08:00)', 'From 12:00 to 14:00'."""
    start, end = quiet_hours
    return f"At night ({start:02d}:00–{end:02d}:00)" if start > end else f"From {start:02d}:00 to {end:02d}:00"


def figure_line(figure: Figure) -> str:
    return f"• {escape(figure.label)}: <b>{number(figure.value)}</b>"


def change_line(current: Figure, previous: Figure) -> str:
    """The previous period's published figure and how the current one differs from it."""
    delta = current.value - previous.value
    when = "this week" if current.kind == "weekly" else "since the previous announcement"
    if delta > 0:
        trend = f"{number(delta)} more {when}"
    elif delta < 0:
        trend = f"{number(-delta)} fewer {when}"
    else:
        trend = f"no change {when}"
    return f"• {escape(previous.label)}: {number(previous.value)} → {trend}"


def direction_line(series: list[Point], trend: Direction | None, periods: int) -> str:
    unit = "weeks" if series[-1].weekly else "days"
    if series[-1].kind == "cumulative":
        return ("※ These are cumulative figures. The difference between two of them is not a published figure, "
                "so the bot does not work it out.")
    if trend is None:
        return f"The trend needs all of the last {periods} {unit} on record."
    first, last = trend.first, trend.last
    return (f"Last {periods} {unit}: <b>{TREND_WORDS[trend.trend]}</b> "
            f"(up in {trend.rises}, down in {trend.falls}; "
            f"{number(first.value)} in {period_label(first.key)} → {number(last.value)} in {period_label(last.key)})")


def inline_title(announcement: Announcement) -> str:
    """An inline result's title: the figure the announcement leads with, e.g. 'COVID-19 inpatients: 460'."""
    if not announcement.figures:
        return announcement.headline
    figure = announcement.figures[0]
    return f"{figure.label}: {number(figure.value)}"


def _period(announcement: Announcement) -> str:
    key = order_key(announcement.order)
    if key is None:
        return announcement.period
    if key[2] == 0:
        return period_label(key, dates=True)
    return f"As of midnight, {key[2]} {_MONTHS[key[1] - 1]} {key[0]} (KST)"


def _label(figure: Figure, labels: Mapping[str, str], key: Key | None) -> str:
    label = labels.get(figure.key)
    if label is None:  # a figure the source's English words lack: its own (Korean) label, never nothing
        return figure.label
    previous = ""
    if key is not None and key[2] == 0:
        before = Week(key[0], key[1]).previous()
        previous = f"week {before.number}, {week_dates(before)}"
    return label.format(previous=previous)


def localized(announcement: Announcement, source: Source) -> Announcement:
    """The announcement in the source's English words: its headline, note, period and figure labels; the
    published values as they are. Counts carry no unit word: the label says what is counted."""
    words = source.words("en")
    key = order_key(announcement.order)
    figures = tuple(f._replace(label=_label(f, words.figures, key), unit="") for f in announcement.figures)
    return announcement._replace(headline=words.headline or announcement.headline, period=_period(announcement),
                                 note=words.note, figures=figures)


def chart_texts(words: SourceTexts, current: Point) -> dict[str, str]:
    """The chart's texts: title, axis labels, legend, the source line."""
    return {
        "title": f"{words.trend_title} — the last year",
        "y": words.trend_axis or ("Weekly figure" if current.weekly else "Daily figure"),
        "x": "Surveillance week (Sunday to Saturday)" if current.weekly else "Date published",
        "recent": "The last 52 weeks" if current.weekly else "Recent figures",
        "year_earlier": "The same week a year earlier" if current.weekly else "The same day a year earlier",
        "current": f"{period_label(current.key, dates=True)}: {number(current.value)}",
        "source": f"Source: {words.name} · up to {period_label(current.key)} · COVID-19 Korea alerts bot",
        "note": words.trend_note,
    }


FORMAT_LABELS = {"chart": "With the chart", "text": "Text only"}

WORDS = Words(
    LANGUAGE="en",
    COMMAND_LIST=COMMAND_LIST,
    HELP="<b>COVID-19 Korea alerts</b>: how to use this bot\n\n" + COMMAND_LIST,
    BOT_COMMANDS=(
        ("now", "Latest COVID-19 figures from KDCA"),
        ("history", "The last 12 weeks"),
        ("chart", "The last year as a chart"),
        ("subscribe", "Get alerts of new figures"),
        ("unsubscribe", "Stop the alerts"),
        ("settings", "When, at night, format"),
        ("status", "Your alert settings"),
        ("about", "About the bot and its data"),
        ("lang", "Language (English/한국어)"),
        ("help", "How to use this bot"),
    ),
    BOT_DESCRIPTION=("Alerts when the Korea Disease Control and Prevention Agency (KDCA) publishes new COVID-19 "
                     "figures: the weekly number of COVID-19 patients admitted to its sentinel hospitals, exactly "
                     "as published, with the recent trend and a one-year chart. Send /subscribe for alerts and "
                     "/help for the commands. 한국어: /lang ko"),
    BOT_SHORT_DESCRIPTION="KDCA's weekly COVID-19 figures for Korea: alerts, trend and chart. 한국어: /lang ko",
    UNKNOWN_COMMAND="That is not a command I know. These are:\n\n{commands}",
    UNKNOWN_COMMAND_TO="{name}, that is not a command I know. These are:\n\n{commands}",

    SUBSCRIBED=("✅ Subscribed. You will get an alert as soon as KDCA publishes new COVID-19 figures.\n"
                "To stop, send /unsubscribe."),
    ALREADY_SUBSCRIBED="This chat is already subscribed. To stop the alerts, send /unsubscribe.",
    UNSUBSCRIBED="Unsubscribed. To get alerts again, send /subscribe.",
    NOT_SUBSCRIBED="This chat is not subscribed. To get alerts, send /subscribe.",
    NO_DATA_YET="No figures are stored yet. Once the bot has seen the first announcement, /now shows it.",
    TRY_AGAIN_LATER="⚠️ The bot cannot answer right now. Please try again in a little while.",
    UNRECOGNISED="Sorry, I did not understand that. Send /help to see what I can do.",
    ADMINS_ONLY="Only the group's admins can subscribe or unsubscribe it. Please ask one of them.",
    NON_TEXT_HINT="I only understand text commands. Send /help to see them.",
    NO_HISTORY_YET="No announcements are recorded yet. Once the bot has seen the first one, /history shows them.",
    NO_CHART_YET=("There is no chart in English yet. It is drawn with the next announcement and sent with its "
                  "alert; after that /chart shows it. Meanwhile /history shows the recent weeks as a table."),

    LANGUAGE_SET="This chat now gets its answers and alerts in English.",
    LANGUAGE_UNCHANGED="This chat already reads English.",
    LANGUAGE_ADMINS_ONLY="Only the group's admins can change its language.",
    LANGUAGE_PROMPT=("🌐 <b>Language</b>: English now\nChoose the language of this chat's answers and alerts. "
                     "<code>/lang en</code> and <code>/lang ko</code> work too."),

    INLINE_NO_DATA_TITLE="No figures yet",
    INLINE_NO_DATA_DESCRIPTION="Once the bot has seen the first announcement, you can share it from here.",
    INLINE_NO_DATA="The COVID-19 Korea alerts bot has no figures stored yet. They can be shared once published.",
    INLINE_CHART_TITLE="The last year as a chart",
    INLINE_BUTTON="🔔 Get alerts of new figures",
    SHARED_LINK='\n\n🔔 Alerts of new figures: <a href="{link}">@{username}</a>',

    SOURCE_WORD="Source",
    CORRECTION="✏️ <b>Correction</b>: KDCA revised the figures for {period}.\n",
    SEEN_AT="\nSeen by the bot: {time}",
    PENDING={"counting_week": "KDCA is still counting {period}.",
             "counting": "The figures of {period} are being counted.",
             "not_published": "The figures of {period} are not published yet."},
    PENDING_NOW="\n\n⏳ {line} Subscribed chats get it as soon as it is published.",
    EXPECTED="• Next announcement expected: {window}",
    EXPECTED_UNKNOWN="• Next announcement expected: known once the bot has seen three.",
    ABOUT=("<b>COVID-19 Korea alerts</b>\n"
           "The bot checks the COVID-19 figures the Korea Disease Control and Prevention Agency (KDCA) publishes "
           "and, when new ones come out, alerts every subscribed chat once.\n\n"
           "• Data: {description}\n"
           "• Figures are shown exactly as published. The bot never makes a new count out of the difference "
           "between two cumulative figures; an increase or decrease shown is two published figures side by side.\n"
           "{expected}"
           "• For medical advice in Korea, call 1339 (KDCA's call centre)."),

    TREND_WORDS=TREND_WORDS,
    HISTORY_HEAD="📈 <b>{title}: the last {count} {unit}</b>\nSource: {source}",
    HISTORY_UNITS={True: "weeks", False: "days"},
    HISTORY_FOOT="/chart shows the last year as a chart.",
    CHART_CAPTION="📈 <b>{title}</b>\nThe last year, up to {period}{note}\nSource: {source}",

    WHEN_LABELS={"every": "every new announcement", "rose": "only when higher than {prev}",
                 "change20": "only when 20% or more above or below {prev}",
                 "rise50": "only when 50% or more above {prev}"},
    WHEN_BUTTONS={"every": "Every time", "rose": "Only if higher", "change20": "If it moves ±20%",
                  "rise50": "If it rises 50%"},
    NIGHT_LABELS={"silent": "silently", "hold": "together at {end:02d}:00 in the morning",
                  "normal": "with sound, as usual"},
    NIGHT_BUTTONS={"silent": "Silently", "hold": "At {end:02d}:00", "normal": "As usual"},
    FORMAT_LABELS=FORMAT_LABELS,
    FORMAT_CHOSEN={choice: label.lower() for choice, label in FORMAT_LABELS.items()},
    CLOSE="Close",
    PREVIOUS_DEFAULT="the previous announcement",
    CHOICE_LINES={"when": "• Alerts: <b>{choice}</b>", "format": "• Format: <b>{choice}</b>",
                  "language": "• Language: <b>{choice}</b>"},
    SETTINGS_TITLE="⚙️ <b>Alert settings</b>",
    SETTINGS_UNCOMPARED=("※ This source publishes no previous figure to compare with, so every announcement is "
                         "sent, whatever the condition."),
    SETTINGS_HINT="A button changes the setting at once. In groups only admins can change them.",
    UNSUBSCRIBED_VIEW=("⚙️ <b>Alert settings</b>\nThis chat does not get alerts yet. Once subscribed, you can choose "
                       "when, what happens at night and the format."),
    SUBSCRIBE_BUTTON="🔔 Subscribe",
    STATUS_TITLE="📋 <b>Your alert settings</b>",
    STATUS_NONE="• Subscription: <b>none</b> (start with /subscribe)",
    STATUS_ACTIVE="• Subscription: <b>active</b>, {since}",
    STATUS_SINCE="since {time}",
    STATUS_SUBSCRIBED="subscribed",
    STATUS_FOOT="To change them, send /settings.",
    HELD_ONE="🌅 Published overnight ({period}), sent at {hour:02d}:00 as you asked.",
    HELD_MANY=("🌅 {count} announcements overnight ({periods}), sent together at {hour:02d}:00 as you asked. "
               "Below is the latest."),
    SETTING_SAVED="Saved ✅",
    SETTING_UNCHANGED="That is already the setting.",
    SETTINGS_CLOSED="Settings closed. To open them again, send /settings",
    BUTTON_UNKNOWN="I do not know that button. Please send /settings again.",
    BUTTON_STALE="That was an older settings screen; it now shows the current settings. Please press again.",
    BUTTON_UNUSABLE="This button can no longer be used. Please send /settings again.",
    SETTINGS_ADMINS_ONLY="Only this chat's admins can change its alert settings.",
    SUBSCRIBE_FIRST="Please subscribe first: press the button below.",
    SUBSCRIBED_BY_BUTTON="Subscribed ✅",
    BUTTON_TRY_AGAIN="⚠️ Could not save that right now. Please press again in a little while.",

    week_dates=week_dates,
    week_period=week_period,
    kst=kst,
    window_text=window_text,
    period_label=period_label,
    table_label=table_label,
    table_value=table_value,
    night_span=night_span,
    figure_line=figure_line,
    change_line=change_line,
    direction_line=direction_line,
    inline_title=inline_title,
    localized=localized,
    chart_texts=chart_texts,
)
