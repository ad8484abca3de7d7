"""History, /history, the chart and /chart through the real functions: the scrape and webhook functions
under functions-framework, the local database, the fake Telegram server and the source stand-in answering
the weeks each request asks for (as the portal does)."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from collections import Counter

import pytest

from coronabot.model.weeks import Week
from coronabot_dev.harness import ROOT, http
from support import (
    PRIVATE_CHAT,
    TWO_YEARS,
    last_week,
    many_chats,
    message,
    series_ending_last_week,
    subscribe,
    tick,
    tick_together,
    uploads,
)

SOURCE = "kdca-sentinel"


def week_id(year_week: tuple[int, int]) -> str:
    return Week(*year_week).order


def weeks_asked(request: dict) -> int:
    """How many weeks a portal POST asked for, both ends included."""
    (start_year, start_week), (end_year, end_week) = request["weeks"]
    assert Week(end_year, end_week) == last_week(), "the newest week asked for is the last that has ended"
    return (Week(end_year, end_week).first_day - Week(start_year, start_week).first_day).days // 7 + 1


@pytest.fixture
def post(webhook_function, webhook_secret):
    def send(update):
        headers = {"Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": webhook_secret}
        return http("POST", webhook_function.url, raw=json.dumps(update).encode(), headers=headers)[:2]
    return send


def test_the_first_tick_stores_the_past_year_in_its_one_request_and_alerts_only_the_newest(
        scrape_function, servers, portal):
    db, telegram, sources = servers
    subscribe(db, [PRIVATE_CHAT])
    mark = len(sources.requests())  # the stand-in's log runs across tests
    status, summary = tick(scrape_function)
    assert (status, summary["status"], summary["announcement"]) == (200, "alerted", week_id(portal[-1]))
    posts = [r for r in sources.requests()[mark:] if r["method"] == "POST"]
    assert len(posts) == 1 and weeks_asked(posts[0]) == 52, "52 weeks, up to the last that has ended"
    stored = db.get(f"history/{SOURCE}")
    assert sorted(stored) == [week_id(w) for w in portal[-52:]], "the 52 weeks that have ended"
    assert stored[week_id(portal[-2])]["figures"]["covid_inpatients"] == 337
    assert "first_seen" not in stored[week_id(portal[-2])] and "first_seen" in stored[week_id(portal[-1])]
    assert [m["chat_id"] for m in telegram.sent()] == [str(PRIVATE_CHAT)], "one alert, for the newest week only"
    assert db.get(f"state/backfill/{SOURCE}")["periods"] == 52
    # later ticks ask for the usual few weeks, and an unchanged answer rewrites nothing in history
    tick(scrape_function)
    synced = db.get(f"history/{SOURCE}/{week_id(portal[-2])}/synced_at")
    status, summary = tick(scrape_function)
    assert summary["status"] == "unchanged"
    posts = [r for r in sources.requests()[mark:] if r["method"] == "POST"]
    assert [weeks_asked(p) for p in posts[1:]] == [6, 6], "6 weeks, up to the last that has ended"
    assert db.get(f"history/{SOURCE}/{week_id(portal[-2])}/synced_at") == synced
    assert len(telegram.sent()) == 1


def test_a_revised_earlier_week_is_updated_in_history_without_any_message(scrape_function, servers, portal):
    db, telegram, sources = servers
    subscribe(db, [PRIVATE_CHAT])
    tick(scrape_function)
    newest = db.get(f"history/{SOURCE}/{week_id(portal[-1])}")
    revised, _ = series_ending_last_week({3: 999})
    sources.serve("kdca", revised)
    status, summary = tick(scrape_function)
    assert summary["status"] == "unchanged"
    assert db.get(f"history/{SOURCE}/{week_id(portal[-4])}/figures/covid_inpatients") == 999
    assert db.get(f"history/{SOURCE}/{week_id(portal[-1])}") == newest
    assert len(telegram.sent()) == 1, "only the first alert: a revision of an older week is not news"


def test_backfill_command_stores_weeks_and_alerts_nobody(bot_env, servers, portal):
    db, telegram, _ = servers
    subscribe(db, [PRIVATE_CHAT])
    result = subprocess.run([sys.executable, "-m", "coronabot", "backfill", "--weeks", "20"], cwd=ROOT,
                            env=dict(bot_env, TELEGRAM_TOKEN=""), capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "20 periods" in result.stdout and "nobody alerted" in result.stdout
    assert sorted(db.get(f"history/{SOURCE}")) == [week_id(w) for w in portal[-20:]]
    assert telegram.calls() == [] and db.get("state/latest") is None
    refused = subprocess.run([sys.executable, "-m", "coronabot", "backfill", "--weeks", "0"], cwd=ROOT,
                             env=bot_env, capture_output=True, text=True, timeout=60)
    assert refused.returncode == 2 and "1 to 520" in refused.stderr


def test_the_alert_carries_the_chart_uploaded_once_then_sent_by_file_id(extra_scrape, servers, portal, post):
    db, telegram, _ = servers
    chats = many_chats(6)
    subscribe(db, chats)
    function = extra_scrape(CHARTS="on")
    status, summary = tick(function)
    assert (status, summary["status"], summary["sent"]) == (200, "alerted", 6)
    photos = telegram.photos()
    assert sorted(p["chat_id"] for p in photos) == sorted(map(str, chats)) and not telegram.calls("sendMessage")
    assert len(uploads(telegram)) == 1
    stored = db.get(f"charts/{SOURCE}")
    file_id = stored["file_id"]
    assert [p["photo"] for p in photos if not isinstance(p["photo"], dict)] == [file_id] * 5
    assert stored["announcement"] == stored["order"] == week_id(portal[-1]) and "period" not in stored
    assert db.get(f"broadcasts/{SOURCE}_{week_id(portal[-1])}/photo") == file_id
    captions = {p["caption"] for p in photos}
    assert len(captions) == 1 and "코로나19 입원환자 주간 발표" in captions.pop()
    Image = pytest.importorskip("PIL.Image")
    assert Image.open(io.BytesIO(telegram.file(file_id))).size == (1280, 720)
    # /chart: the same picture by file_id, in the webhook's answer: one round trip, no Telegram request
    before, calls = db.stats(), len(telegram.calls())
    status, body = post(message("/chart"))
    assert status == 200 and body["method"] == "sendPhoto" and body["photo"] == file_id
    assert "최근 1년 추이" in body["caption"] and body["chat_id"] == PRIVATE_CHAT
    after = db.stats()
    assert after.get("GET", 0) - before.get("GET", 0) == 3 and len(telegram.calls()) == calls, \
        "the language and the chart of each language, side by side"
    assert sum(after.get(m, 0) - before.get(m, 0) for m in ("PUT", "PATCH", "POST", "DELETE")) == 0


def test_history_and_chart_answers_cost_one_read_and_say_when_there_is_nothing_yet(post, servers):
    db, telegram, _ = servers
    before = db.stats()
    assert post(message("/history"))[1]["text"].startswith("아직 쌓인 발표 기록이 없습니다.")
    assert "아직 그래프가 없습니다" in post(message("그래프"))[1]["text"]
    assert db.stats().get("GET", 0) - before.get("GET", 0) == 5, \
        "the language and the answer's one read (/chart's in each language), side by side"
    content, weeks = series_ending_last_week()
    records = {}
    for year_week, value in zip(weeks[-13:], (58, 65, 78, 94, 105, 105, 96, 115, 196, 308, 337, 400, 450),
                                strict=True):
        records[week_id(year_week)] = {"source": SOURCE, "id": week_id(year_week), "order": week_id(year_week),
                                       "figures": [{"key": "covid_inpatients", "value": value, "kind": "weekly",
                                                    "unit": "명"}]}
    records["2019-W01"] = {"source": SOURCE, "id": "2019-W01", "order": "2019-W01", "figures": []}
    db.put(f"history/{SOURCE}", records)
    before = db.stats()
    status, body = post(message("요즘 코로나 늘고 있어?"))
    assert status == 200 and body["method"] == "sendMessage"
    assert "<pre>" in body["text"] and "▲50" in body["text"] and "📈 증가 추세" in body["text"]
    assert body["text"].count("\n", body["text"].index("<pre>"), body["text"].index("</pre>")) == 11
    assert db.stats().get("GET", 0) - before.get("GET", 0) == 2 and telegram.calls() == []


def test_concurrent_ticks_upload_the_chart_once_and_reach_every_chat_once(extra_scrape, servers, portal):
    db, telegram, _ = servers
    chats = many_chats(40)
    subscribe(db, chats)
    telegram.control(latency_ms=20)
    functions = [extra_scrape(CHARTS="on", BROADCAST_RATE="50") for _ in range(2)]
    tick_together(functions)
    for function in functions:  # whichever was busy resumes nothing left
        tick(function)
    assert len(uploads(telegram)) == 1
    assert Counter(p["chat_id"] for p in telegram.photos()) == Counter(map(str, chats))


def test_a_resumed_broadcast_sends_the_stored_chart_without_uploading_again(extra_scrape, servers, portal):
    db, telegram, _ = servers
    chats = many_chats(12)
    subscribe(db, chats)
    function = extra_scrape(CHARTS="on", BROADCAST_RATE="4", BROADCAST_TIME_BUDGET="1")
    status, summary = tick(function)
    assert status == 503 and 0 < summary["sent"] < 12 and summary["pending"] > 0
    while summary.get("pending") or summary["status"] not in ("unchanged", "resumed"):
        status, summary = tick(function)
    assert len(uploads(telegram)) == 1
    assert Counter(p["chat_id"] for p in telegram.photos()) == Counter(map(str, chats))


def test_a_refused_picture_turns_the_alert_into_text_for_everyone(extra_scrape, servers, portal):
    db, telegram, _ = servers
    chats = many_chats(4)
    subscribe(db, chats)
    telegram.control(raw={"sendPhoto": {"status": 400, "body": json.dumps(
        {"ok": False, "error_code": 400, "description": "Bad Request: IMAGE_PROCESS_FAILED"})}})
    function = extra_scrape(CHARTS="on")
    status, summary = tick(function)
    assert (status, summary["sent"]) == (200, 4)
    assert sorted(c["params"]["chat_id"] for c in telegram.calls("sendMessage") if c["status"] == 200) == sorted(
        map(str, chats))
    assert "Telegram refused the broadcast's picture" in function.output()


def test_with_too_little_history_the_alert_goes_as_text(extra_scrape, servers):
    db, telegram, sources = servers
    subscribe(db, [PRIVATE_CHAT])
    data = json.loads(json.dumps(TWO_YEARS))
    data["value"]["data"] = data["value"]["data"][-1:]
    sources.serve("kdca", json.dumps(data, ensure_ascii=False))
    function = extra_scrape(CHARTS="on")
    status, summary = tick(function)
    assert (status, summary["status"], summary["sent"]) == (200, "alerted", 1)
    assert telegram.photos() == [] and len(telegram.calls("sendMessage")) == 1
    assert db.get(f"charts/{SOURCE}") is None


def test_the_webhook_never_loads_matplotlib_and_the_scrape_function_only_to_draw():
    code = ("import sys; sys.path.insert(0, 'functions/{name}'); import main; "
            "print(sorted(m for m in sys.modules if m.startswith(('matplotlib', 'coronabot.alerts.chart', 'numpy', "
            "'PIL'))))")
    for name in ("webhook", "scrape"):
        result = subprocess.run([sys.executable, "-c", code.format(name=name)], cwd=ROOT, capture_output=True,
                                text=True, check=True)
        assert result.stdout.strip() == "[]", name


def test_a_failed_backfill_lets_later_ticks_go_on_with_the_usual_weeks(scrape_function, servers, portal):
    db, telegram, sources = servers
    sources.mode(ranges=True, status=500)
    status, summary = tick(scrape_function)
    assert (status, summary["status"]) == (502, "error")
    failed = db.get(f"state/backfill/{SOURCE}")
    assert failed["failed_at"] and "HTTP 500" in failed["error"]
    sources.mode(ranges=True)
    mark = len(sources.requests())
    status, summary = tick(scrape_function)
    assert (status, summary["status"]) == (200, "alerted")
    posts = [r for r in sources.requests()[mark:] if r["method"] == "POST"]
    assert [weeks_asked(p) for p in posts] == [6], "the backfill waits a day; the tick asks for the usual weeks"
    assert db.get(f"state/backfill/{SOURCE}") == failed and len(db.get(f"history/{SOURCE}")) == 6
