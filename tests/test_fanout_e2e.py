"""A broadcast fanned out on Cloud Tasks, through real processes: the scrape function plans the chunks and
enqueues them on the local Cloud Tasks emulator (lib/coronabot_dev/tasks_emulator.py), which dispatches each to the
deliver function under functions-framework, with the queue's concurrency, backoff and retries."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter

from coronabot.alerts.sending import worker_count
from coronabot_dev.harness import free_port, http
from support import QUEUE, alerts_by_chat, many_chats, subscribe, tick, uploads


def fanning_scrape(extra_scrape, tasks, deliver, **env):
    return extra_scrape(BROADCAST_QUEUE=QUEUE, DELIVER_URL=deliver.url, CLOUD_TASKS_EMULATOR_HOST=tasks.host,
                        **env)


def wait_done(db, key: str, timeout: float = 90) -> None:
    ends = time.monotonic() + timeout
    while db.get(f"broadcasts/{key}/done") is not True:
        assert time.monotonic() < ends, f"broadcast {key} not finished: {db.get(f'fanout/{key}/done')}"
        time.sleep(0.2)


def finished_lines(process, key: str, since: int) -> int:
    """How many times the deliver function logged that the broadcast finished, after offset ``since``."""
    lines = process.output()[since:].splitlines()
    return sum(1 for line in lines if "broadcast finished" in line and key in line)


def most_at_once(dispatches: list[dict]) -> int:
    events = sorted([(d["started"], 1) for d in dispatches] + [(d["ended"], -1) for d in dispatches])
    running = peak = 0
    for _, change in events:
        running += change
        peak = max(peak, running)
    return peak


def test_every_chat_gets_the_alert_once_through_the_queue(servers, tasks, extra_scrape, deliver_function):
    db, telegram, _ = servers
    chats = many_chats(60)
    subscribe(db, chats)
    tasks.configure(concurrency=3)
    telegram.control(latency_ms=40)
    deliver = deliver_function(BROADCAST_PAGE_SIZE="7", BROADCAST_RATE="150", BROADCAST_CONCURRENCY="3")
    since = len(deliver.output())
    scrape = fanning_scrape(extra_scrape, tasks, deliver, BROADCAST_PAGE_SIZE="7")
    status, summary = tick(scrape)
    key = summary["broadcast"]
    assert status == 200 and summary["status"] == "alerted", summary
    assert summary["fanout"] == {"chunks": 9, "planned": True, "queued": 9, "done": 0}, "8 full chunks, the open end"
    assert summary["sent"] == 0, "the scrape sends nothing itself"
    wait_done(db, key)
    assert set(alerts_by_chat(telegram).values()) == {1} and len(alerts_by_chat(telegram)) == 60
    assert set(db.get(f"deliveries/{key}").values()) == {"sent"} and len(db.get(f"deliveries/{key}")) == 60
    dispatches = tasks.dispatches()
    assert {d["status"] for d in dispatches} == {200} and len(dispatches) == 9
    assert 1 < most_at_once(dispatches) <= 3, "the queue's max-concurrent-dispatches bounds the invocations"
    assert not db.get("state/broadcast") and db.get(f"fanout/{key}/finished")
    time.sleep(0.5)
    assert finished_lines(deliver, key, since) == 1, "the finished mark is set once"
    status, summary = tick(scrape)
    assert status == 200 and summary["status"] == "unchanged" and tasks.waiting() == []
    # The last chunk's invocation stopped after settling its chunk, before marking the broadcast: a tick repairs it.
    db.put(f"broadcasts/{key}/done", None)
    db.put("state/broadcast", {"key": key, "kind": "alert", "announcement": summary["announcement"]})
    status, summary = tick(scrape)
    assert status == 200 and summary["status"] == "resumed" and summary["finished"] is True, summary
    assert db.get(f"broadcasts/{key}/done") is True and not db.get("state/broadcast") and tasks.waiting() == []
    assert len(alerts_by_chat(telegram)) == 60 and set(alerts_by_chat(telegram).values()) == {1}


def test_a_chunk_answered_with_503_is_retried_and_sends_nothing_twice(servers, tasks, extra_scrape,
                                                                      deliver_function):
    """Each attempt has one second (BROADCAST_TIME_BUDGET) for a chunk that takes several at its share of
    the rate: it answers 503 with chats left, and the queue's retries finish it from the ledger."""
    db, telegram, _ = servers
    subscribe(db, many_chats(40))
    tasks.configure(concurrency=2)
    telegram.control(latency_ms=50)
    deliver = deliver_function(BROADCAST_PAGE_SIZE="20", BROADCAST_RATE="20", BROADCAST_CONCURRENCY="2",
                               BROADCAST_TIME_BUDGET="1")
    since = len(deliver.output())
    status, summary = tick(fanning_scrape(extra_scrape, tasks, deliver, BROADCAST_PAGE_SIZE="20"))
    key = summary["broadcast"]
    wait_done(db, key)
    dispatches = tasks.dispatches()
    assert sum(d["status"] == 503 for d in dispatches) >= 2, dispatches
    assert set(alerts_by_chat(telegram).values()) == {1} and len(alerts_by_chat(telegram)) == 40
    assert finished_lines(deliver, key, since) == 1


