"""Every user-facing text, in Korean, as Telegram HTML with interpolated values escaped."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from html import escape, unescape
from typing import TYPE_CHECKING

from .announcement import Announcement, Figure
from .history import SUMMARY_PERIODS, TABLE_PERIODS, Direction, Point, change
from .preferences import CHOICES, Preferences, callback_data
from .weeks import Week

if TYPE_CHECKING:
    from .sources._source import Source

KST = timezone(timedelta(hours=9), "KST")
MAX_MESSAGE_CHARS = 4096
MAX_CAPTION_CHARS = 1024

COMMAND_LIST = (
    "/now — 최신 코로나19 발표 수치\n"
    "/history — 최근 12주 추이 (표)\n"
    "/chart — 최근 1년 추이 그래프\n"
    "/subscribe — 새 발표가 나오면 알림 받기\n"
    "/unsubscribe — 알림 그만 받기\n"
    "/settings — 알림 조건·밤 시간·형식 고르기\n"
    "/status — 내 알림 설정 보기\n"
    "/about — 봇과 데이터 출처 안내\n"
    "/help — 이 도움말\n"
    "\n"
    "한국어로도 됩니다: <code>코로나 현황</code>, <code>추이</code>, <code>그래프</code>, "
    "<code>알림 등록</code>(<code>구독</code>), "
    "<code>알림 취소</code>(<code>구독 취소</code>), <code>설정</code>, <code>내 설정</code>, <code>도움말</code>"
)

HELP = "<b>코로나19 알림 봇</b> 사용법\n\n" + COMMAND_LIST

# (command, description) for setMyCommands: Latin commands, Korean descriptions.
BOT_COMMANDS = (
    ("now", "최신 코로나19 발표 수치"),
    ("history", "최근 12주 추이"),
    ("chart", "최근 1년 추이 그래프"),
    ("subscribe", "새 발표 알림 받기"),
    ("unsubscribe", "알림 그만 받기"),
    ("settings", "알림 조건·밤 시간·형식 고르기"),
    ("status", "내 알림 설정 보기"),
    ("about", "봇과 데이터 출처 안내"),
    ("help", "사용법"),
)

SUBSCRIBED = ("✅ 알림을 등록했습니다. 질병관리청이 새 코로나19 수치를 발표하면 바로 알려 드릴게요.\n"
              "그만 받으려면 /unsubscribe 를 보내 주세요.")
ALREADY_SUBSCRIBED = "이미 알림이 등록되어 있습니다. 그만 받으려면 /unsubscribe 를 보내 주세요."
UNSUBSCRIBED = "알림을 취소했습니다. 다시 받으려면 /subscribe 를 보내 주세요."
NOT_SUBSCRIBED = "등록된 알림이 없습니다. 알림을 받으려면 /subscribe 를 보내 주세요."
NO_DATA_YET = "아직 저장된 발표 수치가 없습니다. 첫 발표를 확인하면 /now 로 볼 수 있어요."
TRY_AGAIN_LATER = "⚠️ 지금은 요청을 처리할 수 없습니다. 잠시 후 다시 시도해 주세요."
UNRECOGNISED = "무슨 말씀인지 잘 모르겠어요. 사용법은 /help 를 보내 주세요."
ADMINS_ONLY = "그룹의 알림 등록과 취소는 그룹 관리자만 할 수 있어요. 관리자에게 부탁해 주세요."
NON_TEXT_HINT = "글자로 된 명령만 알아들어요. 사용법은 /help 를 보내 주세요."
NO_HISTORY_YET = "아직 쌓인 발표 기록이 없습니다. 첫 발표를 확인하면 /history 로 볼 수 있어요."
NO_CHART_YET = ("아직 그래프가 없습니다. 새 발표가 나오면 그래프를 만들어 알림과 함께 보내 드리고, "
                "그 뒤로는 /chart 로 볼 수 있어요. 지금은 /history 로 최근 추이를 표로 볼 수 있습니다.")

TREND_WORDS = {"rising": "📈 증가 추세", "falling": "📉 감소 추세", "flat": "➡️ 큰 변화 없음"}


def expected_line(window_text: str | None) -> str:
    """When the next announcement is expected, or why that is not known yet."""
    if window_text is None:
        return "• 다음 발표 예상 시각: 발표를 세 번 이상 확인하면 알려 드립니다."
    return f"• 다음 발표 예상 시각: {escape(window_text)}"


def about(source: Source, window_text: str | None = None, known: bool = True) -> str:
    """The answer to /about, naming the source this deployment reads and, when ``known``, when its next
    announcement is expected (``window_text``, None while the bot has seen fewer than three)."""
    description = source.texts.description
    expected = expected_line(window_text) + "\n" if known else ""
    return (
        "<b>코로나19 알림 봇</b>\n"
        "질병관리청(KDCA)이 공개하는 코로나19 수치를 정해진 시간마다 확인하고, "
        "새 발표가 나오면 알림을 등록한 대화방에 한 번씩 보내 드립니다.\n\n"
        f"• 데이터 출처: {escape(description)}\n"
        "• 수치는 출처가 발표한 그대로 전합니다. 누적 수치의 차이로 신규 확진자 수를 만들지 않으며, "
        "증감 표시는 발표된 두 수치를 나란히 비교한 것입니다.\n"
        f"{expected}"
        "• 의료 상담은 1339(질병관리청 콜센터)로 문의하세요."
    )


def number(value: int) -> str:
    """Thousands separators: 143596 → '143,596'."""
    return f"{value:,}"


def week_dates(week: Week) -> str:
    """The days a KDCA week covers: '9월 13일~19일', '9월 27일~10월 3일', '12월 27일~1월 2일'."""
    first, last = week.first_day, week.last_day
    end = f"{last.day}일" if last.month == first.month else f"{last.month}월 {last.day}일"
    return f"{first.month}월 {first.day}일~{end}"


def week_period(week: Week) -> str:
    """A week with its days: '2027년 1주 (12월 27일~1월 2일)'."""
    return f"{week.year}년 {week.number}주 ({week_dates(week)})"


def kst(moment: datetime) -> str:
    """A moment as Korean local time, e.g. '2026년 9월 30일 14:05 (KST)'."""
    local = moment.astimezone(KST)
    return f"{local.year}년 {local.month}월 {local.day}일 {local:%H:%M} (KST)"


def unknown_command(first_name: str | None) -> str:
    """The answer to a command the bot does not know, addressing the sender."""
    who = f"{escape(first_name)}님, " if first_name else ""
    return f"{who}잘못된 명령어입니다. 아래 명령어를 써 주세요.\n\n" + COMMAND_LIST


def _figure_line(figure: Figure) -> str:
    return f"• {escape(figure.label)}: <b>{number(figure.value)}{escape(figure.unit)}</b>"


def _change(current: Figure, previous: Figure) -> str:
    """The previous period's published figure and how the current one differs from it."""
    delta = current.value - previous.value
    if delta > 0:
        trend = f"{number(delta)}{escape(current.unit)} 증가"
    elif delta < 0:
        trend = f"{number(-delta)}{escape(current.unit)} 감소"
    else:
        trend = "변동 없음"
    period = "전주" if current.kind == "weekly" else "직전 발표"
    return (f"• {escape(previous.label)}: {number(previous.value)}{escape(previous.unit)} "
            f"→ {period} 대비 {trend}")


