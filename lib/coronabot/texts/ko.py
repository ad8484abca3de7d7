"""Every user-facing text in Korean, as Telegram HTML with interpolated values escaped.

``en.py`` has the same names in English (a test fails when one has a name the other lacks); the shared
layouts and Telegram's limits are in ``_common``.
"""

from __future__ import annotations

from datetime import datetime
from html import escape
from typing import TYPE_CHECKING, Any

from coronabot.model.announcement import Announcement, Figure
from coronabot.model.history import SUMMARY_PERIODS, TABLE_PERIODS, Direction, Point
from coronabot.model.preferences import Preferences, callback_data
from coronabot.model.weeks import Week

from ._common import KST, LANGUAGE_NAMES, body, language_row, number, pending_sentence, table
from ._common import settings_keyboard as _keyboard

if TYPE_CHECKING:
    from coronabot.model.publication import Window
    from coronabot.model.source import Pending, Source

LANGUAGE = "ko"

COMMAND_LIST = (
    "/now — 최신 코로나19 발표 수치\n"
    "/history — 최근 12주 추이 (표)\n"
    "/chart — 최근 1년 추이 그래프\n"
    "/subscribe — 새 발표가 나오면 알림 받기\n"
    "/unsubscribe — 알림 그만 받기\n"
    "/settings — 알림 조건·밤 시간·형식 고르기\n"
    "/status — 내 알림 설정 보기\n"
    "/about — 봇과 데이터 출처 안내\n"
    "/lang — 언어 바꾸기 (English: <code>/lang en</code>)\n"
    "/help — 이 도움말\n"
    "\n"
    "한국어로도 됩니다: <code>코로나 현황</code>, <code>추이</code>, <code>그래프</code>, "
    "<code>알림 등록</code>(<code>구독</code>), "
    "<code>알림 취소</code>(<code>구독 취소</code>), <code>설정</code>, <code>내 설정</code>, <code>도움말</code>"
)

HELP = "<b>코로나19 알림 봇</b> 사용법\n\n" + COMMAND_LIST

# (command, description) for setMyCommands: the Latin commands, described in this language.
BOT_COMMANDS = (
    ("now", "최신 코로나19 발표 수치"),
    ("history", "최근 12주 추이"),
    ("chart", "최근 1년 추이 그래프"),
    ("subscribe", "새 발표 알림 받기"),
    ("unsubscribe", "알림 그만 받기"),
    ("settings", "알림 조건·밤 시간·형식 고르기"),
    ("status", "내 알림 설정 보기"),
    ("about", "봇과 데이터 출처 안내"),
    ("lang", "언어 바꾸기 (한국어/English)"),
    ("help", "사용법"),
)
# setMyDescription (the empty chat's "What can this bot do?", at most 512) and setMyShortDescription (the
# profile and shared links, at most 120).
BOT_DESCRIPTION = ("질병관리청(KDCA)이 새 코로나19 수치를 발표하면 알려 드리는 봇입니다. 표본감시 병원의 주간 "
                   "코로나19 입원환자 수를 발표 그대로 전하고, 최근 추이와 1년 그래프도 보여 드립니다. "
                   "/subscribe 로 알림을 받고, /help 로 사용법을 보세요. English: /lang en")
BOT_SHORT_DESCRIPTION = "질병관리청 코로나19 발표 알림: 주간 입원환자 수, 추이와 그래프. English: /lang en"

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

# -- the chat's language: /lang, its buttons ---------------------------------------------------------------
LANGUAGE_SET = "이제 이 대화방에는 한국어로 안내해 드릴게요. 알림도 한국어로 보내 드립니다."
LANGUAGE_UNCHANGED = "이미 한국어로 안내하고 있어요."
LANGUAGE_ADMINS_ONLY = "그룹의 언어는 그룹 관리자만 바꿀 수 있어요."


def language_prompt() -> tuple[str, dict[str, Any]]:
    """/lang without a language: what each choice does, and a button for each."""
    text = ("🌐 <b>언어</b>: 지금은 한국어\n이 대화방의 답과 알림을 어떤 언어로 받을지 고르세요. "
            "<code>/lang en</code> 또는 <code>/lang ko</code> 로도 바꿀 수 있어요.")
    return text, {"inline_keyboard": [language_row(LANGUAGE)]}


# -- inline mode (@bot in any chat) ------------------------------------------------------------------------
INLINE_NO_DATA_TITLE = "아직 발표 수치가 없습니다"
INLINE_NO_DATA_DESCRIPTION = "첫 발표를 확인하면 여기서 바로 공유할 수 있어요."
INLINE_NO_DATA = "코로나19 알림 봇에 아직 저장된 발표 수치가 없습니다. 첫 발표가 나오면 공유할 수 있어요."
INLINE_CHART_TITLE = "최근 1년 추이 그래프"
INLINE_BUTTON = "🔔 새 발표 알림 받기"


