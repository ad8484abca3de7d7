"""What the tests share besides their fixtures (conftest.py): the test's chats and names, and the clients of
the real servers on loopback (the local database, the fake Bot API, the source stand-in, the Cloud Tasks
emulator), and how a function process is started as deployed."""

from __future__ import annotations

import sys
import urllib.request
from pathlib import Path

import pytest

from coronabot_dev.harness import Process, as_deployed, free_port, http

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


def start_function(name: str, env: dict, logs_dir: Path, port: int | None = None) -> Process:
    """functions-framework serving build/functions/NAME/main.py (the function as deployed, after `vendored`)."""
    port = port or free_port()
    executable = Path(sys.executable).with_name("functions-framework")
    return Process([str(executable), "--source", f"build/functions/{name}/main.py", "--target", name,
                    "--host", "127.0.0.1", "--port", str(port)], port, logs_dir / f"{name}.log", as_deployed(name, env))


QUEUE = "projects/coronabot-test/locations/asia-northeast3/queues/coronabot-broadcast"


class TasksEmulator:
    """coronabot_dev.tasks_emulator: Cloud Tasks over gRPC for the product, its record of dispatches for the tests."""

    def __init__(self, host: str, status_url: str):
        self.host, self.status_url = host, status_url

    def configure(self, concurrency: int, dispatches_per_second: float = 20, min_backoff: float = 0.2,
                  max_backoff: float = 2.0, max_attempts: int = -1, max_retry_duration: float = 0,
                  max_doublings: int = 4) -> None:
        """Create or update the queue, as the deployment's `gcloud tasks queues create/update` does (with the
        tests' short back-off; max_attempts=-1 retries for ever)."""
        from coronabot.adapters.tasks import configure_emulated_queue

        configure_emulated_queue(self.host, QUEUE, concurrency, dispatches_per_second, min_backoff, max_backoff,
                                 max_attempts, max_retry_duration, max_doublings)

    def dispatches(self) -> list[dict]:
        return http("GET", f"{self.status_url}/__dispatches")[1]

    def waiting(self) -> list[str]:
        return http("GET", f"{self.status_url}/__tasks")[1].get(QUEUE, [])

    def reset(self) -> None:
        http("POST", f"{self.status_url}/__reset")
