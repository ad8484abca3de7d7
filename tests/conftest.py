"""Real servers on loopback for the tests: the local Realtime Database, a fake Telegram Bot API,
a stand-in for the official sources, and the two functions under functions-framework.

Every server is a real process started once per session; each test starts from
an empty database and a fresh call record. Set FIREBASE_DATABASE_EMULATOR_HOST
(for example under ``firebase emulators:exec``) to run against another emulator.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

from coronabot_dev.harness import ROOT, Process, database_command, free_port, http
from support import (
    BOT_USERNAME,
    DATABASE_URL,
    Database,
    FakeTelegram,
    Sources,
    TasksEmulator,
    series_ending_last_week,
    start_function,
)


@pytest.fixture(scope="session")
def logs_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("logs")


@pytest.fixture(scope="session")
def token() -> str:
    """A bot token made for this run only; tests check it never reaches a log line."""
    return f"{secrets.randbelow(9 * 10**9) + 10**9}:{secrets.token_urlsafe(26)}"


@pytest.fixture(scope="session")
def webhook_secret() -> str:
    return secrets.token_urlsafe(24)


@pytest.fixture(scope="session")
def database_server(logs_dir):
    external = os.environ.get("FIREBASE_DATABASE_EMULATOR_HOST")
    if external:
        yield Database(external, own_emulator=False)
        return
    port = free_port()
    process = Process(database_command(port), port,
                      logs_dir / "rtdb.log")
    yield Database(f"127.0.0.1:{port}", own_emulator=True)
    process.stop()


@pytest.fixture(scope="session")
def telegram_server(logs_dir, token):
    port = free_port()
    process = Process([sys.executable, "-m", "coronabot_dev.fake_telegram", "--port", str(port), "--token", token,
                       "--username", BOT_USERNAME], port, logs_dir / "telegram.log")
    yield FakeTelegram(process.url, token)
    process.stop()


@pytest.fixture(scope="session")
def source_server(logs_dir):
    port = free_port()
    process = Process([sys.executable, "-m", "coronabot_dev.source_server", "--port", str(port)], port,
                      logs_dir / "sources.log")
    yield Sources(process.url)
    process.stop()


@pytest.fixture(scope="session")
def bot_env(database_server, telegram_server, source_server, token, webhook_secret) -> dict:
    """The environment the product runs with in the tests."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "FIREBASE_", "SOURCE"))}
    env.update({
        "TELEGRAM_TOKEN": token,
        "TELEGRAM_WEBHOOK_SECRET": webhook_secret,
        "TELEGRAM_API_BASE": telegram_server.url,
        "TELEGRAM_BOT_USERNAME": BOT_USERNAME,
        "FIREBASE_DATABASE_URL": DATABASE_URL,
        "FIREBASE_DATABASE_EMULATOR_HOST": database_server.base.removeprefix("http://"),
        "SOURCE": "kdca-sentinel",
        "SOURCE_BASE_URL": source_server.url,
        "SOURCE_TIMEOUT": "2",
        "ADMIN_CHAT_IDS": "1700000001",
        "BROADCAST_RATE": "200",
        "BROADCAST_LEASE_SECONDS": "3",
        "POLLING": "always",  # every call fetches; the adaptive decision has tests of its own
        "CHARTS": "off",  # alerts as text messages; alerts with their chart have tests of their own
        "PYTHONUNBUFFERED": "1",
    })
    return env


@pytest.fixture(scope="session")
def vendored():
    """Build each function's folder as a deployment does (make vendor), so the functions run what would ship."""
    subprocess.run(["make", "--no-print-directory", "vendor"], cwd=ROOT, check=True, capture_output=True)


@pytest.fixture
def extra_scrape(vendored, bot_env, logs_dir):
    """Start additional scrape function processes with changed settings; stopped after the test."""
    started = []

    def start(**env):
        process = start_function("scrape", dict(bot_env, **env), logs_dir)
        started.append(process)
        return process
    yield start
    for process in started:
        process.stop()


@pytest.fixture(scope="session")
def tasks_server(logs_dir):
    grpc_port, status_port = free_port(), free_port()
    process = Process([sys.executable, "-m", "coronabot_dev.tasks_emulator", "--port", str(grpc_port), "--http-port",
                       str(status_port)], status_port, logs_dir / "tasks.log")
    yield TasksEmulator(f"127.0.0.1:{grpc_port}", process.url)
    process.stop()


@pytest.fixture
def tasks(tasks_server, servers):
    tasks_server.reset()
    return tasks_server


@pytest.fixture
def deliver_function(vendored, bot_env, logs_dir):
    """Start deliver function processes with changed settings (on a given port: a restarted instance);
    stopped after the test."""
    started = []

    def start(port: int | None = None, **env):
        process = start_function("deliver", dict(bot_env, **env), logs_dir, port)
        started.append(process)
        return process
    yield start
    for process in started:
        process.stop()


@pytest.fixture(scope="session")
def webhook_function(vendored, bot_env, logs_dir):
    process = start_function("webhook", bot_env, logs_dir)
    yield process
    process.stop()


@pytest.fixture(scope="session")
def scrape_function(vendored, bot_env, logs_dir):
    process = start_function("scrape", bot_env, logs_dir)
    yield process
    process.stop()


@pytest.fixture
def servers(database_server, telegram_server, source_server):
    """A clean slate: empty database, no recorded calls, samples served as saved."""
    database_server.reset()
    telegram_server.reset()
    source_server.reset()
    return database_server, telegram_server, source_server


@pytest.fixture
def post(webhook_function, webhook_secret, servers):
    """POST one update to the webhook function as Telegram does; returns (status, decoded answer)."""
    def send(update, secret: str | None = webhook_secret, raw: bytes | None = None, method: str = "POST"):
        headers = {"Content-Type": "application/json"}
        if secret is not None:
            headers["X-Telegram-Bot-Api-Secret-Token"] = secret
        data = raw if raw is not None else json.dumps(update).encode()
        status, body, _ = http(method, webhook_function.url, headers=headers,
                               raw=data if method == "POST" else None)
        return status, body
    return send


@pytest.fixture(scope="session", autouse=True)
def no_token_in_logs(request, logs_dir, token, webhook_secret):
    """After the whole session: no captured log line of any process holds the token (raw or URL-encoded)
    or the secret."""
    from urllib.parse import quote
    yield
    for log in logs_dir.glob("*.log"):
        text = log.read_text(errors="replace")
        assert token not in text, f"bot token leaked into {log.name}"
        assert token.split(":")[1] not in text, f"bot token leaked into {log.name}"
        assert quote(token, safe="") not in text, f"URL-encoded bot token leaked into {log.name}"
        assert webhook_secret not in text, f"webhook secret leaked into {log.name}"


@pytest.fixture(params=["firebase-admin", "rest"])
def db(database_server, monkeypatch, request):
    """The bot's database (tests/adapters, tests/alerts) through each client: firebase-admin, and the webhook's
    REST client (_rtdb.py)."""
    from coronabot.adapters.storage import Database as BotDatabase
    from coronabot.config import Settings

    database_server.reset()
    host = database_server.base.removeprefix("http://")
    monkeypatch.setenv("FIREBASE_DATABASE_EMULATOR_HOST", host)
    return BotDatabase(Settings(database_url=DATABASE_URL, emulator_host=host), light=request.param == "rest")


@pytest.fixture
def portal(servers):
    """The stand-in answers each POST with the weeks it asks for, out of two years ending this week."""
    _, _, sources = servers
    content, weeks = series_ending_last_week()
    sources.serve("kdca", content)
    sources.mode(ranges=True)
    return weeks