def inline_title(announcement: Announcement) -> str:
    """An inline result's title: the figure the announcement leads with, e.g. '코로나19 입원환자 460명'."""
    if not announcement.figures:
        return announcement.headline
    figure = announcement.figures[0]
    return f"{figure.label} {number(figure.value)}{figure.unit}"


def shared_link(link: str, username: str) -> str:
    """The line under a shared message: where to get alerts yourself."""
    return f'\n\n🔔 새 발표 알림 받기: <a href="{escape(link, quote=True)}">@{escape(username)}</a>'


def expected_line(window_text: str | None) -> str:
    """When the next announcement is expected, or why that is not known yet."""
    if window_text is None:
        return "• 다음 발표 예상 시각: 발표를 세 번 이상 확인하면 알려 드립니다."
    return f"• 다음 발표 예상 시각: {escape(window_text)}"


PENDING = {"counting_week": "{period}는 질병관리청이 집계 중입니다.", "counting": "{period} 수치는 집계 중입니다.",
           "not_published": "{period} 수치는 아직 공개되지 않았습니다."}


def pending_line(pending: Pending | None) -> str:
    """A period the source lists without its figure yet: '2026년 40주 (9월 27일~10월 3일)는 질병관리청이 집계
    중입니다.' ("" for none)."""
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
        "<b>코로나19 알림 봇</b>\n"
        "질병관리청(KDCA)이 공개하는 코로나19 수치를 정해진 시간마다 확인하고, "
        "새 발표가 나오면 알림을 등록한 대화방에 한 번씩 보내 드립니다.\n\n"
        f"• 데이터 출처: {escape(description)}\n"
        "• 수치는 출처가 발표한 그대로 전합니다. 누적 수치의 차이로 신규 확진자 수를 만들지 않으며, "
        "증감 표시는 발표된 두 수치를 나란히 비교한 것입니다.\n"
        f"{expected}"
        "• 의료 상담은 1339(질병관리청 콜센터)로 문의하세요."
    )


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

WEEKDAYS = ("월", "화", "수", "목", "금", "토", "일")


def window_text(window: Window) -> str:
    """When an announcement is expected: '10월 8일(목) 09:00~11:30 (KST)'."""
    start, end = window.start.astimezone(KST), window.end.astimezone(KST)
    return f"{start.month}월 {start.day}일({WEEKDAYS[start.weekday()]}) {start:%H:%M}~{end:%H:%M} (KST)"


def unknown_command(first_name: str | None) -> str:
    """The answer to a command the bot does not know, addressing the sender."""
    who = f"{escape(first_name)}님, " if first_name else ""
    return f"{who}잘못된 명령어입니다. 아래 명령어를 써 주세요.\n\n" + COMMAND_LIST


def localized(announcement: Announcement, source: Source) -> Announcement:
    """The announcement in this language's words: as recorded (the source words it in Korean)."""
    return announcement


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


def _body(announcement: Announcement, source: Source) -> list[str]:
    return body(announcement, "출처", source.words(LANGUAGE).name, _figure_line, _change)


def alert(announcement: Announcement, source: Source) -> str:
    """The alert sent to subscribers when a new announcement appears."""
    announcement = localized(announcement, source)
    head = f"🦠 <b>{escape(announcement.headline)}</b>\n{escape(announcement.period)}\n"
    return "\n".join([head, *_body(announcement, source)])


def correction(announcement: Announcement, source: Source) -> str:
    """The short notice sent once when the agency corrects an announcement's figures."""
    announcement = localized(announcement, source)
    head = f"✏️ <b>정정</b>: {escape(announcement.period)} 발표 수치가 수정되었습니다.\n"
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
        text += f"\n봇이 발표를 확인한 시각: {kst(recorded_at)}"
    if line := pending_line(pending):
        text += f"\n\n⏳ {line} 발표되면 알림을 구독한 대화방에 바로 보내 드립니다."
    return text


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
    rows, shown = table(series, periods, _table_label, lambda p: f"{number(p.value)}{p.unit}")
    unit = "주" if series[-1].weekly else "일"
    words = source.words(LANGUAGE)
    head = f"📈 <b>{escape(words.trend_title)}: 최근 {shown}{unit}</b>\n출처: {escape(words.name)}"
    return (f"{head}\n\n<pre>{escape(rows)}</pre>\n"
            f"{_direction_line(series, trend, SUMMARY_PERIODS)}\n\n그래프는 /chart 로 볼 수 있어요.")


def chart_caption(source: Source, period: str) -> str:
    """The caption of /chart's picture."""
    words = source.words(LANGUAGE)
    note = f"\n※ {escape(words.trend_note)}" if words.trend_note else ""
    return (f"📈 <b>{escape(words.trend_title)}</b>\n최근 1년 추이, {escape(period)} 발표까지{note}\n"
            f"출처: {escape(words.name)}")


