"""/settings, its buttons and /status through the real webhook function, the local database and the fake
Telegram server, which plays Telegram: it executes what the webhook answers (the reply with its keyboard,
the edit after a press) and keeps each message with its keyboard."""

from __future__ import annotations

import itertools

import pytest

from support import PRIVATE_CHAT, message

_update_ids = itertools.count(720_000_001)
_query_ids = itertools.count(1)
ADMIN_USER, MEMBER_USER = 1544010213, 1544010299
CHANNEL = -1009876543210
# A group of its own: the webhook process caches administrator answers for a minute, across tests.
GROUP = -1002223334445


def press(data: object, chat_id: int = PRIVATE_CHAT, message_id: int | None = 1001, user: int = ADMIN_USER,
          update_id: int | None = None, query_id: str | None = None) -> dict:
    chat_type = "private" if chat_id > 0 else ("channel" if chat_id == CHANNEL else "supergroup")
    sender = {"id": user, "is_bot": False, "first_name": "지민", "language_code": "ko"}
    query = {"id": query_id or f"q{next(_query_ids)}", "from": sender,
             "chat_instance": "-5", "data": data}
    if message_id is not None:
        query["message"] = {"message_id": message_id, "date": 1790000000, "chat": {"id": chat_id, "type": chat_type},
                            "text": "⚙️ 알림 설정"}
    return {"update_id": update_id or next(_update_ids), "callback_query": query}


def buttons(markup: dict | None) -> dict[str, str]:
    """Each button's data by its label."""
    return {b["text"]: b["callback_data"] for row in (markup or {}).get("inline_keyboard", []) for b in row}


def ticked(markup: dict) -> list[str]:
    return sorted(label for label in buttons(markup) if label.startswith("✅"))


def writes(before: dict, after: dict) -> int:
    return sum(after.get(m, 0) - before.get(m, 0) for m in ("PUT", "PATCH", "POST", "DELETE"))


def reads(before: dict, after: dict) -> int:
    return after.get("GET", 0) - before.get("GET", 0)


@pytest.fixture
def settings_message(post, servers):
    """/settings in a chat, its answer executed by Telegram: returns (chat_id -> message_id)."""
    _, telegram, _ = servers

    def open_in(chat_id: int = PRIVATE_CHAT) -> int:
        status, body = post(message("/settings", chat_id=chat_id))
        assert status == 200 and body["method"] == "sendMessage"
        status, sent = telegram.execute(body)
        assert status == 200, sent
        return sent["result"]["message_id"]
    return open_in


def test_settings_before_subscribing_offer_the_subscribe_button_then_the_choices(post, servers, settings_message):
    db, telegram, _ = servers
    before = db.stats()
    message_id = settings_message()
    assert (reads(before, db.stats()), writes(before, db.stats())) == (2, 0), "the language, the subscription"
    shown = telegram.message(PRIVATE_CHAT, message_id)
    assert "아직 알림을 받지 않습니다" in shown["text"]
    assert list(buttons(shown["reply_markup"])) == ["🔔 알림 구독하기", "✅ 한국어", "English"]

    status, body = post(press(buttons(shown["reply_markup"])["🔔 알림 구독하기"], message_id=message_id))
    assert status == 200 and body["method"] == "editMessageText" and body["message_id"] == message_id
    assert db.get(f"subscribers/{PRIVATE_CHAT}")["chat_type"] == "private"
    assert [c["params"]["text"] for c in telegram.calls("answerCallbackQuery")] == ["알림을 구독했어요 ✅"]
    assert telegram.execute(body)[0] == 200
    shown = telegram.message(PRIVATE_CHAT, message_id)
    assert "새 발표마다" in shown["text"] and ticked(shown["reply_markup"]) == \
        ["✅ 그래프와 함께", "✅ 발표마다", "✅ 소리 없이", "✅ 한국어"]


