"""Recognise what a message asks for: Latin slash commands, the original bot's Korean commands, questions."""

from __future__ import annotations

import re
from collections.abc import Callable
from enum import Enum
from typing import NamedTuple

from coronabot.model.language import chosen


class Action(Enum):
    HELP = "help"
    SUBSCRIBE = "subscribe"
    UNSUBSCRIBE = "unsubscribe"
    NOW = "now"
    HISTORY = "history"
    CHART = "chart"
    SETTINGS = "settings"
    STATUS = "status"
    ABOUT = "about"
    LANGUAGE = "lang"
    UNKNOWN = "unknown"


class Command(NamedTuple):
    action: Action
    name: str
    argument: str = ""  # what follows the command ("/lang en": "en"), or the language a bare word names


LATIN = {
    "start": Action.HELP, "help": Action.HELP,
    "subscribe": Action.SUBSCRIBE, "unsubscribe": Action.UNSUBSCRIBE,
    "now": Action.NOW, "today": Action.NOW, "about": Action.ABOUT,
    "history": Action.HISTORY, "trend": Action.HISTORY, "chart": Action.CHART, "graph": Action.CHART,
    "settings": Action.SETTINGS, "status": Action.STATUS, "mysettings": Action.STATUS,
    "lang": Action.LANGUAGE, "language": Action.LANGUAGE,
}

# `/start PAYLOAD` from a link such as https://t.me/ThisBot?start=subscribe (a deep link).
START_PAYLOADS = {"subscribe": Action.SUBSCRIBE, "now": Action.NOW, "history": Action.HISTORY,
                  "chart": Action.CHART, "settings": Action.SETTINGS}

# Korean commands of the original bot and their plain-text forms, written without spaces.
KOREAN = {
    "도움말": Action.HELP, "명령어": Action.HELP,
    "코로나알림등록": Action.SUBSCRIBE, "알림등록": Action.SUBSCRIBE, "구독": Action.SUBSCRIBE,
    "코로나알림취소": Action.UNSUBSCRIBE, "알림취소": Action.UNSUBSCRIBE, "구독취소": Action.UNSUBSCRIBE,
    "현재코로나정보": Action.NOW, "코로나현황": Action.NOW, "코로나정보": Action.NOW,
    "추이": Action.HISTORY, "최근기록": Action.HISTORY, "코로나추이": Action.HISTORY,
    "그래프": Action.CHART, "차트": Action.CHART, "코로나그래프": Action.CHART,
    "설정": Action.SETTINGS, "알림설정": Action.SETTINGS,
    "내설정": Action.STATUS, "내알림": Action.STATUS, "구독상태": Action.STATUS,
    "제작자": Action.ABOUT,
    "언어": Action.LANGUAGE, "언어설정": Action.LANGUAGE,
}

# Texts longer than this are read only up to it: no command or question is longer, and Telegram's own
# limit is 4,096 characters.
MAX_TEXT_CHARS = 4096
MAX_ARGUMENT_CHARS = 64
_TRAILING_PUNCTUATION = frozenset("?!.~。？！")
_QUESTION_TOPIC = re.compile(r"(확진|코로나|감염)")
_QUESTION_ASK = re.compile(r"(몇|얼마|현황|어때|어떻|알려|오늘|이번\s*주|최신|요즘)")
# Questions about the direction ("요즘 코로나 늘고 있어?", "확진 줄었어?") get the trend table.
_QUESTION_TREND = re.compile(r"(늘었|늘고|늘어|늘엇|줄었|줄고|줄어|증가|감소|추세|추이|유행|확산)")


def _strip_trailing(text: str) -> str:
    """Drop trailing white space and question or exclamation marks, in one pass from the end."""
    end = len(text)
    while end and (text[end - 1] in _TRAILING_PUNCTUATION or text[end - 1].isspace()):
        end -= 1
    return text[:end]


def _squash(text: str) -> str:
    return "".join(_strip_trailing(text).split())


def recognise(text: str | None, private: bool, username: Callable[[], str]) -> Command | None:
    """What the text asks for, or None when the bot should stay quiet.

    ``username`` is called only for ``/cmd@BotName`` forms. Unknown slash
    commands are answered in private chats, and in groups only when addressed
    to this bot, so commands meant for other bots in a group stay unanswered.
    Natural questions are understood in private chats only.
    """
    if not text:
        return None
    text = text[:MAX_TEXT_CHARS].strip()
    if text.startswith("/"):
        head, _, rest = text[1:].partition(" ")
        name, _, target = head.partition("@")
        if target and target.lower() != username().lower():
            return None
        action = LATIN.get(name.lower())
        if name.lower() == "start" and rest.strip().lower() in START_PAYLOADS:
            action = START_PAYLOADS[rest.strip().lower()]
        if action is not None:
            return Command(action, name.lower(), rest.strip()[:MAX_ARGUMENT_CHARS])
        korean = KOREAN.get(_squash(name + rest))
        if korean is not None:
            return Command(korean, name)
        if private or target:
            return Command(Action.UNKNOWN, name)
        return None
    korean = KOREAN.get(_squash(text))
    if korean is not None:
        return Command(korean, _squash(text))
    if private and chosen(text) is not None:  # "English" or "한국어" alone switches a private chat
        return Command(Action.LANGUAGE, "word", text)
    if private and len(text) <= 100 and _QUESTION_TOPIC.search(text):
        if _QUESTION_TREND.search(text):
            return Command(Action.HISTORY, "question")
        if _QUESTION_ASK.search(text):
            return Command(Action.NOW, "question")
    return None