def _body(announcement: Announcement, source_name: str) -> list[str]:
    lines = []
    shown_as_change = {figure.compared_with for figure in announcement.figures}
    for figure in announcement.figures:
        if figure.key in shown_as_change:
            continue
        lines.append(_figure_line(figure))
        previous = announcement.figure(figure.compared_with) if figure.compared_with else None
        if previous is not None:
            lines.append(_change(figure, previous))
    if announcement.note:
        lines.append("")
        lines.append(f"※ {escape(announcement.note)}")
    lines.append(f'출처: <a href="{escape(announcement.url, quote=True)}">{escape(source_name)}</a>')
    return lines


def alert(announcement: Announcement, source: Source) -> str:
    """The alert sent to subscribers when a new announcement appears."""
    head = f"🦠 <b>{escape(announcement.headline)}</b>\n{escape(announcement.period)}\n"
    return "\n".join([head, *_body(announcement, source.texts.name)])


def correction(announcement: Announcement) -> str:
    """The short notice sent once when the agency corrects an announcement's figures."""
    head = (f"✏️ <b>정정</b>: {escape(announcement.period)} 발표 수치가 수정되었습니다.\n")
    return "\n".join([head, *(_figure_line(f) for f in announcement.figures)])


def broadcast_text(kind: str, announcement: Announcement, source: Source) -> str:
    """What a broadcast of this ``kind`` sends: the alert, or the correction."""
    return correction(announcement) if kind == "correction" else alert(announcement, source)