@pytest.mark.parametrize("label, field, value, line", [
    ("늘었을 때만", "when", "rose", "전주보다 늘었을 때만"),
    ("±20% 이상 변할 때", "when", "change20", "전주 대비 20% 이상 늘거나 줄었을 때만"),
    ("50% 이상 늘 때", "when", "rise50", "전주 대비 50% 이상 늘었을 때만"),
    ("아침 8시에", "night", "hold", "아침 8시에 모아 받기"),
    ("그대로", "night", "normal", "평소처럼 소리 내어 받기"),
    ("글만", "format", "text", "형식: <b>글만</b>"),
])
def test_each_button_changes_one_choice_with_one_read_and_one_write(post, servers, settings_message,
                                                                    label, field, value, line):
    db, telegram, _ = servers
    db.put(f"subscribers/{PRIVATE_CHAT}", {"since": "2026-09-30T09:00:00+09:00", "chat_type": "private",
                                           "update_id": 1})
    message_id = settings_message()
    data = buttons(telegram.message(PRIVATE_CHAT, message_id)["reply_markup"])[label]
    telegram.reset()
    before = db.stats()
    status, body = post(press(data, message_id=message_id))
    after = db.stats()
    assert status == 200 and body["method"] == "editMessageText" and line in body["text"]
    assert (reads(before, after), writes(before, after)) == (2, 1), "the language, then one read and one write"
    assert [c["method"] for c in telegram.calls()] == ["answerCallbackQuery"], "the edit rides the response"
    assert telegram.calls()[0]["params"]["text"] == "저장했어요 ✅"
    record = db.get(f"subscribers/{PRIVATE_CHAT}")
    assert record["prefs"][field] == value and record["since"] == "2026-09-30T09:00:00+09:00"
    assert telegram.execute(body)[0] == 200
    assert f"✅ {label}" in ticked(telegram.message(PRIVATE_CHAT, message_id)["reply_markup"])


def test_a_redelivered_press_changes_nothing_twice(post, servers, settings_message):
    db, telegram, _ = servers
    db.put(f"subscribers/{PRIVATE_CHAT}", {"since": "2026-09-30T09:00:00+09:00", "chat_type": "private"})
    message_id = settings_message()
    update = press("s1:set:when:rose", message_id=message_id)
    post(update)
    record = db.get(f"subscribers/{PRIVATE_CHAT}")
    before = db.stats()
    status, body = post(update)  # Telegram redelivers the same update
    after = db.stats()
    assert status == 200 and body["method"] == "editMessageText"
    assert (reads(before, after), writes(before, after)) == (2, 0)
    assert db.get(f"subscribers/{PRIVATE_CHAT}") == record
    answers = telegram.calls("answerCallbackQuery")
    assert [a["status"] for a in answers] == [200, 400], "Telegram refuses to answer one press twice; logged"
    status, _ = post(press("s1:set:when:rose", message_id=message_id))  # a second tap
    assert telegram.calls("answerCallbackQuery")[-1]["params"]["text"] == "이미 그렇게 설정되어 있어요."
    assert writes(after, db.stats()) == 0


@pytest.mark.parametrize("data", ["s1:set:when:always", "s1:set:chat:-1001", "s1:set:when", "hello", "", 17, None,
                                  "s1:set:when:" + "x" * 80])
def test_forged_data_gets_a_short_answer_and_changes_nothing(post, servers, data):
    db, telegram, _ = servers
    db.put(f"subscribers/{PRIVATE_CHAT}", {"since": "2026-09-30T09:00:00+09:00", "chat_type": "private"})
    before = db.stats()
    update = press(data)
    status, body = post(update)
    assert status == 200 and body == {"method": "answerCallbackQuery",
                                      "callback_query_id": update["callback_query"]["id"],
                                      "text": "알 수 없는 버튼이에요. /settings 를 다시 보내 주세요."}
    assert db.stats() == before and telegram.calls() == []