def test_a_killed_deliver_instance_is_resumed_by_the_queue(servers, tasks, extra_scrape, deliver_function):
    """SIGKILL mid-chunk: the queue's next attempt fails to connect and backs off, a new instance on the same
    address finds the dead one's lease (503 until it expires), then resumes from the ledger. With
    LEDGER_BATCH=1 a chat can get a second message only if its message was in flight at the kill."""
    db, telegram, _ = servers
    chats = many_chats(80)
    subscribe(db, chats)
    tasks.configure(concurrency=2, min_backoff=0.3, max_backoff=1.0)
    telegram.control(latency_ms=100)
    env = dict(BROADCAST_PAGE_SIZE="40", BROADCAST_RATE="40", BROADCAST_CONCURRENCY="2", LEDGER_BATCH="1",
               BROADCAST_LEASE_SECONDS="2")
    deliver = deliver_function(**env)
    since = len(deliver.output())  # every deliver process logs to the same file
    status, summary = tick(fanning_scrape(extra_scrape, tasks, deliver, BROADCAST_PAGE_SIZE="40"))
    key = summary["broadcast"]
    ends = time.monotonic() + 30
    while len(telegram.calls("sendMessage")) < 15:
        assert time.monotonic() < ends
        time.sleep(0.05)
    os.killpg(deliver.proc.pid, signal.SIGKILL)
    deliver.proc.wait(10)
    sent_before = len(alerts_by_chat(telegram))
    assert sent_before < 80, "killed mid-broadcast"
    restarted = deliver_function(port=deliver.port, **env)
    wait_done(db, key)
    counts = alerts_by_chat(telegram)
    assert len(counts) == 80, "every chat is reached"
    in_flight_bound = 2 * worker_count(40 / 2)
    assert sum(n - 1 for n in counts.values()) <= in_flight_bound, counts.most_common(5)
    statuses = [d["status"] for d in tasks.dispatches()]
    assert 0 in statuses or 503 in statuses, "the queue retried after the kill"
    assert finished_lines(restarted, key, since) == 1


def test_planning_that_cannot_reach_the_queue_goes_on_at_the_next_tick(servers, tasks, extra_scrape,
                                                                        deliver_function):
    db, telegram, _ = servers
    subscribe(db, many_chats(30))
    tasks.configure(concurrency=2)
    deliver = deliver_function(BROADCAST_PAGE_SIZE="10", BROADCAST_RATE="100", BROADCAST_CONCURRENCY="2")
    unreachable = extra_scrape(BROADCAST_QUEUE=QUEUE, DELIVER_URL=deliver.url, BROADCAST_PAGE_SIZE="10",
                               CLOUD_TASKS_EMULATOR_HOST="127.0.0.1:9")
    status, summary = tick(unreachable)
    assert status == 503 and summary["fanout"]["planned"] is False and "Cloud Tasks" in summary["fanout"]["error"]
    key = summary["broadcast"]
    assert db.get("state/broadcast")["key"] == key and not db.get(f"broadcasts/{key}/lease")
    status, summary = tick(fanning_scrape(extra_scrape, tasks, deliver, BROADCAST_PAGE_SIZE="10"))
    assert status == 200 and summary["status"] == "resumed" and summary["fanout"]["planned"], summary
    wait_done(db, key)
    assert set(alerts_by_chat(telegram).values()) == {1} and len(alerts_by_chat(telegram)) == 30


