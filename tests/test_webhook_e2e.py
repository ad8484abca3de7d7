"""The webhook under functions-framework, with the local database and the fake Telegram server."""

from __future__ import annotations

import itertools
import json

import pytest

from coronabot.chat.commands import Action
from coronabot_dev.harness import http
from support import BOT_USERNAME, GROUP_CHAT, PRIVATE_CHAT, message, start_function

_update_ids = itertools.count(710_000_001)  # message() counts from 700,000,001


def test_help_rides_the_response_body_with_one_read_and_no_telegram_call(post, servers):
    db, telegram, _ = servers
    for text in ("/help", "/start", "도움말"):
        before = db.stats()
        status, body = post(message(text))
        after = db.stats()
        assert status == 200
        assert body["method"] == "sendMessage" and body["chat_id"] == PRIVATE_CHAT
        assert body["parse_mode"] == "HTML" and "/subscribe" in body["text"] and "/now" in body["text"]
        assert {m: after[m] - before.get(m, 0) for m in after if after[m] != before.get(m, 0)} == {"GET": 1}, \
            "the chat's language, nothing else"
    assert telegram.calls() == []


def test_subscribe_then_already_subscribed_then_unsubscribe(post, servers):
    db, telegram, _ = servers
    status, body = post(message("/subscribe"))
    assert status == 200 and "등록했습니다" in body["text"]
    record = db.get(f"subscribers/{PRIVATE_CHAT}")
    assert record["chat_type"] == "private" and record["since"].endswith("+09:00")
    status, body = post(message("구독"))
    assert "이미" in body["text"] and "등록되어 있습니다" in body["text"]
    status, body = post(message("/코로나 알림 취소"))
    assert "취소했습니다" in body["text"]
    assert db.get(f"subscribers/{PRIVATE_CHAT}") is None
    status, body = post(message("알림 취소"))
    assert "등록된 알림이 없습니다" in body["text"]
    assert telegram.calls() == []


@pytest.mark.parametrize("text", ["/subscribe", "/코로나 알림 등록", "알림 등록", "구독", "/subscribe@" + BOT_USERNAME])
def test_every_subscribe_form_subscribes(post, servers, text):
    db, _, _ = servers
    status, body = post(message(text))
    assert status == 200 and "등록했습니다" in body["text"]
    assert db.get(f"subscribers/{PRIVATE_CHAT}") is not None


def test_a_subscribe_link_subscribes_in_one_tap(post, servers):
    """https://t.me/ThisBot?start=subscribe opens the chat and sends `/start subscribe`."""
    db, _, _ = servers
    status, body = post(message("/start subscribe"))
    assert status == 200 and "등록했습니다" in body["text"]
    assert db.get(f"subscribers/{PRIVATE_CHAT}") is not None


def test_subscribe_costs_two_reads_and_two_writes(post, servers):
    """The chat's language and its subscription read, then both written (each conditionally): a chat stores
    the language it subscribed in, Korean too, so no answer has to guess it later."""
    db, _, _ = servers
    before = db.stats()
    post(message("/subscribe"))
    after = db.stats()
    assert after.get("GET", 0) - before.get("GET", 0) == 2
    writes = sum(after.get(m, 0) - before.get(m, 0) for m in ("PUT", "PATCH", "POST", "DELETE"))
    assert writes == 2 and db.get(f"languages/{PRIVATE_CHAT}") == "ko"
    before = db.stats()
    post(message("/subscribe"))
    after = db.stats()
    assert (after.get("GET", 0) - before.get("GET", 0), after.get("PUT", 0) - before.get("PUT", 0)) == (2, 0), \
        "already subscribed: nothing written"


SENDER = 1544010213  # the "from" of every message() above


def admin_of(*chats: int) -> dict:
    """The fake Telegram's getChatMember answers: SENDER administers these chats."""
    return {"chat_members": {str(chat): {str(SENDER): "administrator"} for chat in chats}}