def current_figures(announcement: Announcement | None, source: Source,
                    recorded_at: datetime | None = None) -> str:
    """The answer to /now: the latest stored announcement and when the bot saw it, or a plain 'nothing yet'."""
    if announcement is None:
        return NO_DATA_YET
    text = f"📊 <b>{escape(announcement.headline)}</b>\n{escape(announcement.period)}\n\n" + \
        "\n".join(_body(announcement, source.texts.name))
    if recorded_at is not None:
        text += f"\n봇이 발표를 확인한 시각: {kst(recorded_at)}"
    return text


MAX_QUOTED_ERROR_CHARS = 500  # even fully escaped (&quot; is 6 characters) the notice stays under 4,096


def source_failing(source: Source, error: str) -> str:
    """Admin notice: the source started failing. A long error (a layout error quoting the source's captions)
    is cut so the notice always fits in one message; the log line keeps it whole."""
    if len(error) > MAX_QUOTED_ERROR_CHARS:
        error = error[:MAX_QUOTED_ERROR_CHARS] + f" … (총 {len(error):,}자 중 일부, 전체는 로그에 있습니다)"
    return (f"🚨 <b>출처 확인 실패</b>: {escape(source.texts.name)}\n"
            f"{escape(error)}\n복구되면 다시 알려 드립니다. 구독자에게는 아무것도 보내지 않았습니다.")


def late_notice(source: Source, window_text: str, last_period: str) -> str:
    """Admin notice: the expected announcement has not come (never sent to subscribers)."""
    last = f"\n마지막으로 확인한 발표: {escape(last_period)}" if last_period else ""
    return (f"⏰ 이번 주 발표가 예상 시각보다 늦어지고 있습니다: {escape(source.texts.name)}\n"
            f"예상 시각: {escape(window_text)}{last}\n"
            "계속 확인하고 있으며, 발표가 나오면 다시 알려 드립니다.")


def late_recovered(source: Source, announcement: str, lateness: str) -> str:
    """Admin notice: the late announcement came, and how late it was."""
    return (f"✅ 늦어진 발표가 나왔습니다: {escape(source.texts.name)} {escape(announcement)}\n"
            f"예상 시각보다 {escape(lateness)} 늦었습니다. 구독자에게 알림을 보냈습니다.")


def source_recovered(source: Source) -> str:
    """Admin notice: the source works again."""
    return f"✅ <b>출처 복구</b>: {escape(source.texts.name)} 확인이 다시 정상입니다."


def test_message(moment: datetime) -> str:
    """The operator's test message (python -m coronabot send-test)."""
    return f"🔔 코로나19 알림 봇 테스트 메시지입니다. ({kst(moment)})"


def sendable(text: object) -> bool:
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


def period_label(key: tuple[int, int, int], short: bool = False, dates: bool = False) -> str:
    """A period in Korean: '2026년 39주' (short: '26년 39주'; dates: '2026년 39주 (9월 20일~26일)'), or
    '2021.06.05' (short: '6.5')."""
    year, part, day = key
    if day == 0:
        if dates:
            return week_period(Week(year, part))
        return f"{year % 100}년 {part}주" if short else f"{year}년 {part}주"
    return f"{part}.{day}" if short else f"{year}.{part:02d}.{day:02d}"


def _table_label(key: tuple[int, int, int]) -> str:
    """A row of /history: '2026년 39주 9.20~9.26' (a week with its days), or '2021.06.05'."""
    if key[2]:
        return period_label(key)
    week = Week(key[0], key[1])
    first, last = week.first_day, week.last_day
    return f"{period_label(key)} {first.month}.{first.day}~{last.month}.{last.day}"


def trend_title(source: Source) -> str:
    return source.texts.trend_title


def _change_mark(delta: int | None) -> str:
    if delta is None:
        return ""
    if delta > 0:
        return f"▲{number(delta)}"
    if delta < 0:
        return f"▼{number(-delta)}"
    return "―"


def _direction_line(series: list[Point], trend: Direction | None, periods: int) -> str:
    unit = "주" if series[-1].weekly else "일"
    if series[-1].kind == "cumulative":
        return "※ 누적 수치입니다. 두 누적 수치의 차이는 발표된 수치가 아니어서 계산해 보여 드리지 않습니다."
    if trend is None:
        return f"최근 {periods}{unit}의 기록이 모두 있어야 추세를 알려 드릴 수 있어요."
    first, last = trend.first, trend.last
    return (f"최근 {periods}{unit}: <b>{TREND_WORDS[trend.trend]}</b> "
            f"({periods}{unit} 중 {trend.rises}{unit} 증가·{trend.falls}{unit} 감소, "
            f"{period_label(first.key)} {number(first.value)}{escape(first.unit)} → "
            f"{period_label(last.key)} {number(last.value)}{escape(last.unit)})")


