"""Every user-facing text in English, as Telegram HTML with interpolated values escaped.

The same names as ``ko.py`` (a test fails when one has a name the other lacks), written for people who know
what KDCA is but not the Korean terms. An announcement is recorded in the source's Korean words; here it is
shown in the source's English ones (``localized``).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from html import escape
from typing import TYPE_CHECKING, Any

from coronabot.model.announcement import Announcement, Figure, order_key
from coronabot.model.history import SUMMARY_PERIODS, TABLE_PERIODS, Direction, Point
from coronabot.model.preferences import Preferences, callback_data
from coronabot.model.weeks import Week

from ._common import KST, LANGUAGE_NAMES, body, language_row, number, pending_sentence, table
from ._common import settings_keyboard as _keyboard

if TYPE_CHECKING:
    from coronabot.model.publication import Window
    from coronabot.model.source import Pending, Source

LANGUAGE = "en"
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

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

HELP = "<b>COVID-19 Korea alerts</b>: how to use this bot\n\n" + COMMAND_LIST

# (command, description) for setMyCommands: the Latin commands, described in this language.
BOT_COMMANDS = (
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
)
# setMyDescription (at most 512 characters) and setMyShortDescription (at most 120).
BOT_DESCRIPTION = ("Alerts when the Korea Disease Control and Prevention Agency (KDCA) publishes new COVID-19 "
                   "figures: the weekly number of COVID-19 patients admitted to its sentinel hospitals, exactly as "
                   "published, with the recent trend and a one-year chart. Send /subscribe for alerts and /help "
                   "for the commands. 한국어: /lang ko")
BOT_SHORT_DESCRIPTION = "KDCA's weekly COVID-19 figures for Korea: alerts, trend and chart. 한국어: /lang ko"

SUBSCRIBED = ("✅ Subscribed. You will get an alert as soon as KDCA publishes new COVID-19 figures.\n"
              "To stop, send /unsubscribe.")
ALREADY_SUBSCRIBED = "This chat is already subscribed. To stop the alerts, send /unsubscribe."
UNSUBSCRIBED = "Unsubscribed. To get alerts again, send /subscribe."
NOT_SUBSCRIBED = "This chat is not subscribed. To get alerts, send /subscribe."
NO_DATA_YET = "No figures are stored yet. Once the bot has seen the first announcement, /now shows it."
TRY_AGAIN_LATER = "⚠️ The bot cannot answer right now. Please try again in a little while."
UNRECOGNISED = "Sorry, I did not understand that. Send /help to see what I can do."
ADMINS_ONLY = "Only the group's admins can subscribe or unsubscribe it. Please ask one of them."
NON_TEXT_HINT = "I only understand text commands. Send /help to see them."
NO_HISTORY_YET = "No announcements are recorded yet. Once the bot has seen the first one, /history shows them."
NO_CHART_YET = ("There is no chart in English yet. It is drawn with the next announcement and sent with its "
                "alert; after that /chart shows it. Meanwhile /history shows the recent weeks as a table.")

TREND_WORDS = {"rising": "📈 rising", "falling": "📉 falling", "flat": "➡️ about level"}

# -- the chat's language: /lang, its buttons ---------------------------------------------------------------
LANGUAGE_SET = "This chat now gets its answers and alerts in English."
LANGUAGE_UNCHANGED = "This chat already reads English."
LANGUAGE_ADMINS_ONLY = "Only the group's admins can change its language."


def language_prompt() -> tuple[str, dict[str, Any]]:
    """/lang without a language: what each choice does, and a button for each."""
    text = ("🌐 <b>Language</b>: English now\nChoose the language of this chat's answers and alerts. "
            "<code>/lang en</code> and <code>/lang ko</code> work too.")
    return text, {"inline_keyboard": [language_row(LANGUAGE)]}


# -- inline mode (@bot in any chat) ------------------------------------------------------------------------
INLINE_NO_DATA_TITLE = "No figures yet"
INLINE_NO_DATA_DESCRIPTION = "Once the bot has seen the first announcement, you can share it from here."
INLINE_NO_DATA = "The COVID-19 Korea alerts bot has no figures stored yet. They can be shared once published."
INLINE_CHART_TITLE = "The last year as a chart"
INLINE_BUTTON = "🔔 Get alerts of new figures"


def inline_title(announcement: Announcement) -> str:
    """An inline result's title: the figure the announcement leads with, e.g. 'COVID-19 inpatients: 460'."""
    if not announcement.figures:
        return announcement.headline
    figure = announcement.figures[0]
    return f"{figure.label}: {number(figure.value)}"


