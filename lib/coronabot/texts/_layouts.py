"""The layouts of every answer and alert, written once: each puts one language's ``Words`` together, escaping
every value it interpolates. ``texts.ko`` and ``texts.en`` are ``Texts`` of the two languages."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from html import escape
from typing import TYPE_CHECKING, Any

from coronabot.model.announcement import Announcement, order_key
from coronabot.model.history import SUMMARY_PERIODS, TABLE_PERIODS, Direction, Point
from coronabot.model.preferences import Preferences, callback_data

from ._common import LANGUAGE_NAMES, body, language_row, pending_sentence, settings_keyboard, table
from ._words import Key, Words

if TYPE_CHECKING:
    from coronabot.model.source import Pending, Source


class Texts(Words):
    """One language's words with the layouts that use them: what the bot says, as Telegram HTML."""

    __slots__ = ()

    @classmethod
    def speaking(cls, words: Words) -> Texts:
        return cls(*words)

    # -- the chat's language, inline mode, unknown commands --------------------------------------------------
    def language_prompt(self) -> tuple[str, dict[str, Any]]:
        """/lang without a language: what each choice does, and a button for each."""
        return self.LANGUAGE_PROMPT, {"inline_keyboard": [language_row(self.LANGUAGE)]}

    def shared_link(self, link: str, username: str) -> str:
        """The line under a shared message: where to get alerts yourself."""
        return self.SHARED_LINK.format(link=escape(link, quote=True), username=escape(username))

    def unknown_command(self, first_name: str | None) -> str:
        """The answer to a command the bot does not know, addressing the sender."""
        if first_name:
            return self.UNKNOWN_COMMAND_TO.format(name=escape(first_name), commands=self.COMMAND_LIST)
        return self.UNKNOWN_COMMAND.format(commands=self.COMMAND_LIST)

    # -- an announcement -------------------------------------------------------------------------------------
    def _body(self, announcement: Announcement, source: Source) -> list[str]:
        return body(announcement, self.SOURCE_WORD, source.words(self.LANGUAGE).name, self.figure_line,
                    self.change_line)

    def alert(self, announcement: Announcement, source: Source) -> str:
        """The alert sent to subscribers when a new announcement appears."""
        announcement = self.localized(announcement, source)
        head = f"🦠 <b>{escape(announcement.headline)}</b>\n{escape(announcement.period)}\n"
        return "\n".join([head, *self._body(announcement, source)])

    def correction(self, announcement: Announcement, source: Source) -> str:
        """The short notice sent once when the agency corrects an announcement's figures."""
        announcement = self.localized(announcement, source)
        head = self.CORRECTION.format(period=escape(announcement.period))
        return "\n".join([head, *(self.figure_line(f) for f in announcement.figures)])

    def broadcast_text(self, kind: str, announcement: Announcement, source: Source) -> str:
        """What a broadcast of this ``kind`` sends: the alert, or the correction."""
        return self.correction(announcement, source) if kind == "correction" else self.alert(announcement, source)

    def pending_line(self, pending: Pending | None) -> str:
        """A period the source lists without its figure yet ("" for none)."""
        return pending_sentence(pending, lambda key: self.period_label(key, dates=True), self.PENDING)

    def current_figures(self, announcement: Announcement | None, source: Source,
                        recorded_at: datetime | None = None, pending: Pending | None = None) -> str:
        """The answer to /now: the latest stored announcement and when the bot saw it, and the period the
        source is counting after it (``pending``); or a plain 'nothing yet'."""
        if announcement is None:
            return self.NO_DATA_YET
        announcement = self.localized(announcement, source)
        text = f"📊 <b>{escape(announcement.headline)}</b>\n{escape(announcement.period)}\n\n" + \
            "\n".join(self._body(announcement, source))
        if recorded_at is not None:
            text += self.SEEN_AT.format(time=self.kst(recorded_at))
        if line := self.pending_line(pending):
            text += self.PENDING_NOW.format(line=line)
        return text

    def expected_line(self, window_text: str | None) -> str:
        """When the next announcement is expected, or why that is not known yet."""
        return self.EXPECTED_UNKNOWN if window_text is None else self.EXPECTED.format(window=escape(window_text))

    def about(self, source: Source, window_text: str | None = None, known: bool = True,
              pending: Pending | None = None) -> str:
        """The answer to /about, naming the source this deployment reads and, when ``known``, when its next
        announcement is expected (``window_text``, None while the bot has seen fewer than three) and the
        period the source is counting (``pending``)."""
        expected = self.expected_line(window_text) + "\n" if known else ""
        if line := self.pending_line(pending):
            expected += f"• {line}\n"
        return self.ABOUT.format(description=escape(source.words(self.LANGUAGE).description), expected=expected)

    # -- the trend -------------------------------------------------------------------------------------------
    def history(self, source: Source, series: list[Point], trend: Direction | None,
                periods: int = TABLE_PERIODS) -> str:
        """The answer to /history: the last periods as a table with the change from the period before
        (▲ up, ▼ down, ― unchanged; blank where the period before is missing), and the direction."""
        if not series:
            return self.NO_HISTORY_YET
        rows, shown = table(series, periods, self.table_label, self.table_value)
        words = source.words(self.LANGUAGE)
        head = self.HISTORY_HEAD.format(title=escape(words.trend_title), count=shown,
                                        unit=self.HISTORY_UNITS[series[-1].weekly], source=escape(words.name))
        return (f"{head}\n\n<pre>{escape(rows)}</pre>\n"
                f"{self.direction_line(series, trend, SUMMARY_PERIODS)}\n\n{self.HISTORY_FOOT}")

    def chart_labels(self, source: Source, current: Point) -> dict[str, str]:
        """The chart's texts: title, axis labels, legend, the source line."""
        return self.chart_texts(source.words(self.LANGUAGE), current)

    def chart_caption(self, source: Source, chart: Mapping[str, Any]) -> str:
        """The caption of a stored chart (``charts/{source}``): the period it ends with, named in these words
        from its order (a chart of an earlier version named it: that name)."""
        key = order_key(chart.get("order"))
        period = self.period_label(key) if key is not None else str(chart.get("period") or "")
        words = source.words(self.LANGUAGE)
        note = f"\n※ {escape(words.trend_note)}" if words.trend_note else ""
        return self.CHART_CAPTION.format(title=escape(words.trend_title), period=escape(period), note=note,
                                         source=escape(words.name))

    # -- per-chat choices ------------------------------------------------------------------------------------
    def _choice_lines(self, source: Source, prefs: Preferences, quiet_hours: tuple[int, int] | None) -> list[str]:
        previous = source.words(self.LANGUAGE).previous or self.PREVIOUS_DEFAULT
        lines = [self.CHOICE_LINES["when"].format(choice=self.WHEN_LABELS[prefs.when].format(prev=previous))]
        if quiet_hours is not None:
            night = self.NIGHT_LABELS[prefs.night].format(end=quiet_hours[1])
            lines.append(f"• {self.night_span(quiet_hours)}: <b>{night}</b>")
        lines.append(self.CHOICE_LINES["format"].format(choice=self.FORMAT_CHOSEN[prefs.format]))
        lines.append(self.CHOICE_LINES["language"].format(choice=LANGUAGE_NAMES[self.LANGUAGE]))
        return lines

    def settings_keyboard(self, prefs: Preferences, quiet_hours: tuple[int, int] | None) -> dict[str, Any]:
        """The inline keyboard of /settings: one button per choice, the chosen ones ticked."""
        words = {"when": self.WHEN_BUTTONS, "night": self.NIGHT_BUTTONS, "format": self.FORMAT_LABELS}
        return settings_keyboard(prefs, quiet_hours, self.LANGUAGE, words, self.CLOSE)

    def settings_view(self, source: Source, prefs: Preferences,
                      quiet_hours: tuple[int, int] | None) -> tuple[str, dict[str, Any]]:
        """/settings for a subscribed chat: its choices and the buttons that change them."""
        lines = [self.SETTINGS_TITLE, *self._choice_lines(source, prefs, quiet_hours), ""]
        words = source.words(self.LANGUAGE)
        if words.comparison_note:
            lines.append(f"※ {words.comparison_note}")
        if not source.compared:
            lines.append(self.SETTINGS_UNCOMPARED)
        lines.append(self.SETTINGS_HINT)
        return "\n".join(lines), self.settings_keyboard(prefs, quiet_hours)

    def unsubscribed_view(self) -> tuple[str, dict[str, Any]]:
        """/settings for a chat that does not get alerts: a subscribe button first, then the language."""
        rows = [[{"text": self.SUBSCRIBE_BUTTON, "callback_data": callback_data("subscribe")}],
                language_row(self.LANGUAGE)]
        return self.UNSUBSCRIBED_VIEW, {"inline_keyboard": rows}

    def status(self, source: Source, record: dict[str, Any] | None, prefs: Preferences,
               quiet_hours: tuple[int, int] | None) -> str:
        """/status: whether the chat is subscribed and since when, and one line per choice."""
        if record is None:
            head = self.STATUS_NONE
        else:
            try:
                since = self.STATUS_SINCE.format(time=self.kst(datetime.fromisoformat(str(record.get("since")))))
            except ValueError:
                since = self.STATUS_SUBSCRIBED
            head = self.STATUS_ACTIVE.format(since=since)
        return "\n".join([self.STATUS_TITLE, head, *self._choice_lines(source, prefs, quiet_hours), "",
                          self.STATUS_FOOT])

    def held_line(self, periods: Sequence[Key], end_hour: int) -> str:
        """The line on top of a held alert: it waited for the morning, and which periods it covers."""
        labels = [self.period_label(key) for key in periods]
        if len(labels) == 1:
            return self.HELD_ONE.format(period=escape(labels[0]), hour=end_hour)
        return self.HELD_MANY.format(count=len(labels), periods=escape(", ".join(labels)), hour=end_hour)