def test_group_commands_and_commands_for_other_bots(post, servers):
    db, telegram, _ = servers
    telegram.control(**admin_of(GROUP_CHAT))
    status, body = post(message(f"/subscribe@{BOT_USERNAME}", chat_id=GROUP_CHAT))
    assert status == 200 and body["chat_id"] == GROUP_CHAT
    assert body["reply_parameters"]["message_id"] == 42
    assert db.get(f"subscribers/{GROUP_CHAT}")["chat_type"] == "supergroup"
    status, body = post(message("/subscribe@SomeOtherBot", chat_id=GROUP_CHAT))
    assert status == 200 and body == {}
    status, body = post(message("/weather", chat_id=GROUP_CHAT))
    assert status == 200 and body == {}, "unknown commands without @ in groups may be for other bots"
    status, body = post(message(f"/weather@{BOT_USERNAME}", chat_id=GROUP_CHAT))
    assert "잘못된 명령어입니다" in body["text"]
    status, body = post(message("오늘 확진자 몇 명?", chat_id=GROUP_CHAT))
    assert body == {}, "chatter in groups is not answered"


def test_unknown_command_escapes_the_first_name(post, servers):
    status, body = post(message("/foo", first_name="<b>Kim</b> & Lee"))
    assert status == 200
    assert "잘못된 명령어입니다" in body["text"]
    assert "&lt;b&gt;Kim&lt;/b&gt; &amp; Lee님" in body["text"]
    assert "<b>Kim</b>" not in body["text"]


def test_now_without_data_and_with_data(post, servers):
    db, _, _ = servers
    status, body = post(message("/now"))
    assert "아직 저장된 발표 수치가 없습니다" in body["text"]
    db.put("state/latest", {
        "source": "mohw-daily", "id": "2021-06-05", "order": "2021-06-05", "period": "2021년 6월 5일 0시 기준",
        "figures": [
            {"key": "confirmed_total", "label": "누적 확진자", "value": 143596, "kind": "cumulative", "unit": "명"},
            {"key": "confirmed_new", "label": "신규 확진자(전일 대비)", "value": 744, "kind": "new", "unit": "명"},
        ],
        "url": "http://ncov.mohw.go.kr/bdBoardList_Real.do?brdId=1&brdGubun=11", "headline": "코로나19 국내 발생 현황",
        "note": "", "digest": "x", "recorded_at": "2021-06-05T10:06:00+09:00",
    })
    for text in ("/now", "/today", "/현재코로나정보", "오늘 확진자 몇 명?", "코로나 현황"):
        status, body = post(message(text))
        assert "누적 확진자: <b>143,596명</b>" in body["text"], text
        assert "신규 확진자(전일 대비): <b>744명</b>" in body["text"]
        assert "2021년 6월 5일 0시 기준" in body["text"]
        assert "brdId=1&amp;brdGubun=11" in body["text"]
        assert "봇이 발표를 확인한 시각: 2021년 6월 5일 10:06 (KST)" in body["text"]


def test_about(post, servers):
    for text in ("/about", "/제작자"):
        status, body = post(message(text))
        assert "질병관리청" in body["text"] and "표본감시" in body["text"]
        assert "발표를 세 번 이상 확인하면 알려 드립니다" in body["text"]


def test_about_says_when_the_next_announcement_is_expected(post, servers):
    db, _, _ = servers
    db.put("state/seen/kdca-sentinel", ["2026-09-17T09:10:00+09:00", "2026-09-24T10:40:00+09:00",
                                        "2026-10-01T09:55:00+09:00"])
    before = db.stats()
    status, body = post(message("/about"))
    assert "다음 발표 예상 시각:" in body["text"] and "(목) 08:40~11:10 (KST)" in body["text"]
    after = db.stats()
    assert {m: after[m] - before.get(m, 0) for m in after if after[m] != before.get(m, 0)} == {"GET": 3}, \
        "the chat's language, the publication model and the week the source is counting, no write"


def test_about_names_the_configured_source(vendored, servers, bot_env, logs_dir, webhook_secret):
    function = start_function("webhook", dict(bot_env, SOURCE="mohw-daily"), logs_dir)
    try:
        status, body, _ = http("POST", function.url, raw=json.dumps(message("/about")).encode(),
                               headers={"Content-Type": "application/json",
                                        "X-Telegram-Bot-Api-Secret-Token": webhook_secret})
    finally:
        function.stop()
    assert status == 200 and "코로나바이러스감염증-19 국내 발생 현황" in body["text"]
    assert "표본감시" not in body["text"]


