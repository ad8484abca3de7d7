"""`make run` as a real process: local database, long polling against the fake Telegram server, schedule."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from coronabot_dev.harness import OWNER, ROOT, free_port, http
from support import GROUP_CHAT, PRIVATE_CHAT, all_ended, descendants, wait_until

LOCAL_NS = "coronabot-local-default-rtdb"


@pytest.fixture
def runners():
    """Runner instances made by a test; any still running at the end is stopped."""
    made: list[Runner] = []
    yield made
    for runner in made:
        if runner.proc.poll() is None:
            os.killpg(runner.proc.pid, signal.SIGKILL)
            runner.proc.wait(10)


@pytest.fixture
def local_env(bot_env, tmp_path, servers):
    env = {k: v for k, v in bot_env.items() if k not in ("FIREBASE_DATABASE_EMULATOR_HOST", "FIREBASE_DATABASE_URL")}
    env.update({"RTDB_PORT": str(free_port()), "LOCAL_DATA_DIR": str(tmp_path / "data"),
                "SCRAPE_SCHEDULE": "0 4 * * *", "MAKEFLAGS": ""})
    return env


class Runner:
    def __init__(self, env: dict, log: Path):
        self.env, self.log = env, log
        self.db = f"http://127.0.0.1:{env['RTDB_PORT']}"

    def start(self) -> None:
        starts = self.output().count("coronabot is running") if self.log.exists() else 0
        self.handle = open(self.log, "ab")
        self.proc = subprocess.Popen(["make", "--no-print-directory", "run"], cwd=ROOT, env=self.env,
                                     stdout=self.handle, stderr=subprocess.STDOUT, start_new_session=True)
        wait_until(lambda: self.output().count("coronabot is running") > starts, 60, "the start line")

    def stop(self) -> None:
        """Ctrl-C as a terminal sends it: SIGINT to the whole foreground process group."""
        children = descendants(self.proc.pid)
        assert len(children) >= 2, "make, the bot and its local database should be running"
        os.killpg(self.proc.pid, signal.SIGINT)
        code = self.proc.wait(30)
        self.handle.close()
        wait_until(lambda: all_ended(children), 10, "every child to end")
        # make itself re-raises the SIGINT it got from the "terminal" once its child ended (GNU make always does);
        # the bot, exec'd by the recipe, stopped in order and exited 0, so make prints no "Interrupt".
        assert code in (0, -signal.SIGINT), code
        last_run = self.output().split("coronabot is running")[-1]
        assert "coronabot stopped." in last_run and "Interrupt" not in last_run, self.output()[-2000:]

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def get(self, path: str):
        return http("GET", f"{self.db}/{path}.json?ns={LOCAL_NS}", headers=OWNER)[1]


def update(update_id: int, chat_id: int, text: str) -> dict:
    chat_type = "private" if chat_id > 0 else "group"
    return {"update_id": update_id, "message": {"message_id": update_id % 1000, "date": 1790000000,
            "chat": {"id": chat_id, "type": chat_type},
            "from": {"id": 1544010213, "first_name": "지민", "language_code": "ko"},
            "text": text}}


def test_make_run_end_to_end(local_env, servers, logs_dir, runners):
    _, telegram, _ = servers
    runner = Runner(local_env, logs_dir / "make-run.log")
    runners.append(runner)
    runner.start()
    start_line = runner.output()
    assert "source kdca-sentinel" in start_line and "0 subscribers" in start_line and "Asia/Seoul" in start_line
    assert telegram.calls("deleteWebhook"), "polling starts by removing any webhook"

    telegram.control(chat_members={str(GROUP_CHAT): {"1544010213": "creator"}})
    telegram.queue_updates([update(810000001, PRIVATE_CHAT, "/subscribe"),
                            update(810000002, GROUP_CHAT, "/subscribe")])
    wait_until(lambda: len(runner.get("subscribers") or {}) == 2, what="two subscribers")
    wait_until(lambda: len(telegram.sent()) == 2, what="two replies")
    assert all("등록했습니다" in m["text"] for m in telegram.sent())
    wait_until(lambda: runner.get("polling/offset") == 810000003, what="the stored offset")

    env = dict(local_env, FIREBASE_DATABASE_EMULATOR_HOST=f"127.0.0.1:{local_env['RTDB_PORT']}")
    once = subprocess.run([str(ROOT / ".venv/bin/python"), "-m", "coronabot", "scrape-once"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)
    assert once.returncode == 0, once.stderr
    assert json.loads(once.stdout)["status"] == "alerted"
    alerts = Counter(str(m["chat_id"]) for m in telegram.sent() if "입원환자 주간 발표" in m["text"])
    assert alerts == {str(PRIVATE_CHAT): 1, str(GROUP_CHAT): 1}

    runner.stop()
    assert (Path(local_env["LOCAL_DATA_DIR"]) / "rtdb.json").exists()

    runner.start()
    assert "2 subscribers" in runner.output().split("coronabot is running")[-1]
    telegram.queue_updates([update(810000003, PRIVATE_CHAT, "/now")])
    wait_until(lambda: any("248명" in m["text"] and "📊" in m["text"] for m in telegram.sent()), what="the /now reply")
    replies = [m["text"] for m in telegram.sent()]
    assert sum("등록했습니다" in t for t in replies) == 2 and not any("이미" in t for t in replies), \
        "no update was handled twice across the restart"
    runner.stop()


def test_make_run_with_the_schedule_now(local_env, servers, logs_dir, runners):
    db, telegram, _ = servers
    runner = Runner(dict(local_env, RUN_SCHEDULE_NOW="1"), logs_dir / "make-run-now.log")
    runners.append(runner)
    runner.start()
    wait_until(lambda: (runner.get("state/last_tick") or {}).get("status") == "alerted", what="the first tick")
    assert runner.get("state/latest/id") == "2026-W39"
    runner.stop()


def test_make_run_retries_a_failed_tick_as_cloud_scheduler_would(local_env, servers, logs_dir, runners):
    db, telegram, sources = servers
    sources.mode(status=503)
    env = dict(local_env, RUN_SCHEDULE_NOW="1", SCRAPE_RETRY_SECONDS="1,1")
    runner = Runner(env, logs_dir / "make-run-retry.log")
    runners.append(runner)
    runner.start()
    wait_until(lambda: (runner.get("state/health") or {}).get("streak") == 1, what="the failed first tick")
    assert (runner.get("state/last_tick") or {}).get("status") == "error"
    sources.mode()
    wait_until(lambda: (runner.get("state/last_tick") or {}).get("status") == "alerted", 10, "the retry")
    assert "retrying the failed or unfinished scrape tick" in runner.output()
    assert runner.get("state/latest/id") == "2026-W39" and runner.get("state/health") is None
    runner.stop()


def test_ctrl_c_mid_broadcast_writes_the_ledger_and_a_restart_finishes_it(local_env, servers, logs_dir, runners):
    _, telegram, _ = servers
    chats = [str(5_000_000_000 + 7_919 * i) for i in range(120)]
    data_file = Path(local_env["LOCAL_DATA_DIR"]) / "rtdb.json"
    data_file.parent.mkdir(parents=True)
    data_file.write_text(json.dumps({LOCAL_NS: {"subscribers": {
        chat: {"since": "2026-09-30T09:00:00+09:00", "chat_type": "private"} for chat in chats}}}))
    env = dict(local_env, RUN_SCHEDULE_NOW="1", BROADCAST_RATE="20")
    runner = Runner(env, logs_dir / "make-run-drain.log")
    runners.append(runner)
    runner.start()
    wait_until(lambda: len(telegram.sent()) >= 20, what="the broadcast under way")
    runner.stop()
    sent_before = Counter(str(m["chat_id"]) for m in telegram.sent())
    assert 20 <= len(sent_before) < 120, "Ctrl-C landed in the middle of the broadcast"
    stored = json.loads(data_file.read_text())[LOCAL_NS]
    assert set(stored["deliveries"]["kdca-sentinel_2026-W39"]) == set(sent_before), "every send is in the ledger"
    assert "lease" not in stored["broadcasts"]["kdca-sentinel_2026-W39"], "released for the next start"
    assert "broadcast cut short (shutting down)" in runner.output()

    runner.env = {k: v for k, v in env.items() if k != "RUN_SCHEDULE_NOW"}
    runner.start()
    wait_until(lambda: len(telegram.sent()) == 120, what="the rest of the broadcast after a plain restart")
    assert Counter(str(m["chat_id"]) for m in telegram.sent()) == {chat: 1 for chat in chats}, "nobody twice"
    wait_until(lambda: runner.get("broadcasts/kdca-sentinel_2026-W39/done") is True, what="the broadcast done")
    runner.stop()


def test_make_run_without_a_token(local_env):
    env = dict(local_env, TELEGRAM_TOKEN="")
    result = subprocess.run(["make", "--no-print-directory", "run"], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode != 0
    assert "TELEGRAM_TOKEN is not set" in result.stderr and "BotFather" in result.stderr
    direct = subprocess.run([str(ROOT / ".venv/bin/python"), "-m", "coronabot_dev", "run"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=60)
    assert direct.returncode == 2 and "Traceback" not in direct.stderr


def test_make_run_with_a_refused_token(local_env):
    env = dict(local_env, TELEGRAM_TOKEN="123456:not-the-right-token-at-all")
    result = subprocess.run([str(ROOT / ".venv/bin/python"), "-m", "coronabot_dev", "run"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert "Telegram error: 401" in result.stderr and "TELEGRAM_TOKEN" in result.stderr
    assert "Traceback" not in result.stderr


def test_polling_failures_back_off_with_one_log_line_per_streak(local_env, servers, logs_dir, runners):
    _, telegram, _ = servers
    runner = Runner(local_env, logs_dir / "make-run-flaky.log")
    runners.append(runner)
    runner.start()
    telegram.control(fail_5xx=3)
    wait_until(lambda: "polling failed" in runner.output(), 30, "the first failed poll")
    telegram.queue_updates([update(820000001, PRIVATE_CHAT, "/help")])
    wait_until(lambda: any("/subscribe" in m["text"] for m in telegram.sent()), 30, "the reply after the outage")
    log = runner.output().split("coronabot is running")[-1]
    assert log.count("polling failed") == 1 and "polling works again after 3 failures" in log
    runner.stop()


@pytest.mark.parametrize("fan_out", [False, True])
def test_make_serve_runs_the_functions(local_env, servers, logs_dir, fan_out):
    """Both functions; with FANOUT=on also deliver and the Cloud Tasks emulator, the alert going through them."""
    webhook_port, scrape_port = free_port(), free_port()
    env = dict(local_env, WEBHOOK_PORT=str(webhook_port), SCRAPE_PORT=str(scrape_port))
    if fan_out:
        env.update(FANOUT="on", DELIVER_PORT=str(free_port()), TASKS_PORT=str(free_port()),
                   TASKS_STATUS_PORT=str(free_port()))
    log = logs_dir / f"make-serve{'-fanout' if fan_out else ''}.log"
    handle = open(log, "ab")
    proc = subprocess.Popen(["make", "--no-print-directory", "serve"], cwd=ROOT, env=env, stdout=handle,
                            stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_until(lambda: "Ctrl-C stops" in log.read_text(), 60, "make serve")
        status, body, _ = http("POST", f"http://127.0.0.1:{webhook_port}/",
                               raw=json.dumps(update(830000001, PRIVATE_CHAT, "/subscribe")).encode(),
                               headers={"Content-Type": "application/json",
                                        "X-Telegram-Bot-Api-Secret-Token": env["TELEGRAM_WEBHOOK_SECRET"]})
        assert status == 200 and "등록했습니다" in body["text"]
        status, summary, _ = http("POST", f"http://127.0.0.1:{scrape_port}/")
        assert status == 200 and summary["status"] == "alerted"
        if fan_out:
            assert summary["sent"] == 0 and summary["fanout"]["planned"], summary
            wait_until(lambda: any(str(m["chat_id"]) == str(PRIVATE_CHAT) and "\n" in m["text"]
                                   for m in servers[1].sent()), 30, "the alert through deliver")
        else:
            assert summary["sent"] == 1
        children = descendants(proc.pid)
        # the bot, the database, and a gunicorn arbiter with its worker for each function (and the emulator)
        assert len(children) >= (9 if fan_out else 6), children
    finally:
        os.killpg(proc.pid, signal.SIGINT)
        proc.wait(30)
        handle.close()
    wait_until(lambda: all_ended(children), 15, "every child of make serve to end")


def test_malformed_updates_are_skipped_and_polling_goes_on(local_env, servers, logs_dir, runners):
    _, telegram, _ = servers
    runner = Runner(local_env, logs_dir / "make-run-malformed.log")
    runners.append(runner)
    runner.start()
    telegram.queue_updates([{"update_id": 840000001, "message": "junk"},
                            {"update_id": 840000002, "edited_message": {"text": "/subscribe"}},
                            update(840000003, PRIVATE_CHAT, "/help")])
    wait_until(lambda: runner.get("polling/offset") == 840000004, what="the offset past all three")
    wait_until(lambda: len(telegram.sent()) == 1, what="the /help reply")
    assert "/subscribe" in telegram.sent()[0]["text"] and runner.get("subscribers") is None
    assert "update ignored" in runner.output()
    runner.stop()


def test_a_sigterm_to_make_alone_stops_everything(local_env, servers, logs_dir, runners):
    """As a supervisor stops it: SIGTERM to the make process only, not to its process group."""
    runner = Runner(local_env, logs_dir / "make-run-term.log")
    runners.append(runner)
    runner.start()
    children = descendants(runner.proc.pid)
    assert len(children) >= 2
    os.kill(runner.proc.pid, signal.SIGTERM)
    runner.proc.wait(30)
    runner.handle.close()
    wait_until(lambda: all_ended(children), 15, "every child of make to end")
    assert "coronabot stopped." in runner.output().split("coronabot is running")[-1]


@pytest.mark.parametrize("squatter", ["database", "web page"])
def test_a_busy_database_port_is_one_clear_line(local_env, tmp_path, squatter):
    """Another local database, or any other server, on RTDB_PORT: one line naming the port, exit 2."""
    from coronabot_dev.harness import Process, database_command
    port = int(local_env["RTDB_PORT"])
    args = database_command(port) if squatter == "database" else \
        [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"]
    other = Process(args, port, tmp_path / "squatter.log")
    try:
        result = subprocess.run(["make", "--no-print-directory", "run"], cwd=ROOT, env=local_env,
                                capture_output=True, text=True, timeout=60)
    finally:
        other.stop()
    assert result.returncode == 2, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "Traceback" not in result.stderr and "coronabot is running" not in result.stdout
    if squatter == "database":  # our own: not a port to move away from blindly, another bot's database
        assert f"port {port} (RTDB_PORT) is the embedded database of another bot" in errors[0]
    else:
        assert f"port {port} (RTDB_PORT) is taken by another program" in errors[0]
    assert f"RTDB_PORT={port + 100}" in errors[0]


def test_make_run_honours_the_same_settings(local_env, servers, logs_dir, runners):
    """/settings and a button press through long polling (the edit is a direct call there), then a tick
    that skips the chat as its choice says."""
    _, telegram, _ = servers
    runner = Runner(local_env, logs_dir / "make-run-settings.log")
    runners.append(runner)
    runner.start()
    telegram.queue_updates([update(830000001, PRIVATE_CHAT, "/subscribe"),
                            update(830000002, PRIVATE_CHAT, "/settings")])
    wait_until(lambda: any(c["params"].get("reply_markup") for c in telegram.calls("sendMessage")),
               what="the settings keyboard")
    shown = next(c for c in telegram.calls("sendMessage") if c["params"].get("reply_markup"))
    message_id = shown["message_id"]
    keyboard = {b["text"]: b["callback_data"] for row in shown["params"]["reply_markup"]["inline_keyboard"]
                for b in row}
    telegram.queue_updates([{"update_id": 830000003, "callback_query": {
        "id": "local-press-1", "from": {"id": PRIVATE_CHAT, "first_name": "지민", "language_code": "ko"},
        "chat_instance": "1",
        "data": keyboard["늘었을 때만"],
        "message": {"message_id": message_id, "date": 1790000000, "chat": {"id": PRIVATE_CHAT, "type": "private"}}}}])
    wait_until(lambda: telegram.calls("editMessageText"), what="the edit")
    assert [c["status"] for c in telegram.calls("answerCallbackQuery")] == [200]
    assert "✅ 늘었을 때만" in str(telegram.message(PRIVATE_CHAT, message_id)["reply_markup"])
    wait_until(lambda: runner.get(f"subscribers/{PRIVATE_CHAT}/prefs/when") == "rose", what="the saved choice")

    env = dict(local_env, FIREBASE_DATABASE_EMULATOR_HOST=f"127.0.0.1:{local_env['RTDB_PORT']}")
    once = subprocess.run([str(ROOT / ".venv/bin/python"), "-m", "coronabot", "scrape-once"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)
    summary = json.loads(once.stdout)
    assert summary["status"] == "alerted" and summary["skipped"] == 1 and summary["sent"] == 0, summary
    assert runner.get(f"deliveries/kdca-sentinel_2026-W39/{PRIVATE_CHAT}") == "skipped:rose"
    assert not any("입원환자 주간 발표" in m["text"] for m in telegram.sent())
    runner.stop()


def test_make_run_answers_english_chats_and_inline_queries(local_env, servers, logs_dir, runners):
    """Long polling asks for inline queries too; an English user's answers and an inline answer are direct
    calls the Bot API accepts."""
    _, telegram, _ = servers
    runner = Runner(local_env, logs_dir / "make-run-english.log")
    runners.append(runner)
    runner.start()
    english = update(840000001, 1544020001, "/help")
    english["message"]["from"]["language_code"] = "en"
    telegram.queue_updates([english, {"update_id": 840000002, "inline_query": {
        "id": "local-inline-1", "from": {"id": 1544020002, "first_name": "Sam", "language_code": "en"},
        "query": "", "offset": ""}}])
    wait_until(lambda: telegram.calls("answerInlineQuery") and telegram.calls("sendMessage"),
               what="the answers")
    [answer] = telegram.calls("answerInlineQuery")
    assert answer["status"] == 200 and answer["params"]["results"][0]["title"] == "No figures yet"
    [help_text] = [c["params"]["text"] for c in telegram.calls("sendMessage")]
    assert help_text.startswith("<b>COVID-19 Korea alerts</b>")
    assert "inline_query" in telegram.calls("getUpdates")[-1]["params"]["allowed_updates"]
    runner.stop()


def test_a_second_bot_on_the_same_data_refuses_to_start_and_the_operator_commands_find_the_first(
        local_env, servers, logs_dir, runners):
    """Following the advice to take another port started a second bot on the same token and data once: both
    answered every update. Now the data folder is held; the operator commands find its database."""
    _, telegram, _ = servers
    runner = Runner(local_env, logs_dir / "make-run-held.log")
    runners.append(runner)
    runner.start()
    pid = runner.proc.pid
    second = subprocess.run(["make", "--no-print-directory", "run"], cwd=ROOT, capture_output=True, text=True,
                            timeout=60, env=dict(local_env, RTDB_PORT=str(free_port())))
    assert second.returncode == 2, second.stderr
    said = [line for line in second.stderr.splitlines() if line.startswith("error:")]
    assert len(said) == 1 and "`make run` is already running on" in said[0] and "kill" in said[0], second.stderr
    assert str(pid) in said[0] or any(str(p) in said[0] for p in descendants(pid)), "its pid"
    telegram.queue_updates([update(840000001, PRIVATE_CHAT, "/subscribe")])
    wait_until(lambda: len(telegram.sent()) == 1, what="one reply")
    time.sleep(1)
    assert len(telegram.sent()) == 1, "one bot answered"
    stats = subprocess.run([str(ROOT / ".venv/bin/python"), "-m", "coronabot", "stats"], cwd=ROOT, text=True,
                           capture_output=True, timeout=60, env=local_env)  # no database variable at all
    assert stats.returncode == 0 and json.loads(stats.stdout)["subscribers"] == 1, stats.stderr
    runner.stop()
    stats = subprocess.run([str(ROOT / ".venv/bin/python"), "-m", "coronabot", "stats"], cwd=ROOT, text=True,
                           capture_output=True, timeout=60, env=local_env)
    assert stats.returncode == 2 and stats.stderr.count("\n") == 1 and "no `make run` is running" in stats.stderr


def test_without_telegram_make_run_says_so_in_one_line(local_env, servers):
    env = dict(local_env, TELEGRAM_API_BASE=f"http://127.0.0.1:{free_port()}")
    result = subprocess.run(["make", "--no-print-directory", "run"], cwd=ROOT, capture_output=True, text=True,
                            timeout=60, env=env)
    errors = [line for line in result.stderr.splitlines() if "Telegram" in line or "Retrying" in line]
    assert result.returncode == 2 and len(errors) == 1, result.stderr  # make fails when the bot exits 1
    assert "Telegram cannot be reached at http://127.0.0.1:" in errors[0] and "make demo" in errors[0]
