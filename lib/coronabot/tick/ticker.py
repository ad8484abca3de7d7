"""One scrape tick: read the source, decide whether an announcement is new, record it, alert once.

Called by the ``scrape`` Cloud Function (Cloud Scheduler), the local runner and ``python -m coronabot
scrape-once``. A tick is idempotent and does not depend on when it runs: each announcement is identified by
its own date or week, an older or already-alerted one is never sent, and one broadcaster per announcement is
guaranteed by a leased claim in the database. The Ticker only orchestrates, in the order of
docs/architecture.md's "How a tick decides"; each concern is a collaborator of its own.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from coronabot import config, log, sources
from coronabot.adapters.storage import BroadcastPointer, Database, TickState, layout
from coronabot.adapters.telegram import Telegram
from coronabot.alerts import held
from coronabot.alerts.broadcaster import Broadcaster, render
from coronabot.alerts.letters import Letters
from coronabot.alerts.morning import MorningDelivery
from coronabot.alerts.report import NOTHING, BroadcastReport
from coronabot.alerts.sending import Progress, log_progress, worker_count
from coronabot.model import publication
from coronabot.model.announcement import Announcement, order_key
from coronabot.model.seoul import seoul_time
from coronabot.sources import Pending, SourceError, SourceHttp
from coronabot.tick.health import MAX_STORED_ERROR_CHARS, AdminNotices, LatenessWatch, SourceHealth
from coronabot.tick.reading import Reading, SourceReader
from coronabot.tick.recorder import HistoryRecorder
from coronabot.tick.summary import UNFINISHED, TickSummary

logger = log.get("coronabot.scrape")


class Ticker:
    """Holds the clients of one process (kept warm between Cloud Function invocations)."""

    def __init__(self, settings: config.Settings, db: Database | None = None, telegram: Telegram | None = None,
                 http: SourceHttp | None = None, interrupt: threading.Event | None = None,
                 progress: Callable[[Progress], None] = log_progress, progress_every: float | None = None):
        """``interrupt``, once set, makes a running broadcast stop cleanly (the local runner's Ctrl-C);
        ``progress`` gets a broadcast's progress every ``progress_every`` seconds (a log line by default,
        a terminal bar under ``make run``)."""
        self.settings = settings
        self.source = sources.get(settings.source)
        self.db = db or Database(settings)
        self._telegram = telegram
        self.reader = SourceReader(self.source, http or SourceHttp(settings.source_base_url, settings.source_timeout))
        self.recorder = HistoryRecorder(self.db, self.source, settings)
        notices = AdminNotices(settings.admin_chat_ids, lambda: self.telegram)
        self.health = SourceHealth(self.source, notices)
        self.lateness = LatenessWatch(self.db, self.source, notices, timedelta(hours=settings.late_notice_hours))
        letters = Letters(self.db, settings)
        self.broadcaster = Broadcaster(self.db, settings, lambda: self.telegram, letters, interrupt, progress,
                                       progress_every)
        self.morning = MorningDelivery(self.db, settings, letters, self.broadcaster)

    @property
    def telegram(self) -> Telegram:
        """The Bot API client, made on first use (``backfill`` never needs one)."""
        if self._telegram is None:
            self._telegram = Telegram(self.settings.require_token(), self.settings.api_base,
                                      pool_size=worker_count(self.settings.broadcast_rate))
        return self._telegram

    def tick(self, now: datetime | None = None, force: bool = False) -> TickSummary:
        """Run one tick and return its summary (also stored as state/last_tick).

        With adaptive polling a call first decides from the state it reads (the publication model and the
        last fetch) whether to fetch now; one that does not costs that one read and answers ``idle``.
        ``force`` fetches whatever the decision (``scrape-once``, ``RUN_SCHEDULE_NOW``)."""
        self.broadcaster.new_call()
        now = now or datetime.now(UTC)
        state = TickState.of(self.db.state(), self.source.name)
        self.recorder.migrate(state, now)
        timing = self._timing(state, now)
        morning_due = held.due(state.held, now, self.settings.quiet_hours)
        if not (force or timing.fetch or self.settings.polling == "always" or state.broadcast or morning_due):
            logger.debug("idle: %s", timing.reason)
            return TickSummary("idle", self.source.name, notes={"reason": timing.reason})
        logger.info("tick started", extra={"fields": {"source": self.source.name,
                                                      "reason": "forced" if force else timing.reason}})
        morning = self.morning.deliver(now) if morning_due else NOTHING
        cache, changes = dict(state.source_cache), {}
        backfill = self.recorder.backfill_due(state, now)
        try:
            reading = self.reader.read(cache, state.latest.record, now, backfill)
        except SourceError as exc:
            return self._failed(state, exc, backfill, morning, now)
        if state.health:
            changes.update(self.health.recovered(state.health))
        if cache != state.source_cache:
            changes[layout.state("source_cache", self.source.name)] = cache
        self.db.update(self.recorder.changes(state, reading.earlier, backfill, now))
        try:
            summary, marker = self._decide(state, reading, now)
        except SourceError as exc:  # an announcement whose message Telegram could never accept: nothing recorded
            return self._failed(state, exc, backfill, morning, now)
        summary.morning = morning
        changes.update(marker)
        self.lateness.watch(state.late_notice, self._recorded_period(state), summary, timing, now)
        if self.recorder.prune_due(state, now):
            changes.update(self.recorder.prune(now))
        return self._finish(summary, changes, now)

    def backfill(self, weeks: int, now: datetime | None = None) -> int:
        """``python -m coronabot backfill``: fetch and store ``weeks`` weeks of history without alerting
        anyone (the current week too, when the bot has not recorded it); returns how many periods."""
        now = now or datetime.now(UTC)
        if not self.source.has_series:
            raise SourceError(f"{self.source.name} publishes one period at a time: it has no history to fetch")
        cache = dict(TickState.of(self.db.state(), self.source.name).source_cache)
        reading = self.reader.read(cache, None, now, weeks)
        periods = reading.earlier + ([reading.current] if reading.current is not None else [])
        self.recorder.store(periods, cache, weeks, now)
        return len(periods)

    def unfinished_broadcast(self) -> bool:
        """Whether a broadcast was left unfinished (``make run`` resumes it at start)."""
        return isinstance(self.db.get(layout.state("broadcast")), dict)

    # -- the steps ---------------------------------------------------------------------------------------
    def _timing(self, state: TickState, now: datetime) -> publication.Decision:
        first_seen = publication.parse_moments(state.seen)
        model = publication.expectation(first_seen, self.source.cadence)
        last_fetch = publication.parse_moments([state.last_fetch_at])
        return publication.decide(now, last_fetch[0] if last_fetch else None, model,
                                  first_seen[-1] if first_seen else None)

    def _failed(self, state: TickState, exc: SourceError, backfill: int, morning: BroadcastReport,
                now: datetime) -> TickSummary:
        """The source failed: its health written (the admins told once), an unfinished broadcast resumed."""
        error = f"{exc.kind}: {exc}"[:MAX_STORED_ERROR_CHARS]
        logger.error("source failed: %s", exc, extra={"fields": {"source": self.source.name, "kind": exc.kind}})
        changes = self.health.failed(state.health, exc, now)
        if backfill:
            changes.update(self.recorder.backfill_failed(error, now))
        summary = TickSummary("error", self.source.name, broadcast=self.broadcaster.resume(state.broadcast),
                              morning=morning, notes={"error": error})
        return self._finish(summary, changes, now)

    def _recorded_period(self, state: TickState) -> str:
        """The latest recorded announcement's period, as the admins' notices name it ("" for none)."""
        try:
            return sources.restore(state.latest.record).period
        except ValueError:
            return ""

    def _recorded_order(self, state: TickState) -> object:
        """The order of the latest recorded announcement of this source, as stored (None: none recorded)."""
        return state.latest.order if state.latest.source == self.source.name else None

    def _decide(self, state: TickState, reading: Reading, now: datetime) -> tuple[TickSummary, dict[str, Any]]:
        """New (alert), the same with other figures (correction), or nothing new (resume what is unfinished;
        ``pending`` while the source counts a newer period). The summary, and the marker of the period being
        counted to write beside the latest announcement when it changed (an announcement writes its own)."""
        announcement, recorded_order = reading.current, self._recorded_order(state)
        recorded = order_key(recorded_order)
        kind = None
        if announcement is not None:
            if recorded is not None and announcement.key < recorded:
                logger.info("source shows an older announcement than the last recorded; not new",
                            extra={"fields": {"announcement": announcement.id, "latest": state.latest.id}})
            elif recorded is None or announcement.key > recorded:
                kind = "alert"
            elif announcement.revises(sources.values(state.latest.record)):
                kind = "correction"
        latest_order = announcement.order if announcement is not None and kind is not None else recorded_order
        pending = reading.pending if reading.pending is not None and reading.pending.follows(latest_order) else None
        if announcement is not None and kind is not None:
            messages = render(kind, announcement, self.source)
            summary, changes = self._announce(state, announcement, kind, messages, pending, now), {}
        else:
            resumed = self.broadcaster.resume(state.broadcast)
            about = announcement.id if announcement is not None else state.latest.id
            status = "resumed" if resumed.happened else "pending" if pending else "unchanged"
            summary = TickSummary(status, self.source.name, about, resumed)
            stored = state.latest.pending
            changes = {layout.pending(): pending.as_record() if pending else None} \
                if recorded is not None and pending != stored else {}
        if pending is not None:
            summary.notes["pending_week"] = pending.id
        return summary, changes

    def _announce(self, state: TickState, announcement: Announcement, kind: str, messages: dict[str, str],
                  pending: Pending | None, now: datetime) -> TickSummary:
        """Record the announcement (history, latest, the broadcast's pointer) in one write, then broadcast it."""
        name, seen_at = self.source.name, seoul_time(now)
        record = dict(announcement.to_record(), recorded_at=seen_at)
        changes: dict[str, Any] = {}
        if kind == "alert":
            key = f"{name}_{announcement.id}"
            record["first_seen"] = seen_at
            changes[layout.state("seen", name)] = publication.remember(state.seen, now)
        else:
            key = f"{name}_{announcement.id}_fix_{announcement.digest()}"
            record["first_seen"] = state.latest.first_seen
        pointer = BroadcastPointer(key, kind, announcement.id)
        first = self.broadcaster.resume(state.broadcast, unless_key=key)
        latest = {**record, "pending": pending.as_record()} if pending else record
        self.db.update({layout.state("latest"): latest, layout.history(name, announcement.id): record,
                        layout.state("broadcast"): pointer.as_record(), **changes})
        logger.info("new announcement recorded" if kind == "alert" else "correction recorded",
                    extra={"fields": {"announcement": announcement.id, "broadcast": key}})
        conditions = Broadcaster.conditions(announcement, kind, state.latest.record)
        outcome = self.broadcaster.start(pointer, messages, conditions)
        notes = {"resumed_earlier": first.fields()} if first.counts or first.busy else {}
        return TickSummary("alerted" if kind == "alert" else "corrected", name, announcement.id, outcome,
                           notes=notes)

    def _finish(self, summary: TickSummary, changes: dict[str, Any], now: datetime) -> TickSummary:
        summary.at = seoul_time(now)
        written = summary.as_dict()
        self.db.update({**changes, layout.state("last_tick"): written, layout.state("last_fetch_at"): summary.at})
        unfinished = " (unfinished: the next call goes on)" if summary.http_status == UNFINISHED else ""
        if summary.notes.get("pending_week"):
            unfinished += f"; {summary.notes['pending_week']} is not published yet"
        logger.info("tick %s%s", summary.status, unfinished,
                    extra={"fields": {k: v for k, v in written.items() if v not in (None, 0)}})
        return summary