def test_redelivered_subscribe_has_one_effect_and_the_same_answer(post, servers):
    db, telegram, _ = servers
    update = message("/subscribe")
    first = post(update)
    again = post(update)
    assert first == again and "등록했습니다" in again[1]["text"]
    assert list(db.get("subscribers")) == [str(PRIVATE_CHAT)]
    assert telegram.calls() == []


def test_redelivered_unsubscribe_has_one_effect_and_the_same_answer(post, servers):
    db, telegram, _ = servers
    post(message("/subscribe"))
    update = message("/unsubscribe")
    first = post(update)
    again = post(update)
    assert first == again and "취소했습니다" in again[1]["text"]
    assert db.get("subscribers") is None
    status, body = post(message("/unsubscribe"))
    assert "등록된 알림이 없습니다" in body["text"], "a new /unsubscribe is told the truth"
    assert telegram.calls() == []


def test_long_reply_goes_through_the_api_once_even_when_redelivered(post, servers):
    db, telegram, _ = servers
    # A figure of 4,000 digits (5,333 characters with its separators) makes /now longer than one message.
    db.put("state/latest", {"source": "mohw-daily", "id": "2021-06-05", "order": "2021-06-05",
                            "figures": {"confirmed_total": int("9" * 4000), "confirmed_new": 744},
                            "url": "http://x.invalid/", "digest": "x"})
    update = message("/now")
    assert post(update) == (200, {})
    assert post(update) == (200, {})
    sent = telegram.sent()
    assert len(sent) >= 2, "a reply over 4096 characters is split"
    assert all(len(m["text"]) <= 4096 for m in sent)
    assert sum(len(m["text"]) for m in sent) > 4096
    assert len({m["text"] for m in sent}) == len(sent), "the redelivery sent nothing again"
    assert db.get(f"handled_updates/{update['update_id']}") is not None


def test_secret_is_required(post, servers):
    db, telegram, _ = servers
    update = message("/subscribe")
    assert post(update, secret=None)[0] == 403
    assert post(update, secret="wrong-secret")[0] == 403  # pragma: allowlist secret
    assert db.get("subscribers") is None
    assert post(update, method="GET")[0] == 405


@pytest.mark.parametrize("raw", [
    b"{not json", b"[]", b"\"text\"", b"{}", b'{"update_id": "x"}',
    b'{"update_id": 5, "message": {"chat": {"id": 5}}}',
    b'{"update_id": 5, "message": "hello"}',
    "{\"update_id\": 5, \"message\": {\"text\": \"\xff\"}}".encode("latin-1"),
])
def test_malformed_bodies_get_200_and_no_reply(post, servers, raw):
    status, body = post(None, raw=raw)
    assert status == 200 and body == {}


def test_huge_body_is_capped(post, servers):
    big = json.dumps(message("/help" + " x" * 200_000)).encode()
    status, body = post(None, raw=big)
    assert status == 200 and body == {}


def test_other_update_kinds(post, servers):
    db, telegram, _ = servers
    status, body = post({"update_id": next(_update_ids), "edited_message": message("/subscribe")["message"]})
    assert status == 200 and body == {}
    assert db.get("subscribers") is None, "an edit does not run a command again"
    status, body = post(message("/subscribe", chat_id=-1009876543210, kind="channel_post"))
    assert "등록했습니다" in body["text"]
    assert db.get("subscribers/-1009876543210")["chat_type"] == "channel"
    status, body = post({"update_id": next(_update_ids), "callback_query": {
        "id": "4382bfdwdsb323b2d9", "from": {"id": PRIVATE_CHAT, "first_name": "지민", "language_code": "ko"},
        "data": "x"}})
    assert body == {"method": "answerCallbackQuery", "callback_query_id": "4382bfdwdsb323b2d9",
                    "text": "알 수 없는 버튼이에요. /settings 를 다시 보내 주세요."}, "data the bot never sent"
    status, body = post({"update_id": next(_update_ids), "message_reaction": {"chat": {"id": 1, "type": "private"}}})
    assert status == 200 and body == {}