def test_deliver_refuses_what_is_not_a_task_of_ours_and_sends_nothing(servers, deliver_function, tasks):
    db, telegram, _ = servers
    deliver = deliver_function()
    forged = [b"", b"not json", b"[]", json.dumps({"broadcast": "k"}).encode(),
              json.dumps({"broadcast": "k", "chunk": -1}).encode(),
              json.dumps({"broadcast": "k", "chunk": True}).encode(),
              json.dumps({"broadcast": "../../x", "chunk": 0}).encode(),
              json.dumps({"broadcast": "k", "chunk": 0, "text": "injected"}).encode()]
    for body in forged:
        status, answer, _ = http("POST", deliver.url, raw=body, headers={"Content-Type": "application/json"})
        assert status == 400, (body, answer)
    status, answer, _ = http("POST", deliver.url, {"broadcast": "kdca-sentinel_2026-W01", "chunk": 0})
    assert status == 200 and answer["status"] == "unknown"
    db.put("broadcasts/old", {"done": True, "text": "x", "kind": "alert"})
    db.put("fanout/old/chunks/0", {"generation": 0})
    status, answer, _ = http("POST", deliver.url, {"broadcast": "old", "chunk": 0})
    assert status == 200 and answer["status"] == "done"
    assert http("GET", deliver.url)[0] == 405
    assert telegram.calls() == [] and db.get("deliveries") is None


def fan_out_with_chart_in_chunks(db, tasks, extra_scrape, deliver_function) -> str:
    """A tick fans the alert with its chart out in chunks of 5 chats, three sent at once; the broadcast's
    key, once deliver finished it."""
    tasks.configure(concurrency=3)
    deliver = deliver_function(BROADCAST_PAGE_SIZE="5", BROADCAST_RATE="60", BROADCAST_CONCURRENCY="3",
                               CHARTS="on")
    status, summary = tick(fanning_scrape(extra_scrape, tasks, deliver, BROADCAST_PAGE_SIZE="5", CHARTS="on"))
    assert status == 200, summary
    wait_done(db, summary["broadcast"])
    return summary["broadcast"]


def test_concurrent_chunks_upload_the_chart_once(servers, tasks, extra_scrape, deliver_function, portal):
    """Three chunks start together and each wants the chart: one claims the upload, the others wait for its
    file_id instead of uploading it too."""
    db, telegram, _ = servers
    chats = many_chats(30)
    subscribe(db, chats)
    telegram.control(latency_ms=30)
    key = fan_out_with_chart_in_chunks(db, tasks, extra_scrape, deliver_function)
    assert len(uploads(telegram)) == 1
    assert Counter(p["chat_id"] for p in telegram.photos()) == Counter(map(str, chats))
    assert db.get(f"broadcasts/{key}/photo") == db.get("charts/kdca-sentinel")["file_id"]


def test_chunks_send_each_chat_its_language_with_one_upload_per_language(servers, tasks, extra_scrape,
                                                                         deliver_function, portal):
    """A third of the chats read English: every chunk sends each chat its language, and the chart is uploaded
    once per language however many chunks want it."""
    db, telegram, _ = servers
    chats = many_chats(30)
    subscribe(db, chats)
    english = {str(chat) for chat in chats[::3]}
    db.put("languages", dict.fromkeys(english, "en"))
    key = fan_out_with_chart_in_chunks(db, tasks, extra_scrape, deliver_function)
    assert len(uploads(telegram)) == 2, "one upload per language"
    by_chat = {p["chat_id"]: p["caption"] for p in telegram.photos()}
    assert Counter(p["chat_id"] for p in telegram.photos()) == Counter(map(str, chats)), "each chat once"
    assert all(("COVID-19 inpatients" in caption) == (chat in english) for chat, caption in by_chat.items())
    record = db.get(f"broadcasts/{key}")
    assert {p["photo"] for p in telegram.photos() if p["chat_id"] in english and isinstance(p["photo"], str)} \
        == {record["photo_en"]}


def test_deliver_loads_neither_the_scraper_nor_the_chart_and_the_scrape_loads_cloud_tasks_only_to_fan_out():
    probe = ("import sys; import coronabot.alerts.chunks, coronabot.tick.ticker; "
             "print(sorted(m for m in sys.modules if m.startswith(('coronabot.sources._http', 'bs4', 'requests', "
             "'matplotlib', 'google.cloud.tasks'))))")
    deliver_only = probe.replace(", coronabot.tick.ticker", "")
    loaded = subprocess.run([sys.executable, "-c", deliver_only], capture_output=True, text=True, check=True)
    assert loaded.stdout.strip() == "[]"
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert "google.cloud.tasks_v2" not in loaded.stdout and "matplotlib" not in loaded.stdout


