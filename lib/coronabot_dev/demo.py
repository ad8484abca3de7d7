"""``make demo``: the whole bot on this machine with no token and no network.

The real bot (``python -m coronabot_dev run``: long polling, the local database, the scrape tick) talks to the
fake Telegram Bot API and the stand-in for the official sources that the tests use, all on 127.0.0.1. A
short scripted conversation plays first and is printed as a person would read it; then the demo keeps
running, and ``python -m coronabot_dev demo-say "/now"`` sends a message of your own until Ctrl-C.
"""

from __future__ import annotations

import html
import itertools
import json
import os
import re
import signal
import sys
import time
import unicodedata
from pathlib import Path
from typing import Any
from urllib.error import URLError
from urllib.request import Request, urlopen

from coronabot import config

from .processes import REPO, Stop, child, data_dir, free_local_port, holding, raise_stop, stop_all, wait_for_port

DEMO_TOKEN = "1234567890:demo-token-of-the-offline-demo-not-a-secret"  # pragma: allowlist secret (fake)
BOT_USERNAME = "CoronaDemoBot"
PERSON = {"id": 1544010213, "first_name": "지민", "language_code": "ko"}
GROUP_ADMIN = {"id": 1544010288, "first_name": "민수", "language_code": "ko"}
VISITOR = {"id": 1544010377, "first_name": "Alex", "language_code": "en"}  # a Telegram set to English
GROUP = {"id": -1001234567890, "type": "supergroup", "title": "우리 동네"}
# Two years of weeks in the portal's format: the real 2026 weeks 35-39 after made-up earlier ones.
SAMPLE = REPO / "tests" / "fixtures" / "kdca-ari-2024-w40-2026-w39-synthetic.json"
COUNTING_ROWS = REPO / "tests" / "fixtures" / "kdca-dportal-ari-ListAjax-2026-w37-w41-rows-extracted.json"
REPLY_WAIT_SECONDS = 15
_update_ids = itertools.count(int(time.time()) % 1_000_000 * 1000)


def _state_file() -> Path:
    return Path(os.environ.get("LOCAL_DATA_DIR", REPO / ".data")) / "demo.json"


def _http(method: str, url: str, body: object = None) -> Any:
    data = json.dumps(body).encode() if body is not None else None
    request = Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    with urlopen(request, timeout=30) as response:
        text = response.read().decode()
    return json.loads(text) if text else None


def readable(text: str) -> str:
    """Telegram HTML as a person reads it."""
    return html.unescape(re.sub(r"<[^>]+>", "", text))


def _width(text: str) -> int:
    """Columns a terminal gives ``text`` (Hangul and other wide characters take two)."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _print_block(who: str, text: str) -> None:
    lines = readable(text).splitlines() or [""]
    print(f"  {who}: {lines[0]}")
    for line in lines[1:]:
        print(f"  {' ' * _width(who)}  {line}".rstrip())


class Demo:
    """The fake Bot API and the source stand-in, seen from the person typing."""

    def __init__(self, telegram_url: str, source_url: str):
        self.telegram_url, self.source_url = telegram_url, source_url
        self._seen_calls = 0

    def new_messages(self) -> list[dict]:
        """The bot's messages since the last look; a picture shows as a line saying so, then its caption."""
        calls = [c for c in _http("GET", f"{self.telegram_url}/__calls") or []
                 if c["method"] in ("sendMessage", "sendPhoto")]
        fresh, self._seen_calls = calls[self._seen_calls:], len(calls)
        return [dict(c["params"], text=f"[그래프 사진]\n{c['params'].get('caption') or ''}")
                if c["method"] == "sendPhoto" else c["params"] for c in fresh if c.get("status") == 200]

    def say(self, text: str, sender: dict = PERSON, chat: dict | None = None) -> list[dict]:
        """Send ``text`` as ``sender`` (in a private chat unless ``chat``) and return the bot's replies."""
        self.new_messages()
        chat = chat or {"id": sender["id"], "type": "private", "first_name": sender["first_name"]}
        update = {"update_id": next(_update_ids), "message": {
            "message_id": next(_update_ids) % 100000, "date": int(time.time()), "chat": chat,
            "from": {"is_bot": False, **sender}, "text": text}}
        _http("POST", f"{self.telegram_url}/__updates", [update])
        deadline = time.time() + REPLY_WAIT_SECONDS
        replies: list[dict] = []
        while time.time() < deadline and not replies:
            time.sleep(0.2)
            replies = self.new_messages()
        where = chat.get("title") or "1:1"
        print(f"\n[{where}] {sender['first_name']}: {text}")
        for reply in replies:
            _print_block("봇", reply["text"])
        if not replies:
            print("  (봇이 답하지 않았습니다)")
        return replies

    def inline(self, query: str, sender: dict) -> list[dict]:
        """Type ``@bot query`` in some chat as ``sender``; print and return what the bot offers."""
        answered = len(_http("GET", f"{self.telegram_url}/__calls?method=answerInlineQuery") or [])
        update = {"update_id": next(_update_ids), "inline_query": {
            "id": f"demo-{next(_update_ids)}", "from": {"is_bot": False, **sender}, "query": query, "offset": ""}}
        _http("POST", f"{self.telegram_url}/__updates", [update])
        deadline, calls = time.time() + REPLY_WAIT_SECONDS, list[dict[str, Any]]()
        while time.time() < deadline and len(calls) <= answered:
            time.sleep(0.2)
            calls = _http("GET", f"{self.telegram_url}/__calls?method=answerInlineQuery") or []
        results = calls[-1]["params"].get("results", []) if len(calls) > answered else []
        print(f"\n[another chat] {sender['first_name']} types: @{BOT_USERNAME} {query}".rstrip())
        for result in results:
            kind = "사진" if result.get("type") == "photo" else "메시지"
            print(f"  offered ({kind}): {readable(result.get('title') or '')}")
        if not results:
            print("  (봇이 답하지 않았습니다)")
        return results


