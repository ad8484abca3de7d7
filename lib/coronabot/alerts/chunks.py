"""One chunk of a fanned-out broadcast: what the ``deliver`` function does with each Cloud Tasks task.

The task names the broadcast and the chunk; everything else (the text, the choices it is decided on, the
chunk's range of subscribers) is read from the database, so a task carries no message and a forged or stale
one changes nothing. The chunk is sent under a lease of its own at this invocation's share of
BROADCAST_RATE, through the same ledger, letters and rate limiter as a whole broadcast. A retried task skips
the chats its ledger records; a second invocation for a chunk being sent gets 503 (the queue tries again
later); a settled chunk, a finished or unknown broadcast answer 200 and send nothing.

Answers: 200 when the chunk is settled (or there is nothing to do), 503 when chats are left (Telegram or the
database failed, the time budget ran out: the queue's retry resumes it), 400 for a body no task of ours has.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime
from typing import Any

from coronabot import config, log
from coronabot.adapters.storage import Database, Lease, layout
from coronabot.adapters.telegram import Telegram
from coronabot.alerts import fanout
from coronabot.alerts.broadcaster import Broadcaster
from coronabot.alerts.claim import Claim
from coronabot.alerts.letters import Letters
from coronabot.alerts.sending import worker_count
from coronabot.errors import AlreadyDone, Busy

logger = log.get("coronabot.deliver")

class Deliverer:
    """The clients of one deliver instance (kept warm between tasks)."""

    def __init__(self, settings: config.Settings, db: Database | None = None, telegram: Telegram | None = None,
                 interrupt: threading.Event | None = None):
        self.settings = settings
        self.db = db or Database(settings)
        self.telegram = telegram or Telegram(settings.require_token(), settings.api_base,
                                             pool_size=worker_count(settings.share_rate))
        self.letters = Letters(self.db, settings)
        self.broadcaster = Broadcaster(self.db, settings, lambda: self.telegram, self.letters, interrupt)

    def deliver(self, key: str, chunk: int, attempt: str = "", generation: int = 0) -> tuple[int, dict[str, Any]]:
        """Send one chunk; (HTTP status, summary). A task of an older generation than the chunk's record
        (a tick gave the chunk a new task) sends nothing: only one generation ever sends a chunk."""
        self.broadcaster.new_call()
        fields = {"broadcast": key, "chunk": chunk, "attempt": attempt}
        meta = self.db.get(layout.broadcast(key))
        stored = fanout.Chunk.from_record(self.db.get(fanout.path(key, "chunks", chunk)))
        if not isinstance(meta, dict) or stored is None:
            logger.warning("a task names a broadcast or chunk that is not recorded; nothing sent",
                           extra={"fields": fields})
            return 200, {"status": "unknown", **fields}
        if generation < stored.generation:
            logger.info("a task of an earlier generation of this chunk; nothing sent",
                        extra={"fields": {**fields, "generation": generation, "current": stored.generation}})
            return 200, {"status": "superseded", **fields}
        if meta.get("done") or self.db.get(fanout.path(key, "done", chunk)) is not None:
            fanout.finish_if_complete(self.db, key)
            logger.info("chunk already settled; nothing sent", extra={"fields": fields})
            return 200, {"status": "done", **fields}
        claim, messages = self.broadcaster.messages(key, Claim(meta))
        if messages is None:
            return 200, {"status": "dropped", **fields}
        lease = Lease(fanout.path(key, "leases", chunk), self.settings.lease_seconds)  # its attempts tell a retry
        try:
            claimed = lease.claim(self.db)
        except (Busy, AlreadyDone):
            logger.info("another invocation is sending this chunk; the queue tries again later",
                        extra={"fields": fields})
            return 503, {"status": "busy", **fields}
        # The ledger can hold chats of this chunk only if the chunk was tried before, or the broadcast was
        # claimed more than once (an unfinished broadcast sent in process before the queue was configured).
        resumed = Claim(claimed).resumed or claim.resumed
        pages = self.letters.pages(key, claim, messages, datetime.now(UTC), stored.after, stored.until, resumed)
        finish = {fanout.path(key, "done", chunk): time.time(), **lease.release()}
        result = self.broadcaster.send(key, lease, pages, finish, rate=self.settings.share_rate)
        summary = dict(result.counts(key), chunk=chunk)
        if result.complete:
            summary["finished"] = fanout.finish_if_complete(self.db, key)
            return 200, dict(summary, status="delivered")
        return 503, dict(summary, status="unfinished")