def history(source: Source, series: list[Point], trend: Direction | None, periods: int = TABLE_PERIODS) -> str:
    """The answer to /history: the last periods as a table with the change from the period before
    (▲ up, ▼ down, ― unchanged; blank where the period before is missing), and the direction."""
    if not series:
        return NO_HISTORY_YET
    previous = [None, *series[:-1]]
    shown = list(zip(previous, series, strict=True))[-periods:]
    values = [f"{number(p.value)}{p.unit}" for _, p in shown]
    labels = [_table_label(p.key) for _, p in shown]
    width, label_width = max(len(v) for v in values), max(len(label) for label in labels)
    rows = [f"{label:<{label_width}}  {v:>{width}}  {_change_mark(change(before, p))}".rstrip()
            for (before, p), label, v in zip(shown, labels, values, strict=True)]
    unit = "주" if series[-1].weekly else "일"
    head = (f"📈 <b>{escape(trend_title(source))}: 최근 {len(shown)}{unit}</b>\n"
            f"출처: {escape(source.texts.name)}")
    return (f"{head}\n\n<pre>{escape(chr(10).join(rows))}</pre>\n"
            f"{_direction_line(series, trend, SUMMARY_PERIODS)}\n\n그래프는 /chart 로 볼 수 있어요.")



# The version of the words, stored with each broadcast and uploaded chart: a broadcast resumed after an upgrade
# is sent in this version's words, and /chart never shows a picture drawn with older ones (before 2, the
# kdca-sentinel figure was called "바이러스 검출 건수" for what are hospitalised patients).
WORDING = 2


def chart_caption(source: Source, period: str) -> str:
    """The caption of /chart's picture."""
    note = f"\n※ {escape(source.texts.trend_note)}" if source.texts.trend_note else ""
    return (f"📈 <b>{escape(trend_title(source))}</b>\n최근 1년 추이, {escape(period)} 발표까지{note}\n"
            f"출처: {escape(source.texts.name)}")


def chart_labels(source: Source, current: Point) -> dict[str, str]:
    """The chart's Korean texts: title, axis labels, legend, the source line."""
    unit = "주" if current.weekly else "일"
    return {
        "title": f"{trend_title(source)} — 최근 1년",
        "y": f"{source.texts.trend_axis or ('주간 수치' if current.weekly else '일간 수치')} ({current.unit or '건'})",
        "x": "감시 주차 (일요일~토요일)" if current.weekly else "발표일",
        "recent": f"최근 52{unit}" if current.weekly else "최근 기록",
        "year_earlier": "1년 전 같은 주" if current.weekly else "1년 전 같은 날",
        "current": f"{period_label(current.key, dates=True)}: {number(current.value)}{current.unit}",
        "source": f"출처: {source.texts.name} · {period_label(current.key)} 발표까지 · 코로나19 알림 봇",
        "note": source.texts.trend_note,
    }


# -- per-chat choices: /settings, its buttons, /status ---------------------------------------------------
WHEN_LABELS = {"every": "새 발표마다", "rose": "{prev}보다 늘었을 때만",
               "change20": "{prev} 대비 20% 이상 늘거나 줄었을 때만", "rise50": "{prev} 대비 50% 이상 늘었을 때만"}
WHEN_BUTTONS = {"every": "발표마다", "rose": "늘었을 때만", "change20": "±20% 이상 변할 때",
                "rise50": "50% 이상 늘 때"}
NIGHT_LABELS = {"silent": "소리 없이 받기", "hold": "아침 {end}시에 모아 받기", "normal": "평소처럼 소리 내어 받기"}
NIGHT_BUTTONS = {"silent": "소리 없이", "hold": "아침 {end}시에", "normal": "그대로"}
FORMAT_LABELS = {"chart": "그래프와 함께", "text": "글만"}

SETTING_SAVED = "저장했어요 ✅"
SETTING_UNCHANGED = "이미 그렇게 설정되어 있어요."
SETTINGS_CLOSED = "설정을 닫았어요. 다시 열려면 /settings"
BUTTON_UNKNOWN = "알 수 없는 버튼이에요. /settings 를 다시 보내 주세요."
BUTTON_STALE = "예전 설정 화면이라 지금 설정으로 새로 고쳤어요. 다시 눌러 주세요."
BUTTON_UNUSABLE = "이 버튼은 더 이상 쓸 수 없어요. /settings 를 다시 보내 주세요."
SETTINGS_ADMINS_ONLY = "이 대화방의 알림 설정은 관리자만 바꿀 수 있어요."
SUBSCRIBE_FIRST = "먼저 알림을 구독해 주세요. 아래 버튼을 누르면 됩니다."
SUBSCRIBED_BY_BUTTON = "알림을 구독했어요 ✅"
BUTTON_TRY_AGAIN = "⚠️ 지금은 저장하지 못했어요. 잠시 후 다시 눌러 주세요."