def _serve_week(source_url: str, week: int, value: int | None = None) -> None:
    """Make the source stand-in show the two years of weeks and one more, ``week``: published with ``value``,
    or being counted (the portal's real "집계 중" row) without one; whatever range a request asks for, the
    demo's weeks end in 2026-W40, whatever today is."""
    data = json.loads(SAMPLE.read_text(encoding="utf-8"))
    rows = data["value"]["data"]
    if value is None:
        rows.append(dict(json.loads(COUNTING_ROWS.read_text(encoding="utf-8"))[-1], SUBTITLE=f"{week:02d}"))
    else:
        rows.append(dict(rows[-1], SUBTITLE=f"{week:02d}", COLUMN12=f"{value:,}"))
    request = Request(f"{source_url}/__content/kdca", data=json.dumps(data, ensure_ascii=False).encode(),
                      method="PUT")
    urlopen(request, timeout=30).close()


def _tick(env: dict) -> dict:
    """One scrape tick with the bot's own code, as Cloud Scheduler would run it (always fetching)."""
    import subprocess

    result = subprocess.run([sys.executable, "-m", "coronabot", "scrape-once"], env=env, cwd=REPO,
                            capture_output=True, text=True, timeout=120)
    return json.loads(result.stdout) if result.stdout.strip().startswith("{") else {"status": "error"}


def run_demo() -> int:
    """``make demo``: start everything, play the script, keep running until Ctrl-C (one demo per data folder:
    its bot holds the folder's own lock too)."""
    folder = data_dir() / "demo"
    with holding(folder, "demo", lock_name="demo.lock"):
        return _run_demo(folder)


