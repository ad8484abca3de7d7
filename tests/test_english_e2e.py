"""English, per chat, through the real functions: an English chat's whole journey (help, subscribe, figures,
settings, an alert with its chart, a held digest) reads no Korean, a Korean chat's is unchanged, both get
their alert in the same broadcast with one chart upload per language, and the language is chosen as the
issue says (language_code, /lang, a button, a bare word; admins only in groups; earlier subscribers keep
Korean)."""

from __future__ import annotations

import itertools
import json

from coronabot_dev.harness import free_port, http
from support import (
    GROUP_CHAT,
    PRIVATE_CHAT,
    english,
    hangul,
    morning_now,
    quiet_now,
    start_function,
    subscribe_with,
    tick,
    uploads,
)

ENGLISH_CHAT = 1544020001
_ids = itertools.count(760_000_001)
SENDER = 1544010213


def said(text: str, chat_id: int = ENGLISH_CHAT, code: str | None = "en", sender: int | None = None) -> dict:
    chat_type = "private" if chat_id > 0 else "supergroup"
    sender_fields = {"id": sender or (chat_id if chat_id > 0 else SENDER), "is_bot": False, "first_name": "Alex"}
    if code is not None:
        sender_fields["language_code"] = code
    return {"update_id": next(_ids), "message": {"message_id": 7, "date": 1790000000, "text": text,
                                                 "chat": {"id": chat_id, "type": chat_type}, "from": sender_fields}}


def pressed(data: str, chat_id: int = ENGLISH_CHAT, message_id: int = 1001, code: str = "en") -> dict:
    return {"update_id": next(_ids), "callback_query": {
        "id": f"q{next(_ids)}", "from": {"id": chat_id, "is_bot": False, "first_name": "Alex", "language_code": code},
        "chat_instance": "1", "data": data,
        "message": {"message_id": message_id, "date": 1790000000, "chat": {"id": chat_id, "type": "private"}}}}


def test_an_english_chat_reads_english_from_start_to_alert(post, servers, extra_scrape, portal):
    db, telegram, _ = servers
    assert "/subscribe" in english(post(said("/start"))[1])
    assert "No figures are stored yet" in english(post(said("/now"))[1])
    assert "Subscribed" in english(post(said("/subscribe"))[1])
    assert db.get(f"languages/{ENGLISH_CHAT}") == "en", "kept, so its alerts come in English"
    db.put(f"subscribers/{PRIVATE_CHAT}", {"since": "2026-09-30T09:00:00+09:00", "chat_type": "private",
                                          "update_id": 1})
    status, summary = tick(extra_scrape(CHARTS="on"))
    assert status == 200 and summary["status"] == "alerted" and summary["sent"] == 2
    by_chat = {str(p["chat_id"]): p for p in telegram.photos()}
    caption = english({"caption": by_chat[str(ENGLISH_CHAT)]["caption"]})
    assert "COVID-19 inpatients" in caption and "Source:" in caption and "week" in caption
    assert "코로나19 입원환자" in by_chat[str(PRIVATE_CHAT)]["caption"], "the Korean chat is unchanged"
    assert len(uploads(telegram)) == 2, "one chart upload per language"
    assert {p["photo"]["sha256"] for p in uploads(telegram)}.__len__() == 2, "two different pictures"
    key = summary["broadcast"]
    record = db.get(f"broadcasts/{key}")
    assert record["photo"] and record["photo_en"] and record["photo"] != record["photo_en"]
    assert not hangul(record["text_en"]) and "입원환자" in record["text"]

    for command, expected in (("/now", "Seen by the bot:"), ("/history", "the last 12 weeks"),
                              ("/about", "Korea Disease Control and Prevention Agency"),
                              ("/status", "Subscription: <b>active</b>"), ("/help", "/lang")):
        assert expected in english(post(said(command))[1]), command
    status, body = post(said("/settings"))
    assert "Alert settings" in english(body) and "Language: <b>English</b>" in body["text"]
    status, body = post(said("/chart"))
    assert body["method"] == "sendPhoto" and body["photo"] == record["photo_en"]
    assert "The last year" in english(body)
    status, body = post(said("/chart", PRIVATE_CHAT, "ko"))
    assert body["photo"] == record["photo"] and "최근 1년 추이" in body["caption"]


