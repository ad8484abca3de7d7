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
import urllib.request
from pathlib import Path

import pytest

from harness import ROOT, Process, as_deployed, database_command, free_port, http

FIXTURES = Path(__file__).resolve().parent / "fixtures"
NAMESPACE = "coronabot-test-default-rtdb"
DATABASE_URL = f"https://{NAMESPACE}.firebaseio.com"
BOT_USERNAME = "CoronaAlertTestBot"
PRIVATE_CHAT = 1544010213
GROUP_CHAT = -1001234567890


class Database:
    """REST access to the test database, for arranging and checking state."""

    def __init__(self, host: str, own_emulator: bool):
        self.base = f"http://{host}"
        self.own_emulator = own_emulator

    def url(self, path: str) -> str:
        return f"{self.base}/{path.strip('/')}.json?ns={NAMESPACE}"

    def get(self, path: str = ""):
        return http("GET", self.url(path), headers={"Authorization": "Bearer owner"})[1]

    def put(self, path: str, value) -> None:
        status, body, _ = http("PUT", self.url(path), value, headers={"Authorization": "Bearer owner"})
        assert status == 200, body

    def reset(self) -> None:
        if self.own_emulator:
            http("POST", f"{self.base}/__emulator/reset")
        else:
            http("DELETE", self.url(""), headers={"Authorization": "Bearer owner"})

    def stats(self) -> dict:
        if not self.own_emulator:
            pytest.skip("request counts need the project's own emulator")
        return http("GET", f"{self.base}/__emulator/stats")[1]


class FakeTelegram:
    def __init__(self, url: str, token: str):
        self.url, self.token = url, token

    def calls(self, method: str | None = None) -> list[dict]:
        return http("GET", f"{self.url}/__calls" + (f"?method={method}" if method else ""))[1]

    def sent(self) -> list[dict]:
        """Messages Telegram accepted (answered 200), in order: sendMessage, and sendPhoto with its caption
        as ``text`` (an alert with its chart is one message)."""
        return [dict(c["params"], text=c["params"].get("caption")) if c["method"] == "sendPhoto" else c["params"]
                for c in self.calls() if c["method"] in ("sendMessage", "sendPhoto") and c.get("status") == 200]

    def photos(self) -> list[dict]:
        """Pictures Telegram accepted (answered 200)."""
        return [c["params"] for c in self.calls("sendPhoto") if c.get("status") == 200]

    def file(self, file_id: str) -> bytes:
        """An uploaded file's bytes."""
        with urllib.request.urlopen(f"{self.url}/__files/{file_id}", timeout=10) as response:
            return response.read()

    def execute(self, body: dict) -> tuple[int, dict]:
        """Do what Telegram does with a webhook's answer: call the method it names with its parameters."""
        params = {k: v for k, v in body.items() if k != "method"}
        status, answer, _ = http("POST", f"{self.url}/bot{self.token}/{body['method']}", params)
        return status, answer

    def message(self, chat_id: int, message_id: int) -> dict | None:
        """A message as the fake keeps it (text and inline keyboard), or None."""
        status, body, _ = http("GET", f"{self.url}/__messages/{chat_id}/{message_id}")
        return body if status == 200 else None

    def control(self, **switches) -> None:
        http("POST", f"{self.url}/__control", switches)

    def queue_updates(self, updates: list[dict]) -> None:
        http("POST", f"{self.url}/__updates", updates)

    def reset(self) -> None:
        http("DELETE", f"{self.url}/__calls")
        self.control()


class Sources:
    def __init__(self, url: str):
        self.url = url

    def serve(self, name: str, content: bytes | str) -> None:
        http("PUT", f"{self.url}/__content/{name}", raw=content.encode() if isinstance(content, str) else content)

    def mode(self, **mode) -> None:
        http("POST", f"{self.url}/__mode", mode)

    def requests(self) -> list[dict]:
        return http("GET", f"{self.url}/__requests")[1]

    def reset(self) -> None:
        self.mode()
        for name, file in (("kdca", "kdca-dportal-ari-ListAjax-2026-w35-w39.json"),
                           ("mohw", "mohw-bdBoardList_Real-brdGubun11-2021-06-05.html"),
                           ("portal", "api-getCovid19InfStateJson-2021-07-22-pretty-extracted.xml")):
            self.serve(name, (FIXTURES / file).read_bytes())


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
    process = Process([sys.executable, "tools/fake_telegram.py", "--port", str(port), "--token", token,
                       "--username", BOT_USERNAME], port, logs_dir / "telegram.log")
    yield FakeTelegram(process.url, token)
    process.stop()


@pytest.fixture(scope="session")
def source_server(logs_dir):
    port = free_port()
    process = Process([sys.executable, "tools/source_server.py", "--port", str(port)], port,
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


def start_function(name: str, env: dict, logs_dir: Path, port: int | None = None) -> Process:
    """functions-framework serving build/functions/NAME/main.py (the function as deployed, after `vendored`)."""
    port = port or free_port()
    executable = Path(sys.executable).with_name("functions-framework")
    return Process([str(executable), "--source", f"build/functions/{name}/main.py", "--target", name,
                    "--host", "127.0.0.1", "--port", str(port)], port, logs_dir / f"{name}.log", as_deployed(name, env))


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


QUEUE = "projects/coronabot-test/locations/asia-northeast3/queues/coronabot-broadcast"


class TasksEmulator:
    """tools/tasks_emulator.py: Cloud Tasks over gRPC for the product, its record of dispatches for the tests."""

    def __init__(self, host: str, status_url: str):
        self.host, self.status_url = host, status_url

    def configure(self, concurrency: int, dispatches_per_second: float = 20, min_backoff: float = 0.2,
                  max_backoff: float = 2.0, max_attempts: int = -1, max_retry_duration: float = 0,
                  max_doublings: int = 4) -> None:
        """Create or update the queue, as the deployment's `gcloud tasks queues create/update` does (with the
        tests' short back-off; max_attempts=-1 retries for ever)."""
        from coronabot.tasks import configure_emulated_queue

        configure_emulated_queue(self.host, QUEUE, concurrency, dispatches_per_second, min_backoff, max_backoff,
                                 max_attempts, max_retry_duration, max_doublings)

    def dispatches(self) -> list[dict]:
        return http("GET", f"{self.status_url}/__dispatches")[1]

    def waiting(self) -> list[str]:
        return http("GET", f"{self.status_url}/__tasks")[1].get(QUEUE, [])

    def reset(self) -> None:
        http("POST", f"{self.status_url}/__reset")


@pytest.fixture(scope="session")
def tasks_server(logs_dir):
    grpc_port, status_port = free_port(), free_port()
    process = Process([sys.executable, "tools/tasks_emulator.py", "--port", str(grpc_port), "--http-port",
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