def _run_demo(folder: Path) -> int:
    ports = {name: free_local_port(variable, default) for name, variable, default in (
        ("telegram", "DEMO_TELEGRAM_PORT", 8481), ("sources", "DEMO_SOURCES_PORT", 8482),
        ("database", "RTDB_PORT", 9400))}
    for old in folder.glob("*.json"):
        old.unlink()
    telegram_url, source_url = f"http://127.0.0.1:{ports['telegram']}", f"http://127.0.0.1:{ports['sources']}"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "FIREBASE_", "SOURCE"))}
    env.update({"TELEGRAM_TOKEN": DEMO_TOKEN, "TELEGRAM_API_BASE": telegram_url, "TELEGRAM_BOT_USERNAME": BOT_USERNAME,
                "SOURCE": "kdca-sentinel", "SOURCE_BASE_URL": source_url, "RTDB_PORT": str(ports["database"]),
                "LOCAL_DATA_DIR": str(folder), "POLLING": "always", "SCRAPE_SCHEDULE": "0 4 * * *",
                "LOG_LEVEL": "WARNING", "PYTHONUNBUFFERED": "1"})
    signal.signal(signal.SIGTERM, raise_stop)
    signal.signal(signal.SIGINT, raise_stop)
    children = []
    log_file = open(folder / "demo.log", "ab")  # closed in finally
    try:
        children.append(child([sys.executable, "-m", "coronabot_dev.fake_telegram", "--port",
                                str(ports["telegram"]), "--token", DEMO_TOKEN, "--username", BOT_USERNAME],
                               env, log_file))
        children.append(child([sys.executable, "-m", "coronabot_dev.source_server", "--port",
                                str(ports["sources"])], env, log_file))
        wait_for_port("127.0.0.1", ports["telegram"], children[0], "the fake Telegram Bot API")
        wait_for_port("127.0.0.1", ports["sources"], children[1], "the source stand-in")
        _http("POST", f"{telegram_url}/__control",
              {"chat_members": {str(GROUP["id"]): {str(GROUP_ADMIN["id"]): "administrator"}}})
        children.append(child([sys.executable, "-m", "coronabot_dev", "run"], env, log_file))
        wait_for_port("127.0.0.1", ports["database"], children[2], "the local database")
        env["FIREBASE_DATABASE_EMULATOR_HOST"] = f"127.0.0.1:{ports['database']}"
        _state_file().write_text(json.dumps({"telegram": telegram_url, "sources": source_url}))
        print("coronabot demo: no token, no network; everything below runs on this machine.\n"
              f"  fake Telegram Bot API  {telegram_url}   (control paths: see docs/testing.md)\n"
              f"  official sources       {source_url}   (two years of weeks ending with the saved 2026-W35..W39)\n"
              f"  local database         http://127.0.0.1:{ports['database']}\n"
              f"  the bot                python -m coronabot_dev run, as @{BOT_USERNAME}, logs in {folder}/demo.log")
        _play(Demo(telegram_url, source_url), env)
        print("\n이제 직접 해 보세요 (Try it yourself), in another terminal:\n"
              '  .venv/bin/python -m coronabot_dev demo-say "/now"\n'
              '  .venv/bin/python -m coronabot_dev demo-say "알림 취소"\n'
              "Ctrl-C stops the demo.", flush=True)
        while all(child.poll() is None for child in children):
            time.sleep(0.5)
        print("a part of the demo stopped unexpectedly; see the log", file=sys.stderr)
        return 1
    except (Stop, KeyboardInterrupt):
        return 0
    finally:
        stop_all(children)
        log_file.close()
        _state_file().unlink(missing_ok=True)
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        print("demo stopped.", flush=True)


def _play(demo: Demo, env: dict) -> None:
    """The scripted conversation: subscribe from a private chat and a group, ask, get a new week's alert."""
    _serve_week(demo.source_url, 40)
    first = _tick(env)
    print(f"\nThe bot checks the source once: it stores the past year and records {first.get('announcement')} "
          f"(nobody subscribed yet); KDCA is still counting {first.get('pending_week')}.")
    demo.say("/start")
    demo.say("/subscribe")
    demo.say(f"/subscribe@{BOT_USERNAME}", GROUP_ADMIN, GROUP)
    demo.say("/subscribe", VISITOR)
    demo.say("요즘 코로나 어때?")
    demo.say("요즘 코로나 늘고 있어?")
    _serve_week(demo.source_url, 40, 301)
    print("\nKDCA publishes week 40; the scheduled check runs:")
    summary = _tick(env)
    print(f"  scrape tick: {summary.get('status')} {summary.get('announcement')}, sent {summary.get('sent')}")
    names = {str(GROUP["id"]): "우리 동네", str(VISITOR["id"]): VISITOR["first_name"]}
    for message in demo.new_messages():
        print(f"\n[봇 → {names.get(str(message['chat_id']), '지민')}] (broadcast)")
        _print_block("봇", message["text"])
    demo.say("/chart")
    demo.inline("", VISITOR)


def demo_say(text: str, group: bool = False) -> int:
    """``python -m coronabot_dev demo-say TEXT``: one message to the running demo, as 지민 (or in the group)."""
    try:
        where = json.loads(_state_file().read_text())
    except (OSError, ValueError):
        raise config.ConfigError("no demo is running: start one with `make demo`") from None
    demo = Demo(where["telegram"], where["sources"])
    try:
        replies = demo.say(text, GROUP_ADMIN, GROUP) if group else demo.say(text)
    except URLError:
        raise config.ConfigError("the demo does not answer: is `make demo` still running?") from None
    return 0 if replies else 1
