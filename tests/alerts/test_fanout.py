"""The chunk model of a fanned-out broadcast (fanout.py) against the local database, with a queue that
records the tasks it is asked for (the real queue and the deliver function have tests/test_fanout_e2e.py),
and the settings a fan-out needs."""

from __future__ import annotations

import time

import pytest

from coronabot import config
from coronabot.adapters import tasks
from coronabot.adapters.storage import key_order
from coronabot.alerts import fanout


class RecordingQueue:
    def __init__(self, refuse_after: int | None = None):
        self.created: list[tuple[str, int, int]] = []
        self.deleted: list[tuple[str, int, int]] = []
        self.refuse_after = refuse_after

    def enqueue(self, key: str, chunk: int, generation: int = 0) -> bool:
        if self.refuse_after is not None and len(self.created) >= self.refuse_after:
            raise tasks.QueueError("unavailable")
        if (key, chunk, generation) in self.created:
            return False
        self.created.append((key, chunk, generation))
        return True

    def delete(self, key: str, chunk: int, generation: int) -> None:
        self.deleted.append((key, chunk, generation))


def keys_of(n: int) -> list[str]:
    """Chat-id-shaped keys, small integer keys and group keys mixed, as subscribers are."""
    return [str(k) for k in [*range(1, 6), *(5_000_000_000 + 7_919 * i for i in range(n)), -1001234567890, -42]]


def covered(db, key: str, subscribers: list[str]) -> list[str]:
    """Each subscriber in the chunk whose range holds it (a chat in two chunks appears twice)."""
    chunks = [c for r in db.get(fanout.path(key, "chunks")) if (c := fanout.Chunk.from_record(r)) is not None]
    found = []
    for chunk in chunks:
        found += list(db.pages("subscribers", 3, after=chunk.after, until=chunk.until))
    return sorted((chat for page in found for chat in page), key=key_order)


@pytest.mark.parametrize("size", [1, 2, 7, 500])
def test_chunks_hold_every_subscriber_once(db, size):
    subscribers = keys_of(23)
    db.update({f"subscribers/{k}": {"since": "x"} for k in subscribers})
    queue = RecordingQueue()
    plan = fanout.plan(db, queue, "b", size)
    assert plan.planned and plan.chunks == len(queue.created) == len(subscribers) // size + 1
    assert covered(db, "b", subscribers) == sorted(subscribers, key=key_order)
    assert db.get(fanout.path("b", "planned")) == plan.chunks
    late = "7000000001"
    db.update({f"subscribers/{late}": {"since": "x"}})
    assert covered(db, "b", subscribers).count(late) == 1, "one who subscribes later is in the open chunk"


def test_planning_that_stops_goes_on_where_it_stopped(db):
    subscribers = keys_of(30)
    db.update({f"subscribers/{k}": {"since": "x"} for k in subscribers})
    with pytest.raises(tasks.QueueError):
        fanout.plan(db, RecordingQueue(refuse_after=2), "b", 5)
    assert db.get(fanout.path("b", "planned")) is None and len(db.get(fanout.path("b", "chunks"))) == 3
    queue = RecordingQueue()
    plan = fanout.plan(db, queue, "b", 5)
    assert plan.planned and queue.created[0] == ("b", 2, 0), "the chunk whose task failed is enqueued first"
    assert covered(db, "b", subscribers) == sorted(subscribers, key=key_order)
    again = fanout.plan(db, queue, "b", 5)
    assert again.queued == 0 and again.chunks == plan.chunks, "a planned broadcast is not planned twice"


def test_a_chunk_left_behind_gets_a_new_task_and_a_busy_one_does_not(db):
    db.update({f"subscribers/{k}": {"since": "x"} for k in keys_of(8)})
    queue = RecordingQueue()
    started = time.time()
    plan = fanout.plan(db, queue, "b", 5, now=started)
    db.update({fanout.path("b", "done", 0): started,
               fanout.path("b", "leases", 1): {"lease": {"owner": "o", "expires": started + 10_000}}})
    assert fanout.plan(db, queue, "b", 5, now=started + 60).queued == 0, "the queue is still retrying them"
    later = fanout.plan(db, queue, "b", 5, now=started + fanout.REQUEUE_SECONDS + 1)
    assert later.done == 1 and later.queued == plan.chunks - 2
    assert [c for c in queue.created if c[2] == 1] == [("b", i, 1) for i in range(2, plan.chunks)]
    assert queue.deleted == [("b", i, 0) for i in range(2, plan.chunks)], "the older generation's task goes"
    assert fanout.Chunk.from_record(db.get(fanout.path("b", "chunks", 2))).generation == 1, \
        "recorded first: deliver refuses the older generation's task from then on"