def test_a_held_alert_arrives_in_the_morning_in_english(servers, extra_scrape):
    db, telegram, _ = servers
    subscribe_with(db, {str(ENGLISH_CHAT): {"night": "hold"}, str(PRIVATE_CHAT): {"night": "hold"}})
    db.put(f"languages/{ENGLISH_CHAT}", "en")
    assert tick(extra_scrape(QUIET_HOURS=quiet_now()))[1]["held"] == 2
    status, summary = tick(extra_scrape(QUIET_HOURS=morning_now()))
    assert summary["morning"]["sent"] == 2
    by_chat = {str(m["chat_id"]): m["text"] for m in telegram.sent()}
    assert english({"text": by_chat[str(ENGLISH_CHAT)]}).startswith("🌅 Published overnight (2026 week 39)")
    assert "248" in by_chat[str(ENGLISH_CHAT)]
    assert by_chat[str(PRIVATE_CHAT)].startswith("🌅 밤사이 나온 발표(2026년 39주)")


def test_lang_switches_a_chat_by_command_word_and_button(post, servers):
    db, _, _ = servers
    status, body = post(said("/lang"))
    assert "Language" in english(body)
    buttons = {b["text"]: b["callback_data"] for row in body["reply_markup"]["inline_keyboard"] for b in row}
    assert set(buttons) == {"✅ English", "한국어"}
    assert "한국어로 안내" in post(said("/lang ko"))[1]["text"]
    assert db.get(f"languages/{ENGLISH_CHAT}") == "ko"
    assert "사용법" in post(said("/help"))[1]["text"], "the choice beats the Telegram language"
    assert "now gets its answers" in english(post(said("English"))[1]), "a bare word in a private chat"
    assert "already reads English" in english(post(said("/lang en"))[1])
    status, body = post(pressed(buttons["한국어"]))
    assert body["method"] == "editMessageText" and "알림 설정" in body["text"]
    assert "✅ 한국어" in json.dumps(body["reply_markup"], ensure_ascii=False)
    assert db.get(f"languages/{ENGLISH_CHAT}") == "ko"
    status, body = post(said("/lang fr"))
    assert "언어" in body["text"] and body["reply_markup"], "an unknown language shows the choices"


def test_only_admins_switch_a_groups_language_and_groups_start_in_korean(post, servers):
    """In a group of its own: the webhook remembers for a minute who administers which group."""
    db, telegram, _ = servers
    group = GROUP_CHAT - 77
    assert "사용법" in post(said("/help", group, "en"))[1]["text"], "a group starts in Korean"
    status, body = post(said("/lang en", group, "en"))
    assert "관리자만" in body["text"] and db.get(f"languages/{group}") is None
    admin = 1544010299  # another member (the bot remembers who is not an admin for a minute)
    telegram.control(chat_members={str(group): {str(admin): "administrator"}})
    status, body = post(said("/lang en", group, "ko", sender=admin))
    assert "now gets its answers" in english(body) and db.get(f"languages/{group}") == "en"
    assert "/subscribe" in english(post(said("/help", group, "ko"))[1])


def test_an_earlier_subscriber_keeps_korean_once_the_first_tick_migrated_it(post, servers, scrape_function):
    db, _, _ = servers
    db.put(f"subscribers/{ENGLISH_CHAT}", {"since": "2026-09-30T09:00:00+09:00", "chat_type": "private",
                                          "update_id": 1})
    http("POST", scrape_function.url, timeout=120)  # the first call after the deploy migrates
    assert db.get(f"languages/{ENGLISH_CHAT}") == "ko", "subscribed before languages existed: Korean"
    assert db.get("state/migrations/languages/done_at")
    before = db.stats()
    assert "사용법" in post(said("/help"))[1]["text"]
    after = db.stats()
    assert {m: after[m] - before.get(m, 0) for m in after if after[m] != before.get(m, 0)} == {"GET": 1}, \
        "one read: no answer asks whether a chat subscribed before languages existed"


def test_a_database_outage_answers_in_the_default_language(vendored, bot_env, logs_dir, webhook_secret, servers):
    """The language cannot be read: the chat's default (English for an English Telegram), a clear answer."""
    env = dict(bot_env, FIREBASE_DATABASE_EMULATOR_HOST=f"127.0.0.1:{free_port()}")
    process = start_function("webhook", env, logs_dir)
    headers = {"Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": webhook_secret}
    try:
        answers = [http("POST", process.url, raw=json.dumps(said(text)).encode(), headers=headers)[:2]
                   for text in ("/help", "/now", "/lang ko")]
    finally:
        process.stop()
    assert [status for status, _ in answers] == [200, 200, 200]
    assert "/subscribe" in english(answers[0][1])
    assert "cannot answer right now" in english(answers[1][1]) and "cannot answer" in english(answers[2][1])
    assert "answering in its default" in process.output()
