"""Inline mode through the real webhook: ``@bot`` in any chat offers the figures and the chart in the user's
language, answered in the webhook's response with one database read and no upload, the answer valid for
the Bot API (the fake checks it as Telegram does); odd queries and a database outage get a quick valid
answer, never a 5xx; a chosen result subscribes nobody."""

from __future__ import annotations

import itertools
import json

from coronabot_dev.harness import free_port, http
from support import BOT_USERNAME, PRIVATE_CHAT, english, start_function, tick, uploads

_ids = itertools.count(770_000_001)


def inline(query: object = "", code: str | None = "en", user: int = 1544099999) -> dict:
    sender = {"id": user, "is_bot": False, "first_name": "Sam"}
    if code is not None:
        sender["language_code"] = code
    return {"update_id": next(_ids), "inline_query": {"id": f"iq{next(_ids)}", "from": sender, "query": query,
                                                      "offset": ""}}


def results(body: dict) -> list[dict]:
    assert body["method"] == "answerInlineQuery" and body["is_personal"] is True
    assert body["button"]["start_parameter"] == "subscribe"
    return body["results"]


def test_before_any_figure_a_query_gets_a_short_result_that_says_so(post, servers):
    _, telegram, _ = servers
    status, body = post(inline())
    assert status == 200
    [only] = results(body)
    assert only["type"] == "article" and only["title"] == "No figures yet"
    assert f"https://t.me/{BOT_USERNAME}?start=subscribe" in only["input_message_content"]["message_text"]
    assert body["cache_time"] <= 10, "no long cache for an answer that will soon change"
    assert telegram.execute(body)[0] == 200, "valid for the Bot API"


def test_figures_and_chart_in_the_users_language_with_one_read_and_no_upload(post, servers, extra_scrape,
                                                                           portal):
    db, telegram, _ = servers
    db.put(f"subscribers/{PRIVATE_CHAT}", {"since": "2026-09-30T09:00:00+09:00", "chat_type": "private",
                                          "update_id": 1})
    db.put("languages/1544020001", "en")
    db.put("subscribers/1544020001", {"since": "2026-09-30T09:00:00+09:00", "chat_type": "private", "update_id": 1})
    assert tick(extra_scrape(CHARTS="on"))[1]["status"] == "alerted"
    latest = db.get("state/latest")
    assert set(latest["charts"]) == {"ko", "en"}, "each language's chart is stored beside the announcement"
    telegram.reset()
    before = db.stats()
    status, body = post(inline())
    after = db.stats()
    assert {m: after[m] - before.get(m, 0) for m in after if after[m] != before.get(m, 0)} == {"GET": 1}
    article, photo = results(body)
    text = article["input_message_content"]["message_text"]
    assert "COVID-19 inpatients" in english({"text": text}) and "Source:" in text
    assert article["title"].startswith("COVID-19 inpatients: ") and "week" in article["description"]
    assert photo["type"] == "photo" and photo["photo_file_id"] == latest["charts"]["en"]["file_id"]
    assert "The last year" in english({"caption": photo["caption"]})
    assert f"t.me/{BOT_USERNAME}?start=subscribe" in text and f"t.me/{BOT_USERNAME}?start=subscribe" in photo["caption"]
    assert body["cache_time"] >= 300
    assert telegram.calls() == [] and uploads(telegram) == [], "the answer rides the response: no call, no upload"
    assert telegram.execute(body)[0] == 200

    status, body = post(inline("한국어"))
    article, photo = results(body)
    assert "코로나19 입원환자" in article["input_message_content"]["message_text"]
    assert photo["photo_file_id"] == latest["charts"]["ko"]["file_id"]
    assert "코로나19 입원환자" in results(post(inline("", code="ko"))[1])[0]["title"]
    assert results(post(inline("en", code="ko"))[1])[0]["title"].startswith("COVID-19 inpatients"), \
        "a word in the query picks the language"
    assert db.get("subscribers/1544099999") is None and db.get("languages/1544099999") is None, \
        "a query subscribes nobody and stores nothing"


def test_an_older_chart_is_not_offered_with_a_newer_announcement(post, servers):
    db, _, _ = servers
    db.put("state/latest", {"source": "kdca-sentinel", "id": "2026-W39", "order": "2026-W39", "period": "x",
                            "figures": [{"key": "covid_inpatients", "label": "코로나19 입원환자", "value": 248,
                                         "kind": "weekly", "unit": "명"}], "url": "https://x.invalid/",
                            "headline": "h", "note": "", "digest": "d",
                            "charts": {"en": {"file_id": "old", "announcement": "2026-W38", "wording": 2}}})
    [article] = results(post(inline())[1])
    assert article["type"] == "article" and "248" in article["title"]


def test_odd_queries_get_a_quick_valid_answer(post, servers):
    _, telegram, _ = servers
    for query in ("x" * 300, "\u202e\u0000<b>", 42, None):
        status, body = post(inline(query, code=None))
        assert status == 200 and results(body), query
        assert telegram.execute(body)[0] == 200
    status, body = post({"update_id": next(_ids), "inline_query": {"from": {"id": 1}, "query": ""}})
    assert (status, body) == (200, {}), "no query id: nothing to answer"


def test_a_database_outage_answers_an_empty_list_never_a_5xx(vendored, bot_env, logs_dir, webhook_secret, servers):
    env = dict(bot_env, FIREBASE_DATABASE_EMULATOR_HOST=f"127.0.0.1:{free_port()}")
    process = start_function("webhook", env, logs_dir)
    headers = {"Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": webhook_secret}
    try:
        status, body, _ = http("POST", process.url, raw=json.dumps(inline()).encode(), headers=headers)
    finally:
        process.stop()
    assert status == 200 and results(body) == [] and body["cache_time"] <= 10
    _, telegram, _ = servers
    assert telegram.execute(body)[0] == 200


def test_a_result_that_fails_unexpectedly_is_an_empty_answer_telegram_keeps_briefly(post, servers, telegram_server):
    db, _, _ = servers
    # The bot never records a week it cannot name (sources.check refuses the future), but a record naming the
    # calendar's last week makes a text fail (an OverflowError): what no reader anticipated.
    db.put("state/latest", {"source": "kdca-sentinel", "id": "9999-W53", "order": "9999-W53",
                            "figures": {"covid_inpatients": 1}})
    status, body = post(inline())
    assert status == 200 and body == {"method": "answerInlineQuery", "inline_query_id": body["inline_query_id"],
                                      "results": [], "cache_time": 10}
    assert telegram_server.execute(body)[0] == 200, "valid for the Bot API"