def test_stale_data_refreshes_the_keyboard_and_changes_nothing(post, servers, settings_message):
    db, telegram, _ = servers
    db.put(f"subscribers/{PRIVATE_CHAT}", {"since": "x", "chat_type": "private", "prefs": {"when": "rise50"}})
    message_id = settings_message()
    before = db.stats()
    status, body = post(press("s0:set:when:every", message_id=message_id))
    assert status == 200 and body["method"] == "editMessageText" and "✅ 50% 이상 늘 때" in ticked(body["reply_markup"])
    assert writes(before, db.stats()) == 0
    assert db.get(f"subscribers/{PRIVATE_CHAT}/prefs/when") == "rise50"
    assert "예전 설정 화면" in telegram.calls("answerCallbackQuery")[-1]["params"]["text"]


def test_a_press_for_a_chat_that_is_not_subscribed_never_subscribes_it(post, servers):
    db, telegram, _ = servers
    status, body = post(press("s1:set:night:hold"))
    assert status == 200 and body["method"] == "editMessageText" and "아직 알림을 받지 않습니다" in body["text"]
    assert db.get("subscribers") is None
    assert telegram.calls("answerCallbackQuery")[-1]["params"]["text"].startswith("먼저 알림을 구독해")


@pytest.mark.parametrize("chat_id", [GROUP, CHANNEL])
def test_only_administrators_change_a_group_or_a_channel(post, servers, chat_id):
    db, telegram, _ = servers
    chat_type = "channel" if chat_id == CHANNEL else "supergroup"
    db.put(f"subscribers/{chat_id}", {"since": "x", "chat_type": chat_type})
    telegram.control(chat_members={str(chat_id): {str(ADMIN_USER): "administrator"}})
    status, body = post(press("s1:set:when:rose", chat_id=chat_id, user=MEMBER_USER))
    assert body["method"] == "answerCallbackQuery" and body["show_alert"] is True and "관리자만" in body["text"]
    assert db.get(f"subscribers/{chat_id}/prefs") is None
    status, body = post(press("s1:set:when:rose", chat_id=chat_id, user=ADMIN_USER))
    assert body["method"] == "editMessageText"
    assert db.get(f"subscribers/{chat_id}/prefs/when") == "rose"


def test_a_press_without_its_message_is_answered(post, servers):
    db, _, _ = servers
    update = press("s1:set:when:rose", message_id=None)
    status, body = post(update)
    assert status == 200 and body["method"] == "answerCallbackQuery" and "더 이상 쓸 수 없어요" in body["text"]
    assert db.get("subscribers") is None


def test_close_removes_the_keyboard(post, servers, settings_message):
    db, telegram, _ = servers
    db.put(f"subscribers/{PRIVATE_CHAT}", {"since": "x", "chat_type": "private"})
    message_id = settings_message()
    status, body = post(press("s1:close", message_id=message_id))
    assert body == {"method": "editMessageReplyMarkup", "chat_id": PRIVATE_CHAT, "message_id": message_id}
    assert telegram.execute(body)[0] == 200
    shown = telegram.message(PRIVATE_CHAT, message_id)
    assert shown["reply_markup"] is None and "알림 설정" in shown["text"]


@pytest.mark.parametrize("text", ["/status", "/내설정", "내 설정", "/mysettings"])
def test_status_says_each_choice_and_since_when(post, servers, text):
    db, telegram, _ = servers
    db.put(f"subscribers/{PRIVATE_CHAT}", {"since": "2026-09-30T09:00:00+09:00", "chat_type": "private",
                                           "prefs": {"when": "change20", "night": "hold", "format": "text"}})
    before = db.stats()
    status, body = post(message(text))
    assert (reads(before, db.stats()), writes(before, db.stats())) == (2, 0) and telegram.calls() == []
    assert body["method"] == "sendMessage" and "reply_markup" not in body
    for line in ("받는 중", "2026년 9월 30일 09:00 (KST)부터", "20% 이상 늘거나 줄었을 때만", "아침 8시에 모아 받기",
                 "형식: <b>글만</b>"):
        assert line in body["text"], line


@pytest.mark.parametrize("text", ["/settings", "/설정", "설정", "알림 설정", "/start settings"])
def test_every_settings_form_opens_the_keyboard(post, servers, text):
    status, body = post(message(text))
    assert status == 200 and body["method"] == "sendMessage" and body["reply_markup"]["inline_keyboard"]
