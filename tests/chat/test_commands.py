"""What the bot understands from a message's text."""

from __future__ import annotations

import pytest

from coronabot.chat.commands import Action, Command, recognise


def bot_name() -> str:
    return "CoronaAlertTestBot"


@pytest.mark.parametrize("text, action", [
    ("/start", Action.HELP), ("/help", Action.HELP), ("도움말", Action.HELP),
    ("/subscribe", Action.SUBSCRIBE), ("/코로나 알림 등록", Action.SUBSCRIBE), ("알림 등록", Action.SUBSCRIBE),
    ("구독", Action.SUBSCRIBE), ("알림등록", Action.SUBSCRIBE),
    ("/unsubscribe", Action.UNSUBSCRIBE), ("/코로나 알림 취소", Action.UNSUBSCRIBE),
    ("알림 취소", Action.UNSUBSCRIBE), ("구독 취소", Action.UNSUBSCRIBE),
    ("/now", Action.NOW), ("/today", Action.NOW), ("/현재코로나정보", Action.NOW), ("코로나 현황", Action.NOW),
    ("오늘 확진자 몇 명?", Action.NOW), ("요즘 코로나 어때요?", Action.NOW),
    ("/about", Action.ABOUT), ("/제작자", Action.ABOUT),
    ("/NOW", Action.NOW), ("/help@CoronaAlertTestBot", Action.HELP), ("/now@coronaalerttestbot extra", Action.NOW),
    ("/weather", Action.UNKNOWN),
    ("/start subscribe", Action.SUBSCRIBE), ("/start now", Action.NOW), ("/start somewhere", Action.HELP),
])
def test_private_chat(text, action):
    assert recognise(text, True, bot_name).action is action


@pytest.mark.parametrize("text", ["안녕하세요", "", "   ", "/help@OtherBot", "날씨 어때?"])
def test_private_chat_quiet(text):
    assert recognise(text, True, bot_name) is None


def test_groups_answer_only_what_is_meant_for_this_bot():
    assert recognise("/weather", False, bot_name) is None
    assert recognise("/weather@CoronaAlertTestBot", False, bot_name).action is Action.UNKNOWN
    assert recognise("오늘 확진자 몇 명?", False, bot_name) is None
    assert recognise("구독", False, bot_name).action is Action.SUBSCRIBE
    assert recognise("/subscribe", False, bot_name).action is Action.SUBSCRIBE
    assert recognise("/start@CoronaAlertTestBot subscribe", False, bot_name).action is Action.SUBSCRIBE, \
        "what a t.me/…?startgroup=subscribe link sends"


def test_username_is_asked_only_for_addressed_commands():
    def explode() -> str:
        raise AssertionError("getMe must not be needed")
    assert recognise("/help", True, explode).action is Action.HELP
    assert recognise("코로나 현황", True, explode).action is Action.NOW


def test_long_and_hostile_texts_are_read_up_to_telegrams_limit():
    assert recognise("도움말" + "?" * 100_000, True, bot_name).action is Action.HELP
    assert recognise("구독" + " \u3000?!~。" * 50, True, bot_name).action is Action.SUBSCRIBE
    assert recognise("a" + "?" * 4094 + "a", True, bot_name) is None
    assert recognise("a" + "?" * 100_000 + "a", False, bot_name) is None
    assert recognise("/now" + " " * 100_000 + "x", False, bot_name).action is Action.NOW
    assert recognise(" " * 5000 + "/help", True, bot_name) is None, "only the first 4,096 characters are read"


@pytest.mark.parametrize("text, private, expected", [
    ("/lang", True, Command(Action.LANGUAGE, "lang", "")),
    ("/lang en", True, Command(Action.LANGUAGE, "lang", "en")),
    ("/language 한국어", True, Command(Action.LANGUAGE, "language", "한국어")),
    ("/lang@CoronaAlertTestBot ko", False, Command(Action.LANGUAGE, "lang", "ko")),
    ("언어", False, Command(Action.LANGUAGE, "언어")),
    ("English", True, Command(Action.LANGUAGE, "word", "English")),
    ("한국어", True, Command(Action.LANGUAGE, "word", "한국어")),
    ("English", False, None),  # in a group a bare word is chatter: only /lang switches there
    ("English please", True, None),
])
def test_the_forms_that_choose_a_language(text, private, expected):
    assert recognise(text, private, bot_name) == expected
