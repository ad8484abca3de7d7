"""The webhook's REST client (lib/coronabot/adapters/storage/_rtdb.py) where tests/adapters/test_storage.py cannot
take it: on Cloud Run, with an access token from the metadata server. A local server plays both the metadata
server and the database, over real HTTP on loopback, and records what it is sent."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest

from coronabot.adapters.storage import Database, DatabaseError, light_client_available
from coronabot.config import Settings
from coronabot_dev.harness import http
from support import start_function


class Google(ThreadingHTTPServer):
    """The metadata server's token endpoint and a database answering one subscription."""

    daemon_threads = True

    def __init__(self, lifetime: int):
        self.requests: list[tuple[str, dict]] = []
        self.lifetime, self.tokens, self.connections = lifetime, 0, 0

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as Google's servers: a connection serves request after request

            def do_GET(handler):
                self.requests.append((handler.path, dict(handler.headers)))
                if handler.path.startswith("/computeMetadata/"):
                    self.tokens += 1
                    body = {"access_token": f"token-{self.tokens}", "expires_in": self.lifetime,
                            "token_type": "Bearer"}
                else:
                    body = {"since": "2026-09-30T09:00:00+09:00", "chat_type": "private"}
                payload = json.dumps(body).encode()
                handler.send_response(200)
                handler.send_header("Content-Length", str(len(payload)))
                handler.send_header("ETag", "e1")
                handler.end_headers()
                handler.wfile.write(payload)

            def log_message(handler, *args):
                pass

        super().__init__(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.serve_forever, daemon=True).start()

    def get_request(self):
        self.connections += 1
        return super().get_request()


@pytest.fixture
def google(monkeypatch):
    server = Google(lifetime=61)  # usable for one second: a token is renewed a minute before it expires
    monkeypatch.setenv("K_SERVICE", "webhook")
    monkeypatch.setenv("GCE_METADATA_HOST", f"127.0.0.1:{server.server_port}")
    monkeypatch.delenv("FIREBASE_DATABASE_EMULATOR_HOST", raising=False)
    yield server
    server.shutdown()


def test_on_cloud_run_requests_carry_the_functions_own_token_renewed_before_it_expires(google):
    settings = Settings(database_url=f"http://127.0.0.1:{google.server_port}/?ns=coronabot-prod-default-rtdb")
    assert light_client_available(settings)
    db = Database(settings, light=True)
    assert db.subscription(1544010213)["chat_type"] == "private"
    assert db.subscription(1544010213)["chat_type"] == "private"
    time.sleep(1.2)
    assert db.subscription(1544010213)["chat_type"] == "private"
    token_requests = [(p, h) for p, h in google.requests if p.startswith("/computeMetadata/")]
    reads = [(p, h) for p, h in google.requests if not p.startswith("/computeMetadata/")]
    assert len(token_requests) == 2, "one token for the first two reads, a new one once it was about to expire"
    path, headers = token_requests[0]
    assert headers["Metadata-Flavor"] == "Google"
    assert urlsplit(path).path == "/computeMetadata/v1/instance/service-accounts/default/token"
    assert parse_qs(urlsplit(path).query)["scopes"] == [
        "https://www.googleapis.com/auth/firebase.database,https://www.googleapis.com/auth/userinfo.email"]
    assert [h["Authorization"] for _, h in reads] == ["Bearer token-1", "Bearer token-1", "Bearer token-2"]
    assert urlsplit(reads[0][0]).path == "/subscribers/1544010213.json"
    assert parse_qs(urlsplit(reads[0][0]).query) == {"ns": ["coronabot-prod-default-rtdb"]}


def test_no_metadata_server_is_a_database_error(monkeypatch):
    monkeypatch.setenv("K_SERVICE", "webhook")
    monkeypatch.setenv("GCE_METADATA_HOST", "127.0.0.1:9")  # nothing listens on the discard port
    db = Database(Settings(database_url="http://127.0.0.1:9/?ns=x"), light=True)
    with pytest.raises(DatabaseError, match="metadata server"):
        db.subscription(1544010213)


def test_a_token_never_travels_over_plain_http_to_another_host(monkeypatch):
    monkeypatch.setenv("K_SERVICE", "webhook")
    with pytest.raises(ValueError, match="https"):
        Database(Settings(database_url="http://coronabot-prod-default-rtdb.firebaseio.com"), light=True)