def test_a_broadcast_begun_in_process_is_finished_by_the_queue_with_nobody_twice(servers, tasks, extra_scrape,
                                                                                 deliver_function):
    """A deployment that turns the fan-out on while a broadcast is unfinished: the chunks skip the chats the
    in-process run already settled (their ledger is read, as the broadcast was claimed before)."""
    db, telegram, _ = servers
    subscribe(db, many_chats(30))
    tasks.configure(concurrency=2)
    status, summary = tick(extra_scrape(BROADCAST_RATE="10", BROADCAST_TIME_BUDGET="1"))
    assert status == 503 and 0 < summary["sent"] < 30, summary
    deliver = deliver_function(BROADCAST_PAGE_SIZE="8", BROADCAST_RATE="100", BROADCAST_CONCURRENCY="2")
    status, summary = tick(fanning_scrape(extra_scrape, tasks, deliver, BROADCAST_PAGE_SIZE="8"))
    assert status == 200 and summary["status"] == "resumed" and summary["fanout"]["planned"], summary
    wait_done(db, summary["broadcast"])
    assert set(alerts_by_chat(telegram).values()) == {1} and len(alerts_by_chat(telegram)) == 30


def test_a_tick_without_the_queue_leaves_chunks_being_sent_alone(servers, tasks, extra_scrape, deliver_function):
    """BROADCAST_QUEUE unset (or scrape-once run without it) while chunks are being sent: the tick does not
    resume the broadcast beside them; once they are done, nobody got it twice."""
    db, telegram, _ = servers
    subscribe(db, many_chats(40))
    tasks.configure(concurrency=2)
    telegram.control(latency_ms=100)
    deliver = deliver_function(BROADCAST_PAGE_SIZE="20", BROADCAST_RATE="10", BROADCAST_CONCURRENCY="2")
    status, summary = tick(fanning_scrape(extra_scrape, tasks, deliver, BROADCAST_PAGE_SIZE="20"))
    key = summary["broadcast"]
    ends = time.monotonic() + 20
    while not db.get(f"fanout/{key}/leases"):
        assert time.monotonic() < ends
        time.sleep(0.05)
    status, summary = tick(extra_scrape())
    assert summary["status"] == "unchanged" and summary.get("busy") and summary["sent"] == 0, summary
    wait_done(db, key)
    assert set(alerts_by_chat(telegram).values()) == {1} and len(alerts_by_chat(telegram)) == 40


def test_deliver_refuses_a_task_of_an_earlier_generation_of_its_chunk(servers, deliver_function, tasks):
    """A tick gave the chunk a new task (the queue still retried the old one): only the newest generation
    sends; the old task is answered 200 so the queue lets it go, and nobody gets a message from it."""
    db, telegram, _ = servers
    subscribe(db, many_chats(3))
    db.put("broadcasts/k", {"kind": "alert", "announcement": "2026-W39", "text": "알림", "wording": 2})
    db.put("fanout/k/chunks/0", {"after": None, "until": None, "generation": 1, "queued_at": time.time()})
    deliver = deliver_function()
    status, answer, _ = http("POST", deliver.url, {"broadcast": "k", "chunk": 0, "generation": 0})
    assert (status, answer["status"]) == (200, "superseded") and telegram.calls() == []
    status, answer, _ = http("POST", deliver.url, {"broadcast": "k", "chunk": 0})  # a task of an earlier version
    assert (status, answer["status"]) == (200, "superseded") and telegram.calls() == []
    status, answer, _ = http("POST", deliver.url, {"broadcast": "k", "chunk": 0, "generation": 1})
    assert (status, answer["status"], answer["sent"]) == (200, "delivered", 3)


def test_the_queue_stops_retrying_only_when_both_limits_are_met(servers, tasks):
    """Cloud Tasks' documented rule, as the emulator keeps it: max_attempts alone does not stop a task while
    max_retry_duration has not passed, and max_attempts=-1 never does."""
    from coronabot import config
    from coronabot.adapters.tasks import TaskQueue

    nowhere = f"http://127.0.0.1:{free_port()}/"  # a refused connection: a failure the queue retries
    settings = config.Settings(broadcast_queue=QUEUE, deliver_url=nowhere, tasks_emulator_host=tasks.host)
    tasks.configure(concurrency=1, min_backoff=0.05, max_backoff=0.1, max_attempts=2, max_retry_duration=2)
    assert TaskQueue(settings).enqueue("k", 1)
    time.sleep(1.0)
    assert any(name.endswith("-c1-g0") for name in tasks.waiting()), "2 attempts made, but 2 s have not passed"
    time.sleep(2.5)
    attempts = [d for d in tasks.dispatches() if d["task"].endswith("-c1-g0")]
    assert not tasks.waiting() and len(attempts) > 2, "given up once both limits were met"
    tasks.configure(concurrency=1, min_backoff=0.05, max_backoff=0.1, max_attempts=-1, max_retry_duration=0.5)
    TaskQueue(settings).enqueue("k", 2)
    time.sleep(1.5)
    assert any(name.endswith("-c2-g0") for name in tasks.waiting()), "max_attempts=-1: never given up"