def shared_link(link: str, username: str) -> str:
    """The line under a shared message: where to get alerts yourself."""
    return f'\n\n🔔 Alerts of new figures: <a href="{escape(link, quote=True)}">@{escape(username)}</a>'


def expected_line(window_text: str | None) -> str:
    """When the next announcement is expected, or why that is not known yet."""
    if window_text is None:
        return "• Next announcement expected: known once the bot has seen three."
    return f"• Next announcement expected: {escape(window_text)}"


PENDING = {"counting_week": "KDCA is still counting {period}.",
           "counting": "The figures of {period} are being counted.",
           "not_published": "The figures of {period} are not published yet."}


def pending_line(pending: Pending | None) -> str:
    """A period the source lists without its figure yet: 'KDCA is still counting 2026 week 40 (27 Sep – 3 Oct).'
    ("" for none)."""
    return pending_sentence(pending, lambda key: period_label(key, dates=True), PENDING)


def about(source: Source, window_text: str | None = None, known: bool = True, pending: Pending | None = None) -> str:
    """The answer to /about, naming the source this deployment reads and, when ``known``, when its next
    announcement is expected (``window_text``, None while the bot has seen fewer than three) and the period
    the source is counting (``pending``)."""
    description = source.words(LANGUAGE).description
    expected = expected_line(window_text) + "\n" if known else ""
    if line := pending_line(pending):
        expected += f"• {line}\n"
    return (
        "<b>COVID-19 Korea alerts</b>\n"
        "The bot checks the COVID-19 figures the Korea Disease Control and Prevention Agency (KDCA) publishes "
        "and, when new ones come out, alerts every subscribed chat once.\n\n"
        f"• Data: {escape(description)}\n"
        "• Figures are shown exactly as published. The bot never makes a new count out of the difference between "
        "two cumulative figures; an increase or decrease shown is two published figures side by side.\n"
        f"{expected}"
        "• For medical advice in Korea, call 1339 (KDCA's call centre)."
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

WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def window_text(window: Window) -> str:
    """When an announcement is expected: 'Thu 8 Oct, 09:00–11:30 KST'."""
    start, end = window.start.astimezone(KST), window.end.astimezone(KST)
    return f"{WEEKDAYS[start.weekday()]} {_day(start)}, {start:%H:%M}–{end:%H:%M} KST"


def unknown_command(first_name: str | None) -> str:
    """The answer to a command the bot does not know, addressing the sender."""
    who = f"{escape(first_name)}, that" if first_name else "That"
    return f"{who} is not a command I know. These are:\n\n" + COMMAND_LIST


def _period(announcement: Announcement) -> str:
    key = order_key(announcement.order)
    if key is None:
        return announcement.period
    if key[2] == 0:
        return period_label(key, dates=True)
    return f"As of midnight, {key[2]} {_MONTHS[key[1] - 1]} {key[0]} (KST)"


def _label(figure: Figure, labels: Mapping[str, str], key: tuple[int, int, int] | None) -> str:
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
    words = source.words(LANGUAGE)
    key = order_key(announcement.order)
    figures = tuple(f._replace(label=_label(f, words.figures, key), unit="") for f in announcement.figures)
    return announcement._replace(headline=words.headline or announcement.headline, period=_period(announcement),
                                 note=words.note, figures=figures)


def _figure_line(figure: Figure) -> str:
    return f"• {escape(figure.label)}: <b>{number(figure.value)}</b>"


def _change(current: Figure, previous: Figure) -> str:
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


def _body(announcement: Announcement, source: Source) -> list[str]:
    return body(announcement, "Source", source.words(LANGUAGE).name, _figure_line, _change)


def alert(announcement: Announcement, source: Source) -> str:
    """The alert sent to subscribers when a new announcement appears."""
    announcement = localized(announcement, source)
    head = f"🦠 <b>{escape(announcement.headline)}</b>\n{escape(announcement.period)}\n"
    return "\n".join([head, *_body(announcement, source)])


def correction(announcement: Announcement, source: Source) -> str:
    """The short notice sent once when the agency corrects an announcement's figures."""
    announcement = localized(announcement, source)
    head = f"✏️ <b>Correction</b>: KDCA revised the figures for {escape(announcement.period)}.\n"
    return "\n".join([head, *(_figure_line(f) for f in announcement.figures)])


def broadcast_text(kind: str, announcement: Announcement, source: Source) -> str:
    """What a broadcast of this ``kind`` sends: the alert, or the correction."""
    return correction(announcement, source) if kind == "correction" else alert(announcement, source)


def current_figures(announcement: Announcement | None, source: Source,
                    recorded_at: datetime | None = None, pending: Pending | None = None) -> str:
    """The answer to /now: the latest stored announcement and when the bot saw it, and the period the source
    is counting after it (``pending``); or a plain 'nothing yet'."""
    if announcement is None:
        return NO_DATA_YET
    announcement = localized(announcement, source)
    text = f"📊 <b>{escape(announcement.headline)}</b>\n{escape(announcement.period)}\n\n" + \
        "\n".join(_body(announcement, source))
    if recorded_at is not None:
        text += f"\nSeen by the bot: {kst(recorded_at)}"
    if line := pending_line(pending):
        text += f"\n\n⏳ {line} Subscribed chats get it as soon as it is published."
    return text


def period_label(key: tuple[int, int, int], short: bool = False, dates: bool = False) -> str:
    """A period in English: '2026 week 39' (short: 'W39 ’26'; dates: '2026 week 39 (20–26 Sep)'), or
    '2021-06-05' (short: '5 Jun')."""
    year, part, day = key
    if day == 0:
        if dates:
            return week_period(Week(year, part))
        return f"W{part} ’{year % 100:02d}" if short else f"{year} week {part}"
    return f"{day} {_MONTHS[part - 1]}" if short else f"{year}-{part:02d}-{day:02d}"


def _table_label(key: tuple[int, int, int]) -> str:
    """A row of /history: '2026 W39 20–26 Sep' (a week with its days), or '2021-06-05'."""
    if key[2]:
        return period_label(key)
    week = Week(key[0], key[1])
    return f"{week.year} W{week.number} {week_dates(week)}"


def _direction_line(series: list[Point], trend: Direction | None, periods: int) -> str:
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


def history(source: Source, series: list[Point], trend: Direction | None, periods: int = TABLE_PERIODS) -> str:
    """The answer to /history: the last periods as a table with the change from the period before
    (▲ up, ▼ down, ― unchanged; blank where the period before is missing), and the direction."""
    if not series:
        return NO_HISTORY_YET
    rows, shown = table(series, periods, _table_label, lambda p: number(p.value))
    unit = "weeks" if series[-1].weekly else "days"
    words = source.words(LANGUAGE)
    head = f"📈 <b>{escape(words.trend_title)}: the last {shown} {unit}</b>\nSource: {escape(words.name)}"
    return (f"{head}\n\n<pre>{escape(rows)}</pre>\n"
            f"{_direction_line(series, trend, SUMMARY_PERIODS)}\n\n/chart shows the last year as a chart.")


def chart_caption(source: Source, period: str) -> str:
    """The caption of /chart's picture."""
    words = source.words(LANGUAGE)
    note = f"\n※ {escape(words.trend_note)}" if words.trend_note else ""
    return (f"📈 <b>{escape(words.trend_title)}</b>\nThe last year, up to {escape(period)}{note}\n"
            f"Source: {escape(words.name)}")


def chart_labels(source: Source, current: Point) -> dict[str, str]:
    """The chart's texts: title, axis labels, legend, the source line."""
    words = source.words(LANGUAGE)
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


# -- per-chat choices: /settings, its buttons, /status ---------------------------------------------------
WHEN_LABELS = {"every": "every new announcement", "rose": "only when higher than {prev}",
               "change20": "only when 20% or more above or below {prev}",
               "rise50": "only when 50% or more above {prev}"}
WHEN_BUTTONS = {"every": "Every time", "rose": "Only if higher", "change20": "If it moves ±20%",
                "rise50": "If it rises 50%"}
NIGHT_LABELS = {"silent": "silently", "hold": "together at {end:02d}:00 in the morning",
                "normal": "with sound, as usual"}
NIGHT_BUTTONS = {"silent": "Silently", "hold": "At {end:02d}:00", "normal": "As usual"}
FORMAT_LABELS = {"chart": "With the chart", "text": "Text only"}
CLOSE = "Close"

SETTING_SAVED = "Saved ✅"
SETTING_UNCHANGED = "That is already the setting."
SETTINGS_CLOSED = "Settings closed. To open them again, send /settings"
BUTTON_UNKNOWN = "I do not know that button. Please send /settings again."
BUTTON_STALE = "That was an older settings screen; it now shows the current settings. Please press again."
BUTTON_UNUSABLE = "This button can no longer be used. Please send /settings again."
SETTINGS_ADMINS_ONLY = "Only this chat's admins can change its alert settings."
SUBSCRIBE_FIRST = "Please subscribe first: press the button below."
SUBSCRIBED_BY_BUTTON = "Subscribed ✅"
BUTTON_TRY_AGAIN = "⚠️ Could not save that right now. Please press again in a little while."


def night_span(quiet_hours: tuple[int, int]) -> str:
    """The quiet hours in English: 'At night (22:00–08:00)', 'From 12:00 to 14:00'."""
    start, end = quiet_hours
    return f"At night ({start:02d}:00–{end:02d}:00)" if start > end else f"From {start:02d}:00 to {end:02d}:00"


def _choice_lines(source: Source, prefs: Preferences, quiet_hours: tuple[int, int] | None) -> list[str]:
    previous = source.words(LANGUAGE).previous or "the previous announcement"
    lines = [f"• Alerts: <b>{WHEN_LABELS[prefs.when].format(prev=previous)}</b>"]
    if quiet_hours is not None:
        night = NIGHT_LABELS[prefs.night].format(end=quiet_hours[1])
        lines.append(f"• {night_span(quiet_hours)}: <b>{night}</b>")
    lines.append(f"• Format: <b>{FORMAT_LABELS[prefs.format].lower()}</b>")
    lines.append(f"• Language: <b>{LANGUAGE_NAMES[LANGUAGE]}</b>")
    return lines


def settings_keyboard(prefs: Preferences, quiet_hours: tuple[int, int] | None) -> dict[str, Any]:
    """The inline keyboard of /settings: one button per choice, the chosen ones ticked."""
    words = {"when": WHEN_BUTTONS, "night": NIGHT_BUTTONS, "format": FORMAT_LABELS}
    return _keyboard(prefs, quiet_hours, LANGUAGE, words, CLOSE)


def settings_view(source: Source, prefs: Preferences, quiet_hours: tuple[int, int] | None) -> tuple[str, dict[str,
                  Any]]:
    """/settings for a subscribed chat: its choices and the buttons that change them."""
    lines = ["⚙️ <b>Alert settings</b>", *_choice_lines(source, prefs, quiet_hours), ""]
    words = source.words(LANGUAGE)
    if words.comparison_note:
        lines.append(f"※ {words.comparison_note}")
    if not source.compared:
        lines.append("※ This source publishes no previous figure to compare with, so every announcement is sent, "
                     "whatever the condition.")
    lines.append("A button changes the setting at once. In groups only admins can change them.")
    return "\n".join(lines), settings_keyboard(prefs, quiet_hours)


def unsubscribed_view() -> tuple[str, dict[str, Any]]:
    """/settings for a chat that does not get alerts: a subscribe button first, then the language."""
    text = ("⚙️ <b>Alert settings</b>\nThis chat does not get alerts yet. Once subscribed, you can choose when, "
            "what happens at night and the format.")
    rows = [[{"text": "🔔 Subscribe", "callback_data": callback_data("subscribe")}], language_row(LANGUAGE)]
    return text, {"inline_keyboard": rows}


def status(source: Source, record: dict[str, Any] | None, prefs: Preferences, quiet_hours: tuple[int,
           int] | None) -> str:
    """/status: whether the chat is subscribed and since when, and one line per choice."""
    if record is None:
        head = "• Subscription: <b>none</b> (start with /subscribe)"
    else:
        try:
            since = f"since {kst(datetime.fromisoformat(str(record.get('since'))))}"
        except ValueError:
            since = "subscribed"
        head = f"• Subscription: <b>active</b>, {since}"
    return "\n".join(["📋 <b>Your alert settings</b>", head, *_choice_lines(source, prefs, quiet_hours), "",
                      "To change them, send /settings."])


def held_line(periods: tuple[tuple[int, int, int], ...] | list[tuple[int, int, int]], end_hour: int) -> str:
    """The line on top of a held alert: it waited for the morning, and which periods it covers."""
    labels = [period_label(key) for key in periods]
    if len(labels) == 1:
        return f"🌅 Published overnight ({escape(labels[0])}), sent at {end_hour:02d}:00 as you asked."
    return (f"🌅 {len(labels)} announcements overnight ({escape(', '.join(labels))}), sent together at "
            f"{end_hour:02d}:00 as you asked. Below is the latest.")