def test_elsewhere_the_webhook_uses_firebase_admin(monkeypatch):
    monkeypatch.delenv("K_SERVICE", raising=False)
    assert not light_client_available(Settings(database_url="https://x-default-rtdb.firebaseio.com"))
    assert light_client_available(Settings(database_url="https://x-default-rtdb.firebaseio.com",
                                           emulator_host="127.0.0.1:9000"))


def test_warming_fetches_the_token_and_opens_the_connections_the_next_reads_use(google):
    db = Database(Settings(database_url=f"http://127.0.0.1:{google.server_port}/?ns=coronabot-prod-default-rtdb"),
                  light=True)
    db.warm()
    deadline = time.monotonic() + 5
    while google.connections < 3 and time.monotonic() < deadline:  # the server accepts on its own thread
        time.sleep(0.01)
    assert (google.tokens, google.connections) == (1, 3), "the token's connection, and two to the database"
    with db.reads() as reads:
        reads.at_once(lambda: db.subscription(1544010213), lambda: db.language(1544010213))
    assert (google.tokens, google.connections) == (1, 3), "two reads side by side on the warmed connections"
    assert len([p for p, _ in google.requests if not p.startswith("/computeMetadata/")]) == 2


def test_a_cold_webhook_has_its_connections_open_before_the_first_update(google, vendored, bot_env, logs_dir,
                                                                         webhook_secret):
    """The function's import starts a background thread that opens the database's connections (and, on
    Cloud Run, fetches the token: above); the first update then reads on one of them."""
    function = start_function("webhook", dict(bot_env, FIREBASE_DATABASE_EMULATOR_HOST=f"127.0.0.1:"
                                                                                      f"{google.server_port}"),
                              logs_dir)
    try:
        deadline = time.monotonic() + 10
        while google.connections < 2 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert google.connections == 2 and google.requests == [], "opened at start, before any update"
        status, body, _ = http("POST", function.url, headers={"X-Telegram-Bot-Api-Secret-Token": webhook_secret},
                               raw=json.dumps(_help()).encode())
        assert status == 200 and body["method"] == "sendMessage"
        assert google.connections == 2, "the first update opened no connection of its own"
        assert [urlsplit(p).path for p, _ in google.requests] == ["/languages/1544010213.json"]
    finally:
        function.stop()


def test_a_warm_up_that_fails_only_logs(vendored, bot_env, logs_dir, webhook_secret):
    function = start_function("webhook", dict(bot_env, FIREBASE_DATABASE_EMULATOR_HOST="127.0.0.1:9"), logs_dir)
    try:
        status, body, _ = http("POST", function.url, headers={"X-Telegram-Bot-Api-Secret-Token": webhook_secret},
                               raw=json.dumps(_help()).encode())
        assert status == 200 and "/subscribe" in body["text"], "answered at once, in the chat's default language"
    finally:
        function.stop()
    text = (logs_dir / "webhook.log").read_text()
    assert "the database connection could not be warmed: ConnectionRefusedError" in text


def _help() -> dict:
    return {"update_id": 791_000_001, "message": {
        "message_id": 1, "date": 1790000000, "text": "/help", "chat": {"id": 1544010213, "type": "private"},
        "from": {"id": 1544010213, "is_bot": False, "first_name": "지민", "language_code": "ko"},
        "entities": [{"type": "bot_command", "offset": 0, "length": 5}]}}


def test_a_forked_worker_never_inherits_a_client_its_parent_was_warming(bot_env):
    """gunicorn imports the function in its master, then forks the worker: a lock the master's warming thread
    held at that moment (the token's, the client's) would be held for ever in the worker. The worker drops
    what it inherited and makes its own."""
    script = textwrap.dedent("""
        import os, sys
        from coronabot.entry import webhook
        from coronabot.adapters.storage import _rtdb
        webhook._db = "the parent's client"
        webhook._db_lock.acquire()  # as the parent's warming thread holds it while it makes the client
        _rtdb._side_by_side_lock.acquire()
        pid = os.fork()
        if pid == 0:
            fresh = webhook._db is None and webhook._db_lock.acquire(timeout=2)
            fresh = fresh and _rtdb._side_by_side_lock.acquire(timeout=2)
            os._exit(0 if fresh else 1)
        _, status = os.waitpid(pid, 0)
        sys.exit(os.waitstatus_to_exitcode(status))
    """)
    result = subprocess.run([sys.executable, "-c", script], env=bot_env, capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