def night_span(quiet_hours: tuple[int, int]) -> str:
    """The quiet hours in Korean: '밤 22시~다음 날 8시', '12시~14시'."""
    start, end = quiet_hours
    return f"밤 {start}시~다음 날 {end}시" if start > end else f"{start}시~{end}시"


def _choice_lines(source: Source, prefs: Preferences, quiet_hours: tuple[int, int] | None) -> list[str]:
    lines = [f"• 알림 조건: <b>{WHEN_LABELS[prefs.when].format(prev=source.texts.previous)}</b>"]
    if quiet_hours is not None:
        night = NIGHT_LABELS[prefs.night].format(end=quiet_hours[1])
        lines.append(f"• {night_span(quiet_hours)}: <b>{night}</b>")
    lines.append(f"• 형식: <b>{FORMAT_LABELS[prefs.format]}</b>")
    return lines


def _button(label: str, field: str, value: str, current: str) -> dict:
    return {"text": ("✅ " if value == current else "") + label, "callback_data": callback_data("set", field, value)}


def settings_keyboard(prefs: Preferences, quiet_hours: tuple[int, int] | None) -> dict:
    """The inline keyboard of /settings: one button per choice, the chosen ones ticked."""
    when = [_button(WHEN_BUTTONS[v], "when", v, prefs.when) for v in CHOICES["when"]]
    rows = [when[:2], when[2:]]
    if quiet_hours is not None:
        rows.append([_button(NIGHT_BUTTONS[v].format(end=quiet_hours[1]), "night", v, prefs.night)
                     for v in CHOICES["night"]])
    rows.append([_button(FORMAT_LABELS[v], "format", v, prefs.format) for v in CHOICES["format"]])
    rows.append([{"text": "닫기", "callback_data": callback_data("close")}])
    return {"inline_keyboard": rows}


def settings_view(source: Source, prefs: Preferences, quiet_hours: tuple[int, int] | None) -> tuple[str, dict]:
    """/settings for a subscribed chat: its choices and the buttons that change them."""
    lines = ["⚙️ <b>알림 설정</b>", *_choice_lines(source, prefs, quiet_hours), ""]
    if source.texts.comparison_note:
        lines.append(f"※ {source.texts.comparison_note}")
    if not source.compared:
        lines.append("※ 이 출처의 발표에는 비교할 직전 수치가 없어, 알림 조건과 관계없이 모든 발표를 보내 드립니다.")
    lines.append("아래 버튼을 누르면 바로 바뀝니다. 그룹에서는 관리자만 바꿀 수 있어요.")
    return "\n".join(lines), settings_keyboard(prefs, quiet_hours)


def unsubscribed_view() -> tuple[str, dict]:
    """/settings for a chat that does not get alerts: a subscribe button first."""
    text = ("⚙️ <b>알림 설정</b>\n이 대화방은 아직 알림을 받지 않습니다. 구독하면 알림 조건, 밤 시간, "
            "형식을 고를 수 있어요.")
    return text, {"inline_keyboard": [[{"text": "🔔 알림 구독하기", "callback_data": callback_data("subscribe")}]]}


def status(source: Source, record: dict | None, prefs: Preferences, quiet_hours: tuple[int, int] | None) -> str:
    """/status: whether the chat is subscribed and since when, and one line per choice."""
    if record is None:
        head = "• 구독: <b>받지 않음</b> (/subscribe 로 시작)"
    else:
        try:
            since = f"{kst(datetime.fromisoformat(str(record.get('since'))))}부터"
        except ValueError:
            since = "구독 중"
        head = f"• 구독: <b>받는 중</b>, {since}"
    return "\n".join(["📋 <b>내 알림 설정</b>", head, *_choice_lines(source, prefs, quiet_hours), "",
                      "바꾸려면 /settings 를 보내 주세요."])


def held_line(periods: tuple[str, ...] | list[str], end_hour: int) -> str:
    """The line on top of a held alert: it waited for the morning, and which periods it covers."""
    if len(periods) == 1:
        return f"🌅 밤사이 나온 발표({escape(periods[0])})를 아침 {end_hour}시에 보내 드립니다."
    return (f"🌅 밤사이 나온 발표 {len(periods)}건({escape(', '.join(periods))})을 모아 아침 {end_hour}시에 "
            "보내 드립니다. 아래는 가장 최근 발표입니다.")
