"""The bot's Korean: every word and template of ``Words``, and the phrases Korean orders its own way (dates,
periods, the trend's sentence). The layouts are in ``_layouts``; an announcement is recorded in the source's
Korean words, so it is shown as recorded."""

from __future__ import annotations

from datetime import datetime
from html import escape
from typing import TYPE_CHECKING

from coronabot.model.announcement import Announcement, Figure
from coronabot.model.history import Direction, Point
from coronabot.model.seoul import KST
from coronabot.model.weeks import Week

from ._common import number
from ._words import Key, Words

if TYPE_CHECKING:
    from coronabot.model.publication import Window
    from coronabot.model.source import Source, SourceTexts

WEEKDAYS = ("월", "화", "수", "목", "금", "토", "일")
TREND_WORDS = {"rising": "📈 증가 추세", "falling": "📉 감소 추세", "flat": "➡️ 큰 변화 없음"}

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
FORMAT_LABELS = {"chart": "그래프와 함께", "text": "글만"}


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


def window_text(window: Window) -> str:
    """When an announcement is expected: '10월 8일(목) 09:00~11:30 (KST)'."""
    start, end = window.start.astimezone(KST), window.end.astimezone(KST)
    return f"{start.month}월 {start.day}일({WEEKDAYS[start.weekday()]}) {start:%H:%M}~{end:%H:%M} (KST)"


def period_label(key: Key, short: bool = False, dates: bool = False) -> str:
    """A period in Korean: '2026년 39주' (short: '26년 39주'; dates: '2026년 39주 (9월 20일~26일)'), or
    '2021.06.05' (short: '6.5')."""
    year, part, day = key
    if day == 0:
        if dates:
            return week_period(Week(year, part))
        return f"{year % 100}년 {part}주" if short else f"{year}년 {part}주"
    return f"{part}.{day}" if short else f"{year}.{part:02d}.{day:02d}"


def table_label(key: Key) -> str:
    """A row of /history: '2026년 39주 9.20~9.26' (a week with its days), or '2021.06.05'."""
    if key[2]:
        return period_label(key)
    week = Week(key[0], key[1])
    first, last = week.first_day, week.last_day
    return f"{period_label(key)} {first.month}.{first.day}~{last.month}.{last.day}"


def table_value(point: Point) -> str:
    return f"{number(point.value)}{point.unit}"


def night_span(quiet_hours: tuple[int, int]) -> str:
    """The quiet hours in Korean: '밤 22시~다음 날 8시', '12시~14시'."""
    start, end = quiet_hours
    return f"밤 {start}시~다음 날 {end}시" if start > end else f"{start}시~{end}시"


def figure_line(figure: Figure) -> str:
    return f"• {escape(figure.label)}: <b>{number(figure.value)}{escape(figure.unit)}</b>"


def change_line(current: Figure, previous: Figure) -> str:
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


def direction_line(series: list[Point], trend: Direction | None, periods: int) -> str:
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


def inline_title(announcement: Announcement) -> str:
    """An inline result's title: the figure the announcement leads with, e.g. '코로나19 입원환자 460명'."""
    if not announcement.figures:
        return announcement.headline
    figure = announcement.figures[0]
    return f"{figure.label} {number(figure.value)}{figure.unit}"


def localized(announcement: Announcement, source: Source) -> Announcement:
    """The announcement in Korean: as recorded (the source words it in Korean)."""
    return announcement


def chart_texts(words: SourceTexts, current: Point) -> dict[str, str]:
    """The chart's texts: title, axis labels, legend, the source line."""
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