def test_non_text_messages(post, servers):
    sticker = message(None, sticker={"file_id": "CAACAgIAAxk", "width": 512, "height": 512})
    status, body = post(sticker)
    assert status == 200 and "/help" in body["text"]
    status, body = post(message(None, chat_id=GROUP_CHAT, photo=[{"file_id": "x"}]))
    assert status == 200 and body == {}


def test_blocking_the_bot_removes_the_subscription(post, servers):
    db, _, _ = servers
    post(message("/subscribe"))
    assert db.get(f"subscribers/{PRIVATE_CHAT}") is not None
    change = {"update_id": next(_update_ids), "my_chat_member": {
        "chat": {"id": PRIVATE_CHAT, "type": "private", "first_name": "지민", "language_code": "ko"},
        "from": {"id": PRIVATE_CHAT, "first_name": "지민", "is_bot": False, "language_code": "ko"}, "date": 1790000000,
        "old_chat_member": {"status": "member", "user": {"id": 7000000001, "is_bot": True, "first_name": "봇"}},
        "new_chat_member": {"status": "kicked", "until_date": 0,
                            "user": {"id": 7000000001, "is_bot": True, "first_name": "봇"}}}}
    status, body = post(change)
    assert status == 200 and body == {}
    assert db.get(f"subscribers/{PRIVATE_CHAT}") is None


BASIC_GROUP, ITS_SUPERGROUP = -4012345678, -1004012345678


def migration_notice(chat_id: int, chat_type: str, **field) -> dict:
    return {"update_id": next(_update_ids), "message": {
        "message_id": 7, "date": 1790000000, "chat": {"id": chat_id, "type": chat_type, "title": "우리 동네"},
        "from": {"id": 1544010213, "is_bot": False, "first_name": "지민", "language_code": "ko"}, **field}}


def test_a_group_that_becomes_a_supergroup_keeps_its_subscription(post, servers):
    db, telegram, _ = servers
    telegram.control(**admin_of(BASIC_GROUP, ITS_SUPERGROUP))
    subscribe = message("/subscribe")
    subscribe["message"]["chat"] = {"id": BASIC_GROUP, "type": "group", "title": "우리 동네"}
    assert "등록했습니다" in post(subscribe)[1]["text"]
    status, body = post(migration_notice(BASIC_GROUP, "group", migrate_to_chat_id=ITS_SUPERGROUP))
    assert status == 200 and body == {}
    assert list(db.get("subscribers")) == [str(ITS_SUPERGROUP)]
    moved = db.get(f"subscribers/{ITS_SUPERGROUP}")
    assert moved["migrated_from"] == str(BASIC_GROUP) and moved["chat_type"] == "supergroup"
    status, body = post(migration_notice(ITS_SUPERGROUP, "supergroup", migrate_from_chat_id=BASIC_GROUP))
    assert status == 200 and body == {} and db.get(f"subscribers/{ITS_SUPERGROUP}") == moved, "the twin is a no-op"
    status, body = post(message("/unsubscribe", chat_id=ITS_SUPERGROUP))
    assert "취소했습니다" in body["text"], "the new supergroup can unsubscribe before any broadcast"
    assert db.get("subscribers") is None
    assert {c["method"] for c in telegram.calls()} <= {"getChatMember"}, "nothing but the admin checks"


def test_a_migration_notice_arriving_first_in_the_new_chat_moves_it_too(post, servers):
    db, _, _ = servers
    db.put(f"subscribers/{BASIC_GROUP}", {"since": "2026-09-30T09:00:00+09:00", "chat_type": "group"})
    post(migration_notice(ITS_SUPERGROUP, "supergroup", migrate_from_chat_id=BASIC_GROUP))
    assert db.get("subscribers") == {str(ITS_SUPERGROUP): {
        "since": "2026-09-30T09:00:00+09:00", "chat_type": "supergroup", "migrated_from": str(BASIC_GROUP)}}


def test_without_a_configured_secret_every_update_is_refused(vendored, bot_env, logs_dir, servers):
    db, telegram, _ = servers
    env = {k: v for k, v in bot_env.items() if k != "TELEGRAM_WEBHOOK_SECRET"}
    process = start_function("webhook", env, logs_dir)
    try:
        for secret in (None, "", "anything"):
            headers = {"Content-Type": "application/json"}
            if secret is not None:
                headers["X-Telegram-Bot-Api-Secret-Token"] = secret
            status, body, _ = http("POST", process.url, raw=json.dumps(message("/subscribe")).encode(), headers=headers)
            assert status == 503 and "method" not in body
        assert db.get("subscribers") is None and telegram.calls() == []
        assert "TELEGRAM_WEBHOOK_SECRET is not set" in process.output()
    finally:
        process.stop()