def chart_labels(source: Source, current: Point) -> dict[str, str]:
    """The chart's texts: title, axis labels, legend, the source line."""
    words = source.words(LANGUAGE)
    unit = "주" if current.weekly else "일"
    return {
        "title": f"{words.trend_title} — 최근 1년",
        "y": f"{words.trend_axis or ('주간 수치' if current.weekly else '일간 수치')} ({current.unit or '건'})",
        "x": "감시 주차 (일요일~토요일)" if current.weekly else "발표일",
        "recent": f"최근 52{unit}" if current.weekly else "최근 기록",
        "year_earlier": "1년 전 같은 주" if current.weekly else "1년 전 같은 날",
        "current": f"{period_label(current.key, dates=True)}: {number(current.value)}{current.unit}",
        "source": f"출처: {words.name} · {period_label(current.key)} 발표까지 · 코로나19 알림 봇",
        "note": words.trend_note,
    }


# -- per-chat choices: /settings, its buttons, /status ---------------------------------------------------
WHEN_LABELS = {"every": "새 발표마다", "rose": "{prev}보다 늘었을 때만",
               "change20": "{prev} 대비 20% 이상 늘거나 줄었을 때만", "rise50": "{prev} 대비 50% 이상 늘었을 때만"}
WHEN_BUTTONS = {"every": "발표마다", "rose": "늘었을 때만", "change20": "±20% 이상 변할 때",
                "rise50": "50% 이상 늘 때"}
NIGHT_LABELS = {"silent": "소리 없이 받기", "hold": "아침 {end}시에 모아 받기", "normal": "평소처럼 소리 내어 받기"}
NIGHT_BUTTONS = {"silent": "소리 없이", "hold": "아침 {end}시에", "normal": "그대로"}
FORMAT_LABELS = {"chart": "그래프와 함께", "text": "글만"}
CLOSE = "닫기"

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
    previous = source.words(LANGUAGE).previous or "직전 발표"
    lines = [f"• 알림 조건: <b>{WHEN_LABELS[prefs.when].format(prev=previous)}</b>"]
    if quiet_hours is not None:
        night = NIGHT_LABELS[prefs.night].format(end=quiet_hours[1])
        lines.append(f"• {night_span(quiet_hours)}: <b>{night}</b>")
    lines.append(f"• 형식: <b>{FORMAT_LABELS[prefs.format]}</b>")
    lines.append(f"• 언어: <b>{LANGUAGE_NAMES[LANGUAGE]}</b>")
    return lines


def settings_keyboard(prefs: Preferences, quiet_hours: tuple[int, int] | None) -> dict[str, Any]:
    """The inline keyboard of /settings: one button per choice, the chosen ones ticked."""
    words = {"when": WHEN_BUTTONS, "night": NIGHT_BUTTONS, "format": FORMAT_LABELS}
    return _keyboard(prefs, quiet_hours, LANGUAGE, words, CLOSE)


def settings_view(source: Source, prefs: Preferences, quiet_hours: tuple[int, int] | None) -> tuple[str, dict[str,
                  Any]]:
    """/settings for a subscribed chat: its choices and the buttons that change them."""
    lines = ["⚙️ <b>알림 설정</b>", *_choice_lines(source, prefs, quiet_hours), ""]
    words = source.words(LANGUAGE)
    if words.comparison_note:
        lines.append(f"※ {words.comparison_note}")
    if not source.compared:
        lines.append("※ 이 출처의 발표에는 비교할 직전 수치가 없어, 알림 조건과 관계없이 모든 발표를 보내 드립니다.")
    lines.append("아래 버튼을 누르면 바로 바뀝니다. 그룹에서는 관리자만 바꿀 수 있어요.")
    return "\n".join(lines), settings_keyboard(prefs, quiet_hours)


def unsubscribed_view() -> tuple[str, dict[str, Any]]:
    """/settings for a chat that does not get alerts: a subscribe button first, then the language."""
    text = ("⚙️ <b>알림 설정</b>\n이 대화방은 아직 알림을 받지 않습니다. 구독하면 알림 조건, 밤 시간, "
            "형식을 고를 수 있어요.")
    rows = [[{"text": "🔔 알림 구독하기", "callback_data": callback_data("subscribe")}], language_row(LANGUAGE)]
    return text, {"inline_keyboard": rows}


def status(source: Source, record: dict[str, Any] | None, prefs: Preferences, quiet_hours: tuple[int,
           int] | None) -> str:
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


def held_line(periods: tuple[tuple[int, int, int], ...] | list[tuple[int, int, int]], end_hour: int) -> str:
    """The line on top of a held alert: it waited for the morning, and which periods it covers."""
    labels = [period_label(key) for key in periods]
    if len(labels) == 1:
        return f"🌅 밤사이 나온 발표({escape(labels[0])})를 아침 {end_hour}시에 보내 드립니다."
    return (f"🌅 밤사이 나온 발표 {len(labels)}건({escape(', '.join(labels))})을 모아 아침 {end_hour}시에 "
            "보내 드립니다. 아래는 가장 최근 발표입니다.")
