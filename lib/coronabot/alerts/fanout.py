"""A broadcast fanned out on Cloud Tasks: its chunks of subscribers, how they are planned and enqueued, and
how it ends.

A chunk is a range of subscriber keys in the database's key order: strictly after ``after`` (from the first
key when absent) up to ``until`` included (to the last when absent). The ranges are read page by page from
the subscribers, each closed at its page's last key, and the last one is open, so every subscriber (also
one who subscribes during the broadcast) lies in exactly one chunk. Each chunk is recorded before its task
is created, so planning that stops (its deadline, the queue unreachable, a crash) goes on where it stopped.

    /fanout/{key}/chunks/{i}   {"after", "until", "generation", "queued_at"}
    /fanout/{key}/planned      how many chunks, once every subscriber is in one
    /fanout/{key}/leases/{i}   the lease of the deliver invocation sending the chunk, and its attempts
    /fanout/{key}/done/{i}     when the chunk was settled
    /fanout/{key}/finished     when the last chunk was settled: set once, in a transaction

The broadcast is marked done (``broadcasts/{key}/done``) by whoever first sees every chunk settled: the
deliver invocation of the last chunk, or a later tick.
"""

from __future__ import annotations

import time
from typing import Any, NamedTuple, Protocol

from coronabot import log
from coronabot.adapters.storage import Database, child_items, child_keys, key_span, layout
from coronabot.errors import AlreadyDone

logger = log.get("coronabot.fanout")

# A chunk not settled this long after its task was created gets a new task: longer than the queue retries a
# task (its max-retry-duration, 900 s in the deployment), so one task of a chunk is retried at a time.
REQUEUE_SECONDS = 960.0


class Queue(Protocol):
    def enqueue(self, key: str, chunk: int, generation: int = 0) -> bool: ...

    def delete(self, key: str, chunk: int, generation: int) -> None: ...


class Chunk(NamedTuple):
    """One chunk's range of subscriber keys (``None``: unbounded on that side), and which generation of its
    task may send it."""

    after: str | None
    until: str | None
    generation: int = 0

    @classmethod
    def from_record(cls, record: object) -> Chunk | None:
        """The chunk as stored, or None when the record is missing or damaged."""
        if not isinstance(record, dict):
            return None
        after, until, generation = record.get("after"), record.get("until"), record.get("generation") or 0
        if not all(bound is None or isinstance(bound, str) for bound in (after, until)):
            return None
        return cls(after, until, generation if isinstance(generation, int) else 0)


class Plan(NamedTuple):
    """Where a fanned-out broadcast stands after a tick's planning."""

    chunks: int  # recorded so far
    planned: bool  # every subscriber is in a chunk
    queued: int  # tasks this call created (a chunk's first, or a new one for a chunk left behind)
    done: int  # chunks settled

    def summary(self) -> dict[str, Any]:
        return self._asdict()


def path(key: str, *parts: object) -> str:
    return layout.fanout(key, *parts)


def _planned(db: Database, key: str) -> int | None:
    """How many chunks the broadcast has once every subscriber is in one, else None (planning goes on)."""
    planned = db.get(path(key, "planned"))
    return planned if isinstance(planned, int) and not isinstance(planned, bool) else None


def _settled(db: Database, key: str) -> set[str]:
    """The indexes of the chunks settled so far (one shallow read)."""
    return set(child_keys(db.ref(path(key, "done")).get(shallow=True)))


def plan(db: Database, queue: Queue, key: str, size: int, deadline: float | None = None,
         now: float | None = None) -> Plan:
    """Record the broadcast's chunks and create their tasks, going on from where an earlier call stopped;
    once planned, give a chunk left unsettled REQUEUE_SECONDS after its task was created a new task.
    Raises QueueError (tasks.py) or DatabaseError, with what was done kept."""
    now = time.time() if now is None else now
    chunks = child_items(db.get(path(key, "chunks")))
    if _planned(db, key) is not None:
        done = _settled(db, key)
        return Plan(len(chunks), True, _requeue(db, queue, key, chunks, done, now), len(done))
    index = len(chunks)
    queued = 0
    if index:  # the last recorded chunk's task may not have been created: create it (a repeat is refused)
        queued += queue.enqueue(key, index - 1, int(chunks[str(index - 1)].get("generation") or 0))
    after = chunks[str(index - 1)].get("until") if index else None
    for page in db.pages(layout.SUBSCRIBERS, size, after=after):
        until = key_span(page)[1] if len(page) >= size else None
        queued += _record(db, queue, key, index, Chunk(after, until), now)
        index, after = index + 1, until
        if until is None:
            return Plan(index, True, queued, 0)
        if deadline is not None and time.monotonic() >= deadline:
            logger.warning("planning stopped at its deadline; the next tick goes on",
                           extra={"fields": {"broadcast": key, "chunks": index}})
            return Plan(index, False, queued, 0)
    queued += _record(db, queue, key, index, Chunk(after, None), now)  # the open end: who subscribes later
    return Plan(index + 1, True, queued, 0)