def test_webhook_logs_are_json_lines_with_update_ids(post, servers, webhook_function):
    update = message("/help")
    post(update)
    lines = [json.loads(line) for line in webhook_function.output().splitlines() if line.startswith("{")]
    handled = [line for line in lines if line.get("update_id") == update["update_id"]]
    assert handled and handled[0]["severity"] == "INFO" and "help" in handled[0]["message"]


def test_the_webhook_entry_imports_nothing_it_does_not_need():
    import subprocess
    import sys

    from coronabot_dev.harness import ROOT
    code = ("import sys; sys.path.insert(0, 'build/functions/webhook'); import main; "
            "print(sorted(m for m in sys.modules if m.startswith(('bs4', 'requests', 'urllib3', 'coronabot.tick', "
            "'coronabot.sources._http', 'coronabot.alerts', 'coronabot_dev', 'coronabot_dev.rtdb', "
            "'coronabot.cli', 'coronabot.chat.bot', 'coronabot.texts', 'coronabot.sources'))))")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]", "the bot, its texts and the sources load with the first update, while " \
        "its reads are on their way (webhook._reads_ahead)"


@pytest.mark.parametrize("text, loaded", [
    ("/help", []),  # answered in the response: neither client is needed
    ("/start", []),
    # The database through the REST client (_rtdb.py: the standard library), and the reply rides the response:
    # neither firebase-admin nor telepot, nor requests or urllib3.
    ("/subscribe", []),
    ("/now", []),  # a stored record read in this version's words (sources.renew): no parser, no requests
])
def test_the_webhook_loads_each_client_on_first_use(bot_env, vendored, servers, webhook_secret, text, loaded):
    import subprocess
    import sys

    from coronabot_dev.harness import ROOT
    code = ("import io, json, sys; sys.path.insert(0, 'build/functions/webhook'); import main; "
            "from coronabot.entry.webhook import handle_request; "
            f"body = {json.dumps(message(text))!r}.encode(); "
            f"status, answer = handle_request('POST', {{'X-Telegram-Bot-Api-Secret-Token': {webhook_secret!r}}}, "
            "lambda: io.BytesIO(body), len(body)); "
            "print(json.dumps([status, answer.get('method'), sorted({m.split('.')[0] for m in sys.modules "
            "if m.split('.')[0] in ('firebase_admin', 'telepot', 'urllib3', 'requests')})]))")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, env=bot_env,
                            check=True)
    status, method, modules = json.loads(result.stdout.strip().splitlines()[-1])
    assert (status, method) == (200, "sendMessage")
    assert modules == loaded, modules


def test_a_database_outage_gets_a_clear_answer_and_no_5xx(vendored, bot_env, logs_dir, webhook_secret, servers):
    from coronabot_dev.harness import free_port
    from support import start_function
    env = dict(bot_env, FIREBASE_DATABASE_EMULATOR_HOST=f"127.0.0.1:{free_port()}")
    process = start_function("webhook", env, logs_dir)
    headers = {"Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": webhook_secret}
    try:
        for text in ("/subscribe", "/now", "/unsubscribe"):
            status, body, _ = http("POST", process.url, raw=json.dumps(message(text)).encode(), headers=headers)
            assert status == 200 and "잠시 후 다시 시도해 주세요" in body["text"], text
        status, body, _ = http("POST", process.url, raw=json.dumps(message("/help")).encode(), headers=headers)
        assert status == 200 and "/subscribe" in body["text"]
        assert "database unavailable" in process.output()
    finally:
        process.stop()