WORDS = Words(
    LANGUAGE="ko",
    COMMAND_LIST=COMMAND_LIST,
    HELP="<b>코로나19 알림 봇</b> 사용법\n\n" + COMMAND_LIST,
    BOT_COMMANDS=(
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
    ),
    BOT_DESCRIPTION=("질병관리청(KDCA)이 새 코로나19 수치를 발표하면 알려 드리는 봇입니다. 표본감시 병원의 주간 "
                     "코로나19 입원환자 수를 발표 그대로 전하고, 최근 추이와 1년 그래프도 보여 드립니다. "
                     "/subscribe 로 알림을 받고, /help 로 사용법을 보세요. English: /lang en"),
    BOT_SHORT_DESCRIPTION="질병관리청 코로나19 발표 알림: 주간 입원환자 수, 추이와 그래프. English: /lang en",
    UNKNOWN_COMMAND="잘못된 명령어입니다. 아래 명령어를 써 주세요.\n\n{commands}",
    UNKNOWN_COMMAND_TO="{name}님, 잘못된 명령어입니다. 아래 명령어를 써 주세요.\n\n{commands}",

    SUBSCRIBED=("✅ 알림을 등록했습니다. 질병관리청이 새 코로나19 수치를 발표하면 바로 알려 드릴게요.\n"
                "그만 받으려면 /unsubscribe 를 보내 주세요."),
    ALREADY_SUBSCRIBED="이미 알림이 등록되어 있습니다. 그만 받으려면 /unsubscribe 를 보내 주세요.",
    UNSUBSCRIBED="알림을 취소했습니다. 다시 받으려면 /subscribe 를 보내 주세요.",
    NOT_SUBSCRIBED="등록된 알림이 없습니다. 알림을 받으려면 /subscribe 를 보내 주세요.",
    NO_DATA_YET="아직 저장된 발표 수치가 없습니다. 첫 발표를 확인하면 /now 로 볼 수 있어요.",
    TRY_AGAIN_LATER="⚠️ 지금은 요청을 처리할 수 없습니다. 잠시 후 다시 시도해 주세요.",
    UNRECOGNISED="무슨 말씀인지 잘 모르겠어요. 사용법은 /help 를 보내 주세요.",
    ADMINS_ONLY="그룹의 알림 등록과 취소는 그룹 관리자만 할 수 있어요. 관리자에게 부탁해 주세요.",
    NON_TEXT_HINT="글자로 된 명령만 알아들어요. 사용법은 /help 를 보내 주세요.",
    NO_HISTORY_YET="아직 쌓인 발표 기록이 없습니다. 첫 발표를 확인하면 /history 로 볼 수 있어요.",
    NO_CHART_YET=("아직 그래프가 없습니다. 새 발표가 나오면 그래프를 만들어 알림과 함께 보내 드리고, "
                  "그 뒤로는 /chart 로 볼 수 있어요. 지금은 /history 로 최근 추이를 표로 볼 수 있습니다."),

    LANGUAGE_SET="이제 이 대화방에는 한국어로 안내해 드릴게요. 알림도 한국어로 보내 드립니다.",
    LANGUAGE_UNCHANGED="이미 한국어로 안내하고 있어요.",
    LANGUAGE_ADMINS_ONLY="그룹의 언어는 그룹 관리자만 바꿀 수 있어요.",
    LANGUAGE_PROMPT=("🌐 <b>언어</b>: 지금은 한국어\n이 대화방의 답과 알림을 어떤 언어로 받을지 고르세요. "
                     "<code>/lang en</code> 또는 <code>/lang ko</code> 로도 바꿀 수 있어요."),

    INLINE_NO_DATA_TITLE="아직 발표 수치가 없습니다",
    INLINE_NO_DATA_DESCRIPTION="첫 발표를 확인하면 여기서 바로 공유할 수 있어요.",
    INLINE_NO_DATA="코로나19 알림 봇에 아직 저장된 발표 수치가 없습니다. 첫 발표가 나오면 공유할 수 있어요.",
    INLINE_CHART_TITLE="최근 1년 추이 그래프",
    INLINE_BUTTON="🔔 새 발표 알림 받기",
    SHARED_LINK='\n\n🔔 새 발표 알림 받기: <a href="{link}">@{username}</a>',

    SOURCE_WORD="출처",
    CORRECTION="✏️ <b>정정</b>: {period} 발표 수치가 수정되었습니다.\n",
    SEEN_AT="\n봇이 발표를 확인한 시각: {time}",
    PENDING={"counting_week": "{period}는 질병관리청이 집계 중입니다.", "counting": "{period} 수치는 집계 중입니다.",
             "not_published": "{period} 수치는 아직 공개되지 않았습니다."},
    PENDING_NOW="\n\n⏳ {line} 발표되면 알림을 구독한 대화방에 바로 보내 드립니다.",
    EXPECTED="• 다음 발표 예상 시각: {window}",
    EXPECTED_UNKNOWN="• 다음 발표 예상 시각: 발표를 세 번 이상 확인하면 알려 드립니다.",
    ABOUT=("<b>코로나19 알림 봇</b>\n"
           "질병관리청(KDCA)이 공개하는 코로나19 수치를 정해진 시간마다 확인하고, "
           "새 발표가 나오면 알림을 등록한 대화방에 한 번씩 보내 드립니다.\n\n"
           "• 데이터 출처: {description}\n"
           "• 수치는 출처가 발표한 그대로 전합니다. 누적 수치의 차이로 신규 확진자 수를 만들지 않으며, "
           "증감 표시는 발표된 두 수치를 나란히 비교한 것입니다.\n"
           "{expected}"
           "• 의료 상담은 1339(질병관리청 콜센터)로 문의하세요."),

    TREND_WORDS=TREND_WORDS,
    HISTORY_HEAD="📈 <b>{title}: 최근 {count}{unit}</b>\n출처: {source}",
    HISTORY_UNITS={True: "주", False: "일"},
    HISTORY_FOOT="그래프는 /chart 로 볼 수 있어요.",
    CHART_CAPTION="📈 <b>{title}</b>\n최근 1년 추이, {period} 발표까지{note}\n출처: {source}",

    WHEN_LABELS={"every": "새 발표마다", "rose": "{prev}보다 늘었을 때만",
                 "change20": "{prev} 대비 20% 이상 늘거나 줄었을 때만", "rise50": "{prev} 대비 50% 이상 늘었을 때만"},
    WHEN_BUTTONS={"every": "발표마다", "rose": "늘었을 때만", "change20": "±20% 이상 변할 때",
                  "rise50": "50% 이상 늘 때"},
    NIGHT_LABELS={"silent": "소리 없이 받기", "hold": "아침 {end}시에 모아 받기", "normal": "평소처럼 소리 내어 받기"},
    NIGHT_BUTTONS={"silent": "소리 없이", "hold": "아침 {end}시에", "normal": "그대로"},
    FORMAT_LABELS=FORMAT_LABELS,
    FORMAT_CHOSEN=FORMAT_LABELS,
    CLOSE="닫기",
    PREVIOUS_DEFAULT="직전 발표",
    CHOICE_LINES={"when": "• 알림 조건: <b>{choice}</b>", "format": "• 형식: <b>{choice}</b>",
                  "language": "• 언어: <b>{choice}</b>"},
    SETTINGS_TITLE="⚙️ <b>알림 설정</b>",
    SETTINGS_UNCOMPARED="※ 이 출처의 발표에는 비교할 직전 수치가 없어, 알림 조건과 관계없이 모든 발표를 보내 드립니다.",
    SETTINGS_HINT="아래 버튼을 누르면 바로 바뀝니다. 그룹에서는 관리자만 바꿀 수 있어요.",
    UNSUBSCRIBED_VIEW=("⚙️ <b>알림 설정</b>\n이 대화방은 아직 알림을 받지 않습니다. 구독하면 알림 조건, 밤 시간, "
                       "형식을 고를 수 있어요."),
    SUBSCRIBE_BUTTON="🔔 알림 구독하기",
    STATUS_TITLE="📋 <b>내 알림 설정</b>",
    STATUS_NONE="• 구독: <b>받지 않음</b> (/subscribe 로 시작)",
    STATUS_ACTIVE="• 구독: <b>받는 중</b>, {since}",
    STATUS_SINCE="{time}부터",
    STATUS_SUBSCRIBED="구독 중",
    STATUS_FOOT="바꾸려면 /settings 를 보내 주세요.",
    HELD_ONE="🌅 밤사이 나온 발표({period})를 아침 {hour}시에 보내 드립니다.",
    HELD_MANY=("🌅 밤사이 나온 발표 {count}건({periods})을 모아 아침 {hour}시에 보내 드립니다. "
               "아래는 가장 최근 발표입니다."),
    SETTING_SAVED="저장했어요 ✅",
    SETTING_UNCHANGED="이미 그렇게 설정되어 있어요.",
    SETTINGS_CLOSED="설정을 닫았어요. 다시 열려면 /settings",
    BUTTON_UNKNOWN="알 수 없는 버튼이에요. /settings 를 다시 보내 주세요.",
    BUTTON_STALE="예전 설정 화면이라 지금 설정으로 새로 고쳤어요. 다시 눌러 주세요.",
    BUTTON_UNUSABLE="이 버튼은 더 이상 쓸 수 없어요. /settings 를 다시 보내 주세요.",
    SETTINGS_ADMINS_ONLY="이 대화방의 알림 설정은 관리자만 바꿀 수 있어요.",
    SUBSCRIBE_FIRST="먼저 알림을 구독해 주세요. 아래 버튼을 누르면 됩니다.",
    SUBSCRIBED_BY_BUTTON="알림을 구독했어요 ✅",
    BUTTON_TRY_AGAIN="⚠️ 지금은 저장하지 못했어요. 잠시 후 다시 눌러 주세요.",

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
