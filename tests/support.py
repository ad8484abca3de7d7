"""What the tests share besides their fixtures (conftest.py): the test's chats and names, and the clients of
the real servers on loopback (the local database, the fake Bot API, the source stand-in, the Cloud Tasks
emulator), and how a function process is started as deployed."""

from __future__ import annotations

import itertools
import json
import re
import sys
import threading
import time
import urllib.request
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from coronabot.model.seoul import KST
from coronabot.model.weeks import Week
from coronabot_dev.harness import Process, as_deployed, free_port, http

FIXTURES = Path(__file__).resolve().parent / "fixtures"
TWO_YEARS = json.loads((FIXTURES / "kdca-ari-2024-w40-2026-w39-synthetic.json").read_text(encoding="utf-8"))
_message_update_ids = itertools.count(700_000_001)  # the update ids of message()
KEPT = ("한국어",)  # the one Korean word English texts keep: the language's own name, where it is offered
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


def english(body: dict) -> str:
    """The text of an answer, checked to be English: no Hangul but the name 한국어 where it is offered."""
    text = body.get("text") or body.get("caption") or ""
    assert text and not hangul(text + json.dumps(body.get("reply_markup") or {}, ensure_ascii=False)), text
    return text


def uploads(telegram) -> list[dict]:
    return [p for p in telegram.photos() if isinstance(p.get("photo"), dict)]


def series_ending_last_week(values: dict[int, int] | None = None) -> tuple[str, list[tuple[int, int]]]:
    """The two-year fixture moved in time so its last week is the last one that has ended (the bot asks for
    weeks relative to today, on KDCA's calendar); ``values`` replaces the COVID-19 figure of the week so many
    weeks before the last (0 = the last). Returns the portal answer and its weeks, oldest first."""
    data = json.loads(json.dumps(TWO_YEARS))
    rows = data["value"]["data"]
    last = last_week()
    weeks: list[tuple[int, int]] = []
    for back, row in enumerate(reversed(rows)):
        week = last.shifted(-back)
        row["TITLE"], row["SUBTITLE"] = str(week.year), f"{week.number:02d}"
        if values and back in values:
            row["COLUMN12"] = f"{values[back]:,}"
        weeks.append((week[0], week[1]))
    return json.dumps(data, ensure_ascii=False), list(reversed(weeks))


def all_ended(pids: set[int]) -> bool:
    table = _process_table()
    return not any(pid in table and table[pid][1] != "Z" for pid in pids)


def descendants(pid: int) -> set[int]:
    """Every live process below pid, whatever its process group: the children `make` starts."""
    table, frontier = _process_table(), {pid}
    found: set[int] = set()
    while frontier:
        frontier = {child for child, (parent, _) in table.items() if parent in frontier} - found
        found |= frontier
    return found


def _process_table() -> dict[int, tuple[int, str]]:
    """pid -> (parent pid, state) for every process, from /proc."""
    table = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        table[int(stat.parent.name)] = (int(fields[1]), fields[0])
    return table


def wait_until(predicate, timeout: float = 30, what: str = "condition"):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def tick_together(functions) -> list[tuple[int, dict]]:
    """Call every function at once, as concurrent Scheduler calls would; their answers in order."""
    answers: list = [None] * len(functions)

    def call(index: int) -> None:
        answers[index] = tick(functions[index])
    threads = [threading.Thread(target=call, args=(i,)) for i in range(len(functions))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return answers


def tick(function) -> tuple[int, dict]:
    status, body, _ = http("POST", function.url, timeout=120)
    return status, body


def kdca_with(rows: list[tuple[int, int, str]], captions: list[str] | None = None) -> str:
    """The saved portal answer with its rows replaced by (year, week, covid value) rows."""
    data = json.loads(json.dumps(KDCA))
    template = data["value"]["data"][0]
    data["value"]["data"] = [dict(template, TITLE=str(y), SUBTITLE=f"{w:02d}", COLUMN12=v) for y, w, v in rows]
    if captions is not None:
        data["value"]["captionList"] = captions
    return json.dumps(data, ensure_ascii=False)


KDCA = json.loads((FIXTURES / "kdca-dportal-ari-ListAjax-2026-w35-w39.json").read_text())


def morning_now() -> str:
    """QUIET_HOURS that ended before the current Korean hour."""
    hour = datetime.now(UTC).astimezone(KST).hour
    return f"{(hour + 3) % 24}-{(hour + 5) % 24}"


def quiet_now() -> str:
    """QUIET_HOURS that hold the current Korean hour."""
    hour = datetime.now(UTC).astimezone(KST).hour
    return f"{hour}-{(hour + 2) % 24}"


def subscribe_with(db, choices: dict[str, dict]) -> None:
    db.put("subscribers", {chat: {"since": "2026-09-30T09:00:00+09:00", "chat_type": "private", "update_id": 1,
                                  **({"prefs": prefs} if prefs else {})} for chat, prefs in choices.items()})


def hangul(text: str) -> list[str]:
    for word in KEPT:
        text = text.replace(word, "")
    return HANGUL.findall(text)


HANGUL = re.compile(r"[\u1100-\u11ff\u3130-\u318f\uac00-\ud7af]")


def last_week() -> Week:
    """The last KDCA week that has ended in Seoul: the newest the bot asks the portal for (from Saturday
    15:00 UTC, Seoul is already in the next week)."""
    return Week.of(datetime.now(UTC).astimezone(KST).date()).previous()


def message(text: str | None, chat_id: int = PRIVATE_CHAT, first_name: str = "지민", kind: str = "message",
            update_id: int | None = None, **extra) -> dict:
    chat_type = "private" if chat_id > 0 else "supergroup"
    body = {"message_id": 42, "date": 1790000000, "chat": {"id": chat_id, "type": chat_type}, **extra}
    if kind == "message":
        body["from"] = {"id": 1544010213, "is_bot": False, "first_name": first_name, "language_code": "ko"}
    else:
        body["chat"]["type"] = "channel"
    if text is not None:
        body["text"] = text
        if text.startswith("/"):
            body["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
    return {"update_id": update_id or next(_message_update_ids), kind: body}


ADMIN = "1700000001"


# A deployed bot's state once its first call migrated the database (storage.Migrations): what a test that counts
# a call's requests starts from.
MIGRATED = {"languages": {"done_at": "2026-12-01T09:00:00+09:00"}}


def subscribe(db, chat_ids) -> None:
    db.put("subscribers", {str(c): {"since": "2026-09-30T09:00:00+09:00", "chat_type": "private", "update_id": 1}
                           for c in chat_ids})


def many_chats(n: int) -> list[int]:
    return [5_000_000_000 + 7_919 * i for i in range(n)]


def alerts_by_chat(telegram, exclude_admin: bool = True) -> Counter:
    return Counter(str(m["chat_id"]) for m in telegram.sent() if not (exclude_admin and str(m["chat_id"]) == ADMIN))


def kst_now() -> datetime:
    return datetime.now(UTC).astimezone(KST)


def seen_weekly(last: datetime, count: int = 3) -> list[str]:
    return [(last - timedelta(weeks=count - 1 - i)).isoformat(timespec="seconds") for i in range(count)]


def recorded_week(week: int = 39) -> dict:
    """The stored form of the sample's announcement, as a tick records it."""
    from coronabot.sources import kdca_sentinel
    data = json.loads(kdca_with([(2026, week - 1, "337"), (2026, week, "248")]))
    return kdca_sentinel.parse(data).to_record()