def test_the_username_comes_from_one_cached_getme(vendored, bot_env, logs_dir, webhook_secret, servers):
    from support import start_function
    _, telegram, _ = servers
    env = {k: v for k, v in bot_env.items() if k != "TELEGRAM_BOT_USERNAME"}
    process = start_function("webhook", env, logs_dir)
    headers = {"Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": webhook_secret}
    try:
        for text in (f"/help@{BOT_USERNAME}", f"/now@{BOT_USERNAME.lower()}", "/help@SomeOtherBot"):
            update = message(text, chat_id=GROUP_CHAT)
            status, body, _ = http("POST", process.url, raw=json.dumps(update).encode(), headers=headers)
            assert status == 200
            assert ("text" in body) is (not text.endswith("OtherBot")), text
        assert len(telegram.calls("getMe")) == 1
    finally:
        process.stop()


# -- hostile input ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("mutate", [
    lambda m: m["chat"].update(type=["private"]), lambda m: m["chat"].update(type={"a": 1}),
    lambda m: m["chat"].update(id="1544010213"), lambda m: m["chat"].update(id=[1]), lambda m: m["chat"].update(id=0),
    lambda m: m["chat"].update(id=True), lambda m: m["chat"].update(id=-5), lambda m: m.update(chat=[1]),
    lambda m: m.update(text=["/help"]), lambda m: m.update(text={"/subscribe": 1}),
    lambda m: m.update(message_id=None), lambda m: m.update(migrate_to_chat_id=[1]),
])
def test_required_fields_of_the_wrong_type_are_answered_200_and_change_nothing(post, servers, mutate):
    db, telegram, _ = servers
    update = message("/subscribe")
    mutate(update["message"])
    status, body = post(update)
    assert status == 200 and "등록했습니다" not in str(body)
    assert db.get("subscribers") is None and telegram.calls() == []


@pytest.mark.parametrize("mutate", [
    lambda m: m.update(**{"from": [1]}), lambda m: m["from"].update(first_name=["지민"], id="x"),
    lambda m: m.update(sender_chat=[]), lambda m: m.update(sender_chat={"id": {"x": 1}}),
])
def test_optional_fields_of_the_wrong_type_are_left_out(post, servers, mutate):
    db, _, _ = servers
    update = message("/subscribe")
    mutate(update["message"])
    status, body = post(update)
    # without a readable "from" there is no language_code either: the private chat's default is English
    assert status == 200 and ("등록했습니다" in body["text"] or body["text"].startswith("✅ Subscribed."))
    assert db.get(f"subscribers/{PRIVATE_CHAT}") is not None


@pytest.mark.parametrize("body", [
    {"update_id": [1], "message": {}}, {"update_id": 5, "my_chat_member": {"chat": {"id": 1, "type": ["private"]},
                                                                             "new_chat_member": {"status": ["x"]}}},
    {"update_id": 5, "callback_query": {"id": ["x"]}}, {"update_id": 5, "message": "text"},
    {"update_id": 5, "channel_post": [1, 2]}, {"update_id": 5, ("k" * 5000): 1},
])
def test_updates_of_the_wrong_shape_are_answered_200(post, servers, body):
    status, answer = post(body)
    assert status == 200 and answer == {}


@pytest.mark.parametrize("raw", [b"[" * 100_000 + b"]" * 100_000, b'{"a":' * 36_000 + b"1" + b"}" * 36_000])
def test_deeply_nested_json_is_answered_200_with_a_log_line(post, servers, webhook_function, raw):
    status, body = post(None, raw=raw)
    assert status == 200 and body == {}
    assert "nested too deeply" in webhook_function.output()


def test_an_answer_that_fails_unexpectedly_is_logged_with_its_traceback_and_still_answered(post, servers,
                                                                                           webhook_function):
    """A record no reader anticipated makes a text fail: that is no database outage. The chat is told to try
    again, the log says what failed with its traceback, and Telegram gets its 200."""
    db, _, _ = servers
    # The bot never records a week it cannot name (sources.check refuses the future), but a record naming the
    # calendar's last week makes a text fail (an OverflowError): what no reader anticipated.
    db.put("state/latest", {"source": "kdca-sentinel", "id": "9999-W53", "order": "9999-W53",
                            "figures": {"covid_inpatients": 1}})
    update = message("/now")
    status, body = post(update)
    assert status == 200 and body["method"] == "sendMessage" and body["chat_id"] == PRIVATE_CHAT
    assert body["text"] == "⚠️ 지금은 요청을 처리할 수 없습니다. 잠시 후 다시 시도해 주세요."
    logged = [json.loads(line) for line in webhook_function.output().splitlines() if line.startswith("{")]
    mine = [e for e in logged if e.get("update_id") == update["update_id"]]
    [failure] = [e for e in mine if "failed unexpectedly" in e["message"]]
    assert "Traceback" in failure["exception"] and "OverflowError" in failure["exception"]
    assert not any("database unavailable" in e["message"] for e in mine), "never reported as a database outage"