def _record(db: Database, queue: Queue, key: str, index: int, chunk: Chunk, now: float) -> int:
    """Store one chunk (the last one with the count of chunks) and create its task."""
    changes: dict[str, Any] = {path(key, "chunks", index): {"after": chunk.after, "until": chunk.until, "generation": 0,
                                                  "queued_at": now}}
    if chunk.until is None:
        changes[path(key, "planned")] = index + 1
    db.update(changes)
    return int(queue.enqueue(key, index))


def _requeue(db: Database, queue: Queue, key: str, chunks: dict[str, Any], done: set[str], now: float) -> int:
    """A new task (next generation) for each chunk neither settled (``done``) nor being sent, whose task was
    created REQUEUE_SECONDS ago or more: the queue gave it up (a chunk failing at once is given up after
    about 915 s: tasks.retry_times), or it was never created. The generation is recorded first, so deliver
    refuses the older generation's task from then on (only one generation ever sends a chunk), and that task
    is deleted if the queue still retries it."""
    if len(done) >= len(chunks):
        return 0
    leases = child_items(db.get(path(key, "leases")))
    queued = 0
    for index, record in chunks.items():
        if index in done or _live(leases.get(index), now) or not isinstance(record, dict):
            continue
        if now - float(record.get("queued_at") or 0) < REQUEUE_SECONDS:
            continue
        old = int(record.get("generation") or 0)
        generation = old + 1
        db.update({path(key, "chunks", index, "generation"): generation,
                   path(key, "chunks", index, "queued_at"): now})
        queue.delete(key, int(index), old)
        queued += queue.enqueue(key, int(index), generation)
        logger.warning("a chunk was left unsettled; enqueued again", extra={"fields": {
            "broadcast": key, "chunk": int(index), "generation": generation}})
    return queued


def finish_if_complete(db: Database, key: str, marker: str = layout.state("broadcast")) -> bool:
    """Mark the broadcast done when every chunk is settled (and clear ``marker`` if it still points at it);
    True when it is done. The first to see it complete sets ``finished`` (a transaction) and logs it once;
    a later caller only repeats the done mark if that first one stopped before writing it."""
    planned = _planned(db, key)
    if planned is None or len(_settled(db, key)) < planned:
        return False
    at = time.time()

    def take(current: object) -> float:
        if current is not None:
            raise AlreadyDone(key)
        return at

    first = db.transaction_or_none(path(key, "finished"), take) is not None
    if first or db.get(layout.broadcast(key, "done")) is not True:
        db.update({layout.broadcast(key, "done"): True, layout.broadcast(key, "finished_at"): at,
                   layout.broadcast(key, "lease"): None})
        db.clear_marker(marker, key)
    if first:
        logger.info("broadcast finished: every chunk settled", extra={"fields": {"broadcast": key,
                                                                                 "chunks": planned}})
    return True


def progress(db: Database, key: str) -> dict[str, Any]:
    """How far a broadcast is, for ``stats``: the chats its ledger settled and, when it fans out, its chunks
    (recorded, whether every subscriber is in one, settled, being sent now)."""
    shown: dict[str, Any] = {"broadcast": key,
                   "chats_settled": len(child_keys(db.ref(layout.deliveries(key)).get(shallow=True)))}
    chunks = child_keys(db.ref(path(key, "chunks")).get(shallow=True))
    if chunks:
        shown["chunks"] = {
            "recorded": len(chunks), "planned": _planned(db, key) is not None,
            "settled": len(_settled(db, key)), "sending": sending(db, key)}
    return shown


def sending(db: Database, key: str) -> int:
    """How many of the broadcast's chunks a deliver invocation holds the lease of now."""
    now = time.time()
    return sum(1 for claim in child_items(db.get(path(key, "leases"))).values() if _live(claim, now))


def _live(claim: object, now: float) -> bool:
    """Whether a chunk's claim (``{lease: {owner, expires}, attempts}``) holds an unexpired lease."""
    return isinstance(claim, dict) and isinstance(claim.get("lease"), dict) \
        and float(claim["lease"].get("expires") or 0) > now