def test_the_queue_stops_retrying_a_chunk_before_a_tick_gives_it_a_new_task():
    """Cloud Tasks stops only when both limits are met: the deployed settings reach max_attempts just after
    max_retry_duration for a chunk failing at once, and before REQUEUE_SECONDS."""
    times = tasks.retry_times()
    assert len(times) == tasks.MAX_ATTEMPTS
    assert tasks.MAX_RETRY_SECONDS <= times[-1] < fanout.REQUEUE_SECONDS, times[-1]
    assert times[:6] == [0, 5, 15, 35, 75, 135]


def test_the_broadcast_finishes_once_when_every_chunk_is_settled(db):
    db.update({f"subscribers/{k}": {"since": "x"} for k in keys_of(3)})
    plan = fanout.plan(db, RecordingQueue(), "b", 4)
    db.update({"state/broadcast": {"key": "b"}, "broadcasts/b/lease": {"owner": "x", "expires": 1}})
    for chunk in range(plan.chunks - 1):
        db.update({fanout.path("b", "done", chunk): 1})
        assert not fanout.finish_if_complete(db, "b")
    db.update({fanout.path("b", "done", plan.chunks - 1): 1})
    assert fanout.finish_if_complete(db, "b")
    finished = db.get(fanout.path("b", "finished"))
    assert db.get("broadcasts/b")["done"] is True and db.get("state/broadcast") is False
    assert fanout.finish_if_complete(db, "b") and db.get(fanout.path("b", "finished")) == finished
    db.update({"state/broadcast": {"key": "newer"}})
    db.update({"broadcasts/b/done": None})
    assert fanout.finish_if_complete(db, "b") and db.get("broadcasts/b/done") is True, "a lost done mark is repaired"
    assert db.get("state/broadcast") == {"key": "newer"}, "a newer broadcast's marker stays"


def test_task_names_are_deterministic_and_valid():
    name = tasks.task_id("kdca-sentinel_2026-W47_fix_0a1b", 12, 3)
    assert name == tasks.task_id("kdca-sentinel_2026-W47_fix_0a1b", 12, 3)
    assert name.endswith("-kdca-sentinel_2026-W47_fix_0a1b-c12-g3")
    assert tasks.task_id("a.b", 0) != tasks.task_id("a_b", 0), "keys that read alike still differ by their hash"
    assert all(c.isalnum() or c in "-_" for c in tasks.task_id("x.y/z", 0))


def test_fan_out_settings(monkeypatch):
    monkeypatch.setenv("BROADCAST_QUEUE", "queue")
    with pytest.raises(config.ConfigError, match="BROADCAST_QUEUE"):
        config.load()
    monkeypatch.setenv("BROADCAST_QUEUE", "projects/my-project/locations/asia-northeast3/queues/coronabot-broadcast")
    settings = config.load()
    with pytest.raises(config.ConfigError, match="DELIVER_URL"):
        settings.require_fanout()
    monkeypatch.setenv("DELIVER_URL", "https://deliver-abc-du.a.run.app")
    with pytest.raises(config.ConfigError, match="TASKS_SERVICE_ACCOUNT"):
        config.load().require_fanout()
    monkeypatch.setenv("TASKS_SERVICE_ACCOUNT", "coronabot-tasks@my-project.iam.gserviceaccount.com")
    monkeypatch.setenv("BROADCAST_RATE", "1000")
    monkeypatch.setenv("BROADCAST_CONCURRENCY", "8")
    settings = config.load()
    settings.require_fanout()
    assert settings.share_rate == 125


def test_progress_counts_chunks_and_settled_chats(db):
    db.update({f"subscribers/{k}": {"since": "x"} for k in keys_of(10)})
    assert fanout.progress(db, "b") == {"broadcast": "b", "chats_settled": 0}, "an in-process broadcast: its ledger"
    plan = fanout.plan(db, RecordingQueue(), "b", 4)
    db.update({fanout.path("b", "done", 0): 1, "deliveries/b/1": "sent", "deliveries/b/2": "skipped:rose",
               fanout.path("b", "leases", 1): {"lease": {"owner": "o", "expires": time.time() + 60}, "attempts": 1},
               fanout.path("b", "leases", 2): {"lease": {"owner": "o", "expires": time.time() - 1}, "attempts": 1}})
    assert fanout.progress(db, "b") == {"broadcast": "b", "chats_settled": 2, "chunks": {
        "recorded": plan.chunks, "planned": True, "settled": 1, "sending": 1}}