@pytest.mark.parametrize("service", [
    {"chat_shared": {"request_id": 1, "chat_id": -1001234567890}},
    {"successful_payment": {"currency": "XTR", "total_amount": 1, "invoice_payload": "p",
                            "telegram_payment_charge_id": "c", "provider_payment_charge_id": "d"}},
    {"message_auto_delete_timer_changed": {"message_auto_delete_time": 86400}},
    {"pinned_message": {"message_id": 41, "date": 1790000000, "chat": {"id": 1544010213, "type": "private"}}},
    {"users_shared": {"request_id": 1, "users": []}}, {"write_access_allowed": {}},
])
def test_service_messages_in_private_chats_get_silence(post, servers, service):
    status, body = post(message(None, **service))
    assert status == 200 and body == {}


@pytest.mark.parametrize("content", [
    {"sticker": {"file_id": "x"}}, {"voice": {"file_id": "x", "duration": 2}}, {"location": {"latitude": 37.5,
                                                                                          "longitude": 127.0}},
    {"document": {"file_id": "x"}}, {"photo": [{"file_id": "x"}], "caption": "사진"},
])
def test_what_a_person_sends_without_text_gets_the_hint(post, servers, content):
    status, body = post(message(None, **content))
    assert status == 200 and "글자로 된 명령만" in body["text"]


GROUP_MEMBER, GROUP_ADMIN = 1544010299, 1544010288


def group_message(text: str, sender: int, chat_id: int = GROUP_CHAT, **extra) -> dict:
    update = message(text, chat_id=chat_id, **extra)
    update["message"]["from"] = {"id": sender, "is_bot": False, "first_name": "민수", "language_code": "ko"}
    return update


def test_only_group_administrators_change_the_groups_subscription(post, servers):
    db, telegram, _ = servers
    telegram.control(chat_members={str(GROUP_CHAT): {str(GROUP_ADMIN): "administrator"}})
    for text in ("/subscribe", "구독", "/unsubscribe"):
        status, body = post(group_message(text, GROUP_MEMBER))
        assert status == 200 and "관리자만" in body["text"], text
    assert db.get("subscribers") is None
    status, body = post(group_message("/subscribe", GROUP_ADMIN))
    assert "등록했습니다" in body["text"]
    status, body = post(group_message("/unsubscribe", GROUP_MEMBER))
    assert "관리자만" in body["text"] and db.get(f"subscribers/{GROUP_CHAT}") is not None
    status, body = post(group_message("/now", GROUP_MEMBER))
    assert "관리자만" not in body["text"], "reading the figures is for everyone"
    for _ in range(5):
        post(group_message("/subscribe", GROUP_ADMIN))
    asked = [(c["params"]["chat_id"], c["params"]["user_id"]) for c in telegram.calls("getChatMember")]
    assert sorted(set(asked)) == sorted({(str(GROUP_CHAT), str(GROUP_MEMBER)), (str(GROUP_CHAT), str(GROUP_ADMIN))})
    assert len(asked) == 2, "each answer is cached: a burst of commands is not a burst of getChatMember calls"


def test_an_anonymous_admin_writing_as_the_group_may_subscribe_it(post, servers):
    db, telegram, _ = servers
    update = group_message("/subscribe", 1087968824, sender_chat={"id": GROUP_CHAT, "type": "supergroup"})
    status, body = post(update)
    assert "등록했습니다" in body["text"] and db.get(f"subscribers/{GROUP_CHAT}") is not None
    assert telegram.calls("getChatMember") == []
    linked = group_message("/unsubscribe", 136817688, sender_chat={"id": -1009999999999, "type": "channel"})
    status, body = post(linked)
    assert "관리자만" in body["text"], "a channel posting into the group is not the group's admin"


