"""`python -m coronabot ...` end to end against the fake Telegram server and the local database."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest

import portal_answers
from coronabot_dev.harness import ROOT
from support import PRIVATE_CHAT


@pytest.fixture
def cli(bot_env, servers, logs_dir, token):
    def run(*args: str, **env_changes) -> subprocess.CompletedProcess:
        env = dict(bot_env, **env_changes)
        result = subprocess.run([sys.executable, "-m", "coronabot", *args], cwd=ROOT, env=env,
                                capture_output=True, text=True, timeout=60)
        with open(logs_dir / "cli.log", "a") as log:
            log.write(result.stdout + result.stderr)
        assert token not in result.stdout + result.stderr
        assert "Traceback" not in result.stderr, result.stderr
        return result
    return run


def test_set_webhook_registers_the_secret_and_the_update_kinds(cli, servers):
    _, telegram, _ = servers
    result = cli("set-webhook", "https://asia-northeast3-corona-test-123.cloudfunctions.net/webhook")
    assert result.returncode == 0 and "webhook set" in result.stdout
    params = telegram.calls("setWebhook")[-1]["params"]
    assert params["url"].endswith("/webhook") and params["secret_token"]
    assert params["allowed_updates"] == ["message", "channel_post", "my_chat_member", "callback_query", "inline_query"]
    assert params["secret_token"] not in result.stdout + result.stderr

    info = cli("webhook-info")
    assert info.returncode == 0 and json.loads(info.stdout)["url"].endswith("/webhook")
    assert cli("delete-webhook").returncode == 0
    assert json.loads(cli("webhook-info").stdout)["url"] == ""


def test_set_webhook_refuses_plain_http_and_a_missing_secret(cli):
    result = cli("set-webhook", "http://example.invalid/webhook")
    assert result.returncode == 2 and "https://" in result.stderr
    result = cli("set-webhook", "https://example.invalid/webhook", TELEGRAM_WEBHOOK_SECRET="")
    assert result.returncode == 2 and "TELEGRAM_WEBHOOK_SECRET is not set" in result.stderr


def test_set_commands_in_english_by_default_and_korean_for_korean_users(cli, servers):
    _, telegram, _ = servers
    result = cli("set-commands")
    assert result.returncode == 0
    assert "inline mode is off" in result.stderr and "/setinline" in result.stderr
    menus = {c["params"].get("language_code", ""): c["params"]["commands"] for c in telegram.calls("setMyCommands")}
    assert set(menus) == {"", "ko"} and all(c["status"] == 200 for c in telegram.calls("setMyCommands"))
    for menu in menus.values():
        assert [c["command"] for c in menu] == [
            "now", "history", "chart", "subscribe", "unsubscribe", "settings", "status", "about", "lang", "help"]
    assert all(re.search(r"[가-힣]", c["description"]) for c in menus["ko"])
    assert not any(re.search(r"[가-힣]", c["description"]) for c in menus[""] if c["command"] != "lang")
    for method in ("setMyDescription", "setMyShortDescription"):
        calls = telegram.calls(method)
        assert {c["params"].get("language_code", "") for c in calls} == {"", "ko"}
        assert all(c["status"] == 200 for c in calls), "within the Bot API's limits"
    telegram.control(inline=True)
    result = cli("set-commands")
    assert result.returncode == 0 and "inline mode" not in result.stderr


def test_scrape_once_and_stats(cli, servers):
    db, telegram, sources = servers
    db.put("subscribers", {
        str(PRIVATE_CHAT): {"since": "2026-09-30T09:00:00+09:00", "chat_type": "private"},
        "5000000001": {"since": "x", "chat_type": "private", "prefs": {"when": "rose", "night": "hold"}},
        "5000000002": {"since": "x", "chat_type": "private", "prefs": {"when": "rose", "format": "text"}}})
    result = cli("scrape-once")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["status"] == "alerted"
    stats = json.loads(cli("stats").stdout)
    assert stats["subscribers"] == 3
    db.put("held/5000000001/kdca-sentinel_2026-W39", {"announcement": "2026-W39", "order": "2026-W39"})
    db.put("languages", {"5000000002": "en", "5000000009": "en"})  # the second chose but is not subscribed
    stats = json.loads(cli("stats").stdout)
    assert stats["held_for_the_morning"] == 1
    assert stats["languages"] == {"ko": 2, "en": 1}
    assert stats["choices"] == {"when": {"every": 1, "rose": 2, "change20": 0, "rise50": 0},
                                "night": {"silent": 2, "hold": 1, "normal": 0}, "format": {"chart": 2, "text": 1}}
    assert stats["last_announcement"]["id"] == "2026-W39"
    assert stats["last_announcement"]["period"] == "2026년 39주 (9월 20일~26일)"
    assert stats["last_announcement"]["figures"] == ["코로나19 입원환자: 248명", "전주(38주, 9월 13일~19일): 337명"]
    assert stats["last_tick"]["status"] == "alerted" and stats["source_health"] == "ok"
    assert stats["next_announcement_expected"].startswith("unknown until the bot has seen three")
    assert stats["broadcast_in_progress"] is None
    db.put("state/broadcast", {"key": "kdca-sentinel_2026-W39", "kind": "alert"})
    db.put("fanout/kdca-sentinel_2026-W39", {"chunks": [{"generation": 0}, {"generation": 0}], "done": [1.0]})
    assert json.loads(cli("stats").stdout)["broadcast_in_progress"] == {
        "broadcast": "kdca-sentinel_2026-W39", "chats_settled": 3,
        "chunks": {"recorded": 2, "planned": False, "settled": 1, "sending": 0}}
    db.put("state/broadcast", None)
    assert json.loads(cli("scrape-once").stdout)["status"] == "unchanged", "scrape-once always fetches"
    db.put("state/seen/kdca-sentinel", ["2026-09-17T09:10:00+09:00", "2026-09-24T10:40:00+09:00",
                                        "2026-10-01T09:55:00+09:00"])
    assert re.fullmatch(r"\d+월 \d+일\(목\) 08:40~11:10 \(KST\)", json.loads(cli("stats").stdout)[
        "next_announcement_expected"])
    assert json.loads(cli("stats").stdout)["not_published_yet"] is None
    sources.serve("kdca", portal_answers.text(portal_answers.ROWS_W37_W41))  # the real call of 2026-10-06
    assert json.loads(cli("scrape-once").stdout)["status"] == "pending"
    assert json.loads(cli("stats").stdout)["not_published_yet"] == {"id": "2026-W40", "counting": True}


def test_scrape_once_reports_a_source_failure(cli, servers):
    _, _, sources = servers
    sources.mode(html_error=True)
    result = cli("scrape-once")
    assert result.returncode == 1 and json.loads(result.stdout)["status"] == "error"


def test_send_test(cli, servers):
    _, telegram, _ = servers
    result = cli("send-test", str(PRIVATE_CHAT))
    assert result.returncode == 0 and f"to chat {PRIVATE_CHAT}" in result.stdout
    text = telegram.sent()[-1]["text"]
    assert "테스트 메시지" in text and "(KST)" in text


def test_clear_errors_for_user_mistakes(cli):
    result = cli("send-test", "1544010213", TELEGRAM_TOKEN="")
    assert result.returncode == 2 and "TELEGRAM_TOKEN is not set" in result.stderr
    result = cli("send-test", "1544010213", TELEGRAM_TOKEN="99:wrong")
    assert result.returncode == 1 and "Telegram error: 401" in result.stderr
    result = cli("send-test", "not-a-number")
    assert result.returncode == 2 and "invalid int value" in result.stderr
    result = cli("scrape-once", SOURCE="nowhere")
    assert result.returncode == 2 and "SOURCE='nowhere'" in result.stderr
    result = cli("stats", FIREBASE_DATABASE_URL="", FIREBASE_DATABASE_EMULATOR_HOST="")
    assert result.returncode == 2 and "FIREBASE_DATABASE_URL is not set" in result.stderr
    result = cli("send-test", "1544010213", TELEGRAM_API_BASE="http://127.0.0.1:9")
    assert result.returncode == 1 and "Telegram cannot be reached at http://127.0.0.1:9" in result.stderr
    assert result.stderr.count("\n") == 1, "one line, no urllib3 warning before it"


@pytest.mark.parametrize("command, method", [
    (("send-test", str(PRIVATE_CHAT)), "sendMessage"), (("webhook-info",), "getWebhookInfo"),
    (("set-commands",), "setMyCommands"),
])
@pytest.mark.parametrize("answer", ['{"ok": false}', "\udcff", "[]",
                                    '{"ok": false, "error_code": 400, "description": "x", "parameters": "p"}'])
def test_answers_out_of_the_bot_api_format_are_one_clear_line(cli, servers, command, method, answer):
    _, telegram, _ = servers
    telegram.control(raw={method: {"status": 200, "body": answer}})
    result = cli(*command)
    assert result.returncode == 1 and "malformed answer" in result.stderr, result.stderr


@pytest.mark.parametrize("command, method", [(("send-test", str(PRIVATE_CHAT)), "sendMessage"),
                                             (("webhook-info",), "getWebhookInfo")])
def test_a_result_of_the_wrong_type_is_one_clear_line(cli, servers, command, method):
    _, telegram, _ = servers
    telegram.control(raw={method: {"status": 200, "body": '{"ok": true, "result": true}'}})
    result = cli(*command)
    assert result.returncode == 1 and f"malformed answer to {method}" in result.stderr, result.stderr


def test_an_unexpected_failure_is_one_clear_line_and_a_redacted_log(cli, servers, token):
    db, telegram, _ = servers
    db.put("state", {"latest": "damaged", "broadcast": [1, 2]})
    result = cli("stats")
    assert result.returncode == 0 and json.loads(result.stdout)["last_announcement"] is None
    echo = f"Forbidden: /bot{token}/getWebhookInfo is not yours"
    telegram.control(raw={"getWebhookInfo": {"status": 403, "body": json.dumps(
        {"ok": False, "error_code": 403, "description": echo})}})
    result = cli("webhook-info")
    assert result.returncode == 1 and "Telegram error: 403" in result.stderr and "<redacted>" in result.stderr


def test_settings_of_the_wrong_form_are_one_line_naming_the_variable(cli, webhook_secret):
    result = cli("stats", LOG_LEVEL="bogus")
    assert result.returncode == 2 and result.stderr.strip().splitlines() == [
        "error: LOG_LEVEL must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL; got 'bogus'"]
    for bad in ("has space", "ünïcode", "x" * 257, "semi;colon"):
        result = cli("set-webhook", "https://example.invalid/hook", TELEGRAM_WEBHOOK_SECRET=bad)
        assert result.returncode == 2 and "TELEGRAM_WEBHOOK_SECRET must be 1 to 256 characters" in result.stderr
        assert bad not in result.stderr, "the secret is never echoed"
    result = cli("stats", FIREBASE_DATABASE_URL="", FIREBASE_DATABASE_EMULATOR_HOST="")
    assert "firebasedatabase.app" in result.stderr and "firebaseio.com" in result.stderr


@pytest.mark.parametrize("command, needs", [("set-webhook", "TELEGRAM_WEBHOOK_SECRET (secret, required)"),
                                            ("stats", "FIREBASE_DATABASE_URL"), ("scrape-once", "POLLING"),
                                            ("scrape-once", "BROADCAST_QUEUE"), ("scrape-once", "DELIVER_URL"),
                                            ("scrape-once", "BROADCAST_PAGE_SIZE"),
                                            ("send-test", "TELEGRAM_TOKEN (secret, required to send)")])
def test_each_command_lists_the_environment_it_reads(cli, command, needs):
    result = cli(command, "--help")
    assert result.returncode == 0 and "environment:" in result.stdout and needs in result.stdout
    assert "LOG_LEVEL" in result.stdout


@pytest.mark.parametrize("command, needs", [("run", "RTDB_PORT"), ("serve", "WEBHOOK_PORT"),
                                            ("demo", "DEMO_TELEGRAM_PORT")])
def test_each_development_command_lists_the_environment_it_reads(command, needs):
    result = subprocess.run([sys.executable, "-m", "coronabot_dev", command, "--help"], cwd=ROOT,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and "environment:" in result.stdout and needs in result.stdout


def test_the_operator_commands_are_not_the_development_ones():
    result = subprocess.run([sys.executable, "-m", "coronabot", "run"], cwd=ROOT, capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 2 and result.stderr == \
        "error: run is a development command: `python -m coronabot_dev run` (or `make run`)\n"
