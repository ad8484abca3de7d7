"""Every answer's database requests and round trips, counted (never timed) through the real webhook function
whose database sits behind lib/coronabot_dev/latency_proxy.py: requests made side by side overlap at the proxy, so the
waits an answer makes in a row are the "round trips" of its critical path. The table below is the one in
docs/benchmarks.md; a change that adds a request or a wait fails here."""

from __future__ import annotations

import itertools
import json
import sys

import pytest

from coronabot_dev.harness import ROOT, Process, free_port, http
from coronabot_dev.latency_proxy import waits_in_a_row
from support import start_function

CHAT, SUBSCRIBED, GROUP, ADMIN = 1544090001, 1544090002, -1001544090003, 1544090009
_ids = itertools.count(790_000_001)
LATEST = json.loads((ROOT / "bench" / "latest-sample.json").read_text())


def said(text: str, chat: int = CHAT, code: str = "ko") -> dict:
    chat_type = "private" if chat > 0 else "supergroup"
    sender = chat if chat > 0 else ADMIN
    body = {"message_id": 5, "date": 1790000000, "text": text, "chat": {"id": chat, "type": chat_type},
            "from": {"id": sender, "is_bot": False, "first_name": "지민", "language_code": code}}
    if text.startswith("/"):
        body["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
    return {"update_id": next(_ids), "message": body}


def pressed(data: str, chat: int = SUBSCRIBED) -> dict:
    return {"update_id": next(_ids), "callback_query": {
        "id": f"q{next(_ids)}", "from": {"id": chat, "is_bot": False, "first_name": "지민", "language_code": "ko"},
        "chat_instance": "1", "data": data,
        "message": {"message_id": 77, "date": 1790000000, "chat": {"id": chat, "type": "private"}}}}


def inline() -> dict:
    return {"update_id": next(_ids), "inline_query": {
        "id": f"i{next(_ids)}", "from": {"id": 7100000001, "is_bot": False, "first_name": "Sam",
                                        "language_code": "en"}, "query": "", "offset": ""}}


# answer -> (reads, writes, round trips in a row)
EXPECTED = {
    "/help": (lambda: said("/help"), (1, 0, 1)),
    "/help, Telegram in English, nothing stored": (lambda: said("/help", code="en"), (1, 0, 1)),
    "/now": (lambda: said("/now"), (2, 0, 1)),
    "/history": (lambda: said("/history"), (2, 0, 1)),
    "/chart": (lambda: said("/chart"), (3, 0, 1)),
    "/about": (lambda: said("/about"), (3, 0, 1)),
    "/status": (lambda: said("/status", SUBSCRIBED), (2, 0, 1)),
    "/settings": (lambda: said("/settings", SUBSCRIBED), (2, 0, 1)),
    "an inline query": (inline, (1, 0, 1)),
    "a /settings button": (lambda: pressed("s1:set:when:rose"), (2, 1, 2)),
    "a language button": (lambda: pressed("s1:set:lang:en"), (2, 1, 2)),
    "/subscribe": (lambda: said("/subscribe"), (2, 2, 2)),
    "/unsubscribe": (lambda: said("/unsubscribe", SUBSCRIBED), (3, 1, 2)),
    "/lang en": (lambda: said("/lang en"), (1, 1, 2)),
    "a group's chatter": (lambda: said("안녕하세요", GROUP), (0, 0, 0)),
}


@pytest.fixture(scope="module")
def far_webhook(database_server, vendored, bot_env, logs_dir):
    """The webhook function with its database 40 ms away."""
    port = free_port()
    proxy = Process([sys.executable, "-m", "coronabot_dev.latency_proxy", "--port", str(port), "--upstream",
                     database_server.base, "--latency-ms", "40"], port, logs_dir / "latency-proxy-webhook.log")
    function = start_function("webhook", dict(bot_env, FIREBASE_DATABASE_EMULATOR_HOST=f"127.0.0.1:{port}"),
                              logs_dir)
    yield function, proxy
    function.stop()
    proxy.stop()


@pytest.mark.parametrize("answer", list(EXPECTED))
def test_each_answer_makes_its_reads_side_by_side(far_webhook, servers, webhook_secret, answer):
    function, proxy = far_webhook
    db, _, _ = servers
    db.put("state/latest", LATEST)
    db.put(f"subscribers/{SUBSCRIBED}", {"since": "2026-11-01T09:00:00+09:00", "chat_type": "private",
                                          "update_id": 1})
    db.put(f"languages/{SUBSCRIBED}", "ko")
    make, (reads, writes, waits) = EXPECTED[answer]
    http("DELETE", f"{proxy.url}/__proxy/requests")
    status, body, _ = http("POST", function.url, headers={"X-Telegram-Bot-Api-Secret-Token": webhook_secret},
                           raw=json.dumps(make()).encode())
    assert status == 200
    made = http("GET", f"{proxy.url}/__proxy/requests")[1]
    counted = (sum(r["method"] == "GET" for r in made), sum(r["method"] != "GET" for r in made), waits_in_a_row(made))
    assert counted == (reads, writes, waits), made