def test_when_the_admin_check_fails_nothing_changes_and_the_user_is_told(post, servers):
    db, telegram, _ = servers
    telegram.control(fail_5xx=100)
    status, body = post(group_message("/subscribe", 1544010277, chat_id=-1007777777777))
    assert status == 200 and "잠시 후 다시 시도해 주세요" in body["text"]
    assert db.get("subscribers") is None


def answer_before_the_body_ends(url: str, headers: dict, first_bytes: bytes) -> tuple[int, bytes]:
    """Send the headers and only the first bytes of a body, then read the answer: a server that buffered the
    whole body first would never answer (the socket times out and the test fails)."""
    import socket
    from urllib.parse import urlsplit
    address = urlsplit(url)
    head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    with socket.create_connection((address.hostname, address.port), timeout=15) as sock:
        sock.sendall(f"POST / HTTP/1.1\r\nHost: {address.netloc}\r\n{head}\r\n".encode() + first_bytes)
        reader = sock.makefile("rb")
        status = int(reader.readline().split()[1])
        length = 0
        while (line := reader.readline().strip()):
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        return status, reader.read(length)


@pytest.mark.parametrize("secret", ["wrong", None])
@pytest.mark.parametrize("announced", [100_000, 32 * 1024 * 1024])
def test_a_wrong_secret_is_refused_before_the_body_arrives(webhook_function, servers, secret, announced):
    headers = {"Content-Type": "application/json", "Content-Length": str(announced)}
    if secret:
        headers["X-Telegram-Bot-Api-Secret-Token"] = secret
    status, _ = answer_before_the_body_ends(webhook_function.url, headers, b"12345")
    assert status == 403


def test_a_wrong_secret_with_a_chunked_body_is_refused_before_the_body_arrives(webhook_function, servers):
    headers = {"Content-Type": "application/json", "Transfer-Encoding": "chunked",
               "X-Telegram-Bot-Api-Secret-Token": "wrong"}
    status, _ = answer_before_the_body_ends(webhook_function.url, headers, b"5\r\n12345\r\n")
    assert status == 403


def test_an_oversized_body_with_the_right_secret_is_ignored_without_being_read(webhook_function, webhook_secret,
                                                                              servers):
    db, telegram, _ = servers
    headers = {"Content-Type": "application/json", "Content-Length": str(32 * 1024 * 1024),
               "X-Telegram-Bot-Api-Secret-Token": webhook_secret}
    status, body = answer_before_the_body_ends(webhook_function.url, headers, b"x" * 65536)
    assert (status, body) == (200, b"{}")
    chunked = dict(headers, **{"Transfer-Encoding": "chunked"})
    del chunked["Content-Length"]
    piece = b"[" * 300_000
    status, body = answer_before_the_body_ends(webhook_function.url, chunked, b"%x\r\n%s\r\n" % (len(piece), piece))
    assert (status, body) == (200, b"{}"), "a chunked body stops being read at the cap"
    assert db.get("subscribers") is None and telegram.calls() == []


ONE_COMMAND_EACH = {Action.HELP: "/help", Action.SUBSCRIBE: "/subscribe", Action.UNSUBSCRIBE: "/unsubscribe",
                    Action.NOW: "/now", Action.HISTORY: "/history", Action.CHART: "/chart",
                    Action.SETTINGS: "/settings", Action.STATUS: "/status", Action.ABOUT: "/about",
                    Action.LANGUAGE: "/lang", Action.UNKNOWN: "/frobnicate"}


def test_every_action_has_its_own_answer(post, servers, webhook_function):
    """/now was the fall-through once: an action nobody wired up would have answered with the figures. Each
    action's command is answered as that action, as the webhook's log line says."""
    assert set(ONE_COMMAND_EACH) == set(Action)
    for action, text in ONE_COMMAND_EACH.items():
        update = message(text)
        status, body = post(update)
        assert status == 200 and body.get("chat_id") == PRIVATE_CHAT, text
        logged = [json.loads(line) for line in webhook_function.output().splitlines() if line.startswith("{")]
        [handled] = [e["message"] for e in logged if e.get("update_id") == update["update_id"]
                     and e["message"].startswith("update handled: ")]
        assert handled == f"update handled: {action.value}", text
