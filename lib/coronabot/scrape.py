"""One scrape tick: read the source, decide whether an announcement is new, record it, alert once.

Called by the ``scrape`` Cloud Function (Cloud Scheduler), the local runner
and ``python -m coronabot scrape-once``. A tick is idempotent and does not
depend on when it runs: each announcement is identified by its own date or
week, an older or already-alerted one is never sent, and one broadcaster per
announcement is guaranteed by a leased claim in the database.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime, timedelta

from . import config, fanout, held, history, log, preferences, publication, sources, texts
from .announcement import Announcement, order_key
from .broadcast import Broadcast, BroadcastOptions, Letter, Page, Progress, log_progress, worker_count
from .errors import AlreadyDone, Busy, DatabaseError
from .failures import answered
from .letters import Letters, settled
from .sources import LayoutError, SanityError, SourceError, SourceHttp
from .storage import Database, Lease, child_items, key_span
from .telegram import Telegram, TelegramError

logger = log.get("coronabot.scrape")

FETCH_FAILURES_BEFORE_NOTICE = 3
MAX_STORED_ERROR_CHARS = 2000
PRUNE_INTERVAL_SECONDS = 24 * 3600
BACKFILL_RETRY = timedelta(hours=24)  # after a failed backfill, ticks ask for the usual few weeks meanwhile
HTTP_STATUS = {"unchanged": 200, "alerted": 200, "corrected": 200, "resumed": 200, "idle": 200, "error": 502}
UNFINISHED_STATUS = 503  # chats still pending: Cloud Scheduler's retry resumes the broadcast


def _summary(status: str, source: str, announcement: str | None = None, **counts) -> dict:
    summary = {"status": status, "source": source, "announcement": announcement,
               "sent": 0, "failed": 0, "removed": 0, "pending": 0}
    summary.update(counts)
    return summary


def _section(state: dict, key: str) -> dict:
    """A part of the stored state that should be an object, or {} when it is missing or damaged."""
    value = state.get(key)
    return value if isinstance(value, dict) else {}


def _resumed_or_unchanged(resumed: dict) -> str:
    return "resumed" if resumed and not resumed.get("busy") else "unchanged"


class Ticker:
    """Holds the clients of one process (kept warm between Cloud Function invocations)."""

    def __init__(self, settings: config.Settings, db: Database | None = None, telegram: Telegram | None = None,
                 http: SourceHttp | None = None, interrupt: threading.Event | None = None,
                 progress: Callable[[Progress], None] = log_progress, progress_every: float | None = None):
        """``interrupt``, once set, makes a running broadcast stop cleanly (the local runner's Ctrl-C);
        ``progress`` gets a broadcast's progress every ``progress_every`` seconds (a log line by default,
        a terminal bar under ``make run``)."""
        self.settings = settings
        self.interrupt = interrupt
        self.progress, self.progress_every = progress, progress_every or settings.progress_seconds
        self.source = sources.get(settings.source)
        self.db = db or Database(settings)
        self._telegram = telegram
        self.http = http or SourceHttp(settings.source_base_url, settings.source_timeout)
        self._deadline = 0.0  # set at the start of each tick, from BROADCAST_TIME_BUDGET
        self.letters = Letters(self.db, settings)
        self._queue = None  # the Cloud Tasks client, made when a broadcast first fans out

    @property
    def telegram(self) -> Telegram:
        """The Bot API client, made on first use (``backfill`` never needs one)."""
        if self._telegram is None:
            self._telegram = Telegram(self.settings.require_token(), self.settings.api_base,
                                      pool_size=worker_count(self.settings.broadcast_rate))
        return self._telegram

    # -- the tick ------------------------------------------------------------------------------
    def tick(self, now: datetime | None = None, force: bool = False) -> dict:
        """Run one tick and return its summary (also stored as state/last_tick).

        With adaptive polling a call first decides from the state it reads (the publication model and the
        last fetch) whether to fetch now; one that does not costs that one read and answers ``idle``.
        ``force`` fetches whatever the decision (``scrape-once``, ``RUN_SCHEDULE_NOW``)."""
        self._deadline = time.monotonic() + self.settings.broadcast_budget
        now = now or datetime.now(UTC)
        name = self.settings.source
        state = self.db.state()
        timing = self._timing(state, now)
        morning = held.due(state.get("held"), now, self.settings.quiet_hours)
        if not (force or timing.fetch or self.settings.polling == "always" or state.get("broadcast") or morning):
            logger.debug("idle: %s", timing.reason)
            return {"status": "idle", "source": name, "reason": timing.reason}
        logger.info("tick started", extra={"fields": {"source": name, "reason": "forced" if force else timing.reason}})
        delivered = self._deliver_held(now) if morning else {}
        stored_cache = _section(_section(state, "source_cache"), name)
        cache = dict(stored_cache)
        changes: dict = {}
        backfill = self._backfill_due(state, now)
        try:
            announcement, earlier = self._fetch(cache, state.get("latest"), now, backfill)
        except SourceError as exc:
            summary = _summary("error", name, error=f"{exc.kind}: {exc}"[:MAX_STORED_ERROR_CHARS])
            logger.error("source failed: %s", exc, extra={"fields": {"source": name, "kind": exc.kind}})
            changes.update(self._health_failed(_section(state, "health"), exc, now))
            if backfill:
                changes[f"state/backfill/{name}"] = {"failed_at": now.astimezone(texts.KST).isoformat(
                    timespec="seconds"), "error": summary["error"]}
            summary.update(self._resume(state))
            summary["status"] = "error"
            return self._finish(summary, changes, now, delivered)
        if state.get("health"):
            changes.update(self._health_recovered(_section(state, "health")))
        if cache != stored_cache:
            changes[f"state/source_cache/{name}"] = cache
        self.db.update(self._history_changes(state, earlier, backfill, now))
        summary = self._decide(state, announcement, now)
        self._watch_lateness(state, summary, timing, now)
        if self._prune_due(state, now):
            changes["state/pruned_at"] = now.timestamp()
            self._prune(now)
        return self._finish(summary, changes, now, delivered)

    def unfinished_broadcast(self) -> bool:
        """Whether a broadcast was left unfinished (``make run`` resumes it at start)."""
        return isinstance(self.db.get("state/broadcast"), dict)

    # -- when to fetch, and late announcements -------------------------------------------------
    def _timing(self, state: dict, now: datetime) -> publication.Decision:
        first_seen = publication.parse_moments(_section(state, "seen").get(self.settings.source))
        model = publication.expectation(first_seen, self.source.cadence)
        last_fetch = publication.parse_moments([state.get("last_fetch_at")])
        return publication.decide(now, last_fetch[0] if last_fetch else None, model,
                                  first_seen[-1] if first_seen else None)

    def _watch_lateness(self, state: dict, summary: dict, timing: publication.Decision, now: datetime) -> None:
        """Tell the admins once when the expected announcement is late, and once more when it comes."""
        name = self.settings.source
        notices = _section(state, "late_notice")
        open_notice = isinstance(notices.get(name), dict) and not notices[name].get("arrived_at")
        if summary["status"] == "alerted" and open_notice:
            notice = self.db.resolve_late_notice(name, now.astimezone(texts.KST).isoformat(timespec="seconds"))
            if notice:
                expected_end = publication.parse_moments([notice.get("window_end")])
                delay = now - expected_end[0] if expected_end else timedelta(0)
                self._notify_admins(texts.late_recovered(self.source, summary.get("announcement") or "",
                                                         publication.lateness(delay)))
        elif summary["status"] != "alerted" and publication.is_late(
                now, timing, timedelta(hours=self.settings.late_notice_hours)):
            window = timing.window
            notice = {"window_start": window.start.isoformat(), "window_end": window.end.isoformat(),
                      "notified_at": now.astimezone(texts.KST).isoformat(timespec="seconds")}
            if self.db.claim_late_notice(name, notice):
                latest = _section(state, "latest")
                logger.warning("the expected announcement is late; admins told",
                               extra={"fields": {"window": publication.describe(window)}})
                self._notify_admins(texts.late_notice(self.source, publication.describe(window),
                                                      str(latest.get("period") or "")))

    def _fetch(self, cache: dict, latest: object, now: datetime,
               weeks: int = 0) -> tuple[Announcement | None, list[Announcement]]:
        """The source's current announcement, checked, and the earlier periods its answer also showed (a
        source that publishes one period at a time shows none); ``weeks`` asks for that many (a backfill).
        Any failure, expected or not, is a SourceError; an earlier period that fails the checks is left out."""
        seoul = now.astimezone(texts.KST)
        try:
            series = self.source.series(self.http, cache, seoul, weeks)
            announcement, earlier = (series[-1], series[:-1]) if series else (None, [])
            if announcement is not None:
                sources.check(announcement, latest if isinstance(latest, dict) else None, seoul.date())
        except SourceError:
            raise
        except Exception as exc:  # content no parser anticipated must not become a 500 with health unsaved
            logger.exception("the source's answer broke the parser")
            raise LayoutError(f"unexpected content ({type(exc).__name__})") from None
        return announcement, [a for a in earlier if self._plausible(a, seoul)]

    @staticmethod
    def _plausible(announcement: Announcement, seoul: datetime) -> bool:
        try:
            sources.check(announcement, None, seoul.date())
        except SanityError as exc:
            logger.warning("an earlier period fails the checks; not kept in history: %s", exc,
                           extra={"fields": {"announcement": announcement.id}})
            return False
        return True

    # -- history -----------------------------------------------------------------------------
    def _backfill_due(self, state: dict, now: datetime) -> int:
        """How many weeks this tick asks for to fill history: BACKFILL_WEEKS until a backfill succeeded
        (again a day after one failed), else 0 (the source's usual few weeks)."""
        if not self.settings.backfill_weeks or not self.source.has_series:
            return 0
        mark = _section(_section(state, "backfill"), self.settings.source)
        if mark.get("at"):
            return 0
        failed = publication.parse_moments([mark.get("failed_at")])
        if failed and now - failed[0] < BACKFILL_RETRY:
            return 0
        return self.settings.backfill_weeks

    def _history_changes(self, state: dict, earlier: list[Announcement], backfill: int, now: datetime) -> dict:
        """Store the earlier periods the source showed when they are new or revised (a fingerprint in the
        state tells, so an unchanged answer writes nothing), and mark a backfill done. Never alerts."""
        name = self.settings.source
        at = now.astimezone(texts.KST).isoformat(timespec="seconds")
        changes: dict = {}
        digest = history.series_digest(earlier)
        if earlier and digest != _section(state, "history_digest").get(name):
            changes.update(history.record_changes(earlier, at))
            changes[f"state/history_digest/{name}"] = digest
        if backfill:
            changes.update(self._backfilled(backfill, len(earlier) + 1, at))
        return changes

    def _backfilled(self, weeks: int, periods: int, at: str) -> dict:
        """The mark that the past weeks are stored (so later ticks ask for the usual few), logged."""
        name = self.settings.source
        logger.info("history backfilled", extra={"fields": {"source": name, "weeks": weeks, "periods": periods}})
        return {f"state/backfill/{name}": {"at": at, "weeks": weeks, "periods": periods}}

    def backfill(self, weeks: int, now: datetime | None = None) -> int:
        """``python -m coronabot backfill``: fetch and store ``weeks`` weeks of history without alerting
        anyone (the current week too, when the bot has not recorded it); returns how many periods."""
        now = now or datetime.now(UTC)
        if not self.source.has_series:
            raise SourceError(f"{self.settings.source} publishes one period at a time: it has no history to fetch")
        state = self.db.state()
        cache = dict(_section(_section(state, "source_cache"), self.settings.source))
        announcement, earlier = self._fetch(cache, None, now, weeks)
        periods = earlier + ([announcement] if announcement is not None else [])
        at = now.astimezone(texts.KST).isoformat(timespec="seconds")
        changes = history.record_changes(periods, at)
        changes[f"state/source_cache/{self.settings.source}"] = cache
        changes.update(self._backfilled(weeks, len(periods), at))
        self.db.update(changes)
        return len(periods)

    def _prune(self, now: datetime) -> None:
        """Housekeeping never fails a tick: a failure is logged and tried again the next day."""
        try:
            removed = self.db.prune(now.timestamp())
        except DatabaseError as exc:
            logger.error("pruning old data failed; trying again in a day: %s", exc)
            return
        if removed:
            logger.info("pruned %d old records", removed)

    def _finish(self, summary: dict, changes: dict, now: datetime, delivered: dict | None = None) -> dict:
        if delivered:
            summary["morning"] = delivered
        summary["at"] = now.astimezone(texts.KST).isoformat(timespec="seconds")
        changes["state/last_tick"] = summary
        changes["state/last_fetch_at"] = summary["at"]
        self.db.update(changes)
        log_fields = {k: v for k, v in summary.items() if v not in (None, 0)}
        logger.info("tick %s", summary["status"], extra={"fields": log_fields})
        return summary

    def _decide(self, state: dict, announcement: Announcement | None, now: datetime) -> dict:
        name = self.settings.source
        latest = sources.renew(_section(state, "latest")) or None  # a record of an older version, reworded
        if announcement is None:
            resumed = self._resume(state)
            return _summary(_resumed_or_unchanged(resumed), name, latest.get("id") if latest else None, **resumed)
        same_source = bool(latest) and latest.get("source") == name
        latest_order = order_key(latest.get("order")) if same_source else None
        if latest_order is not None and order_key(announcement.order) < latest_order:
            logger.info("source shows an older announcement than the last recorded; not new",
                        extra={"fields": {"announcement": announcement.id, "latest": latest.get("id")}})
            kind = None
        elif latest_order is None or order_key(announcement.order) > latest_order:
            kind = "alert"
        elif announcement.digest() != latest.get("digest"):
            kind = "correction"
        else:
            kind = None
        if kind is None:
            resumed = self._resume(state)
            return _summary(_resumed_or_unchanged(resumed), name, announcement.id, **resumed)
        return self._announce(state, announcement, kind, now)

    def _announce(self, state: dict, announcement: Announcement, kind: str, now: datetime) -> dict:
        name = self.settings.source
        seen_at = now.astimezone(texts.KST).isoformat(timespec="seconds")
        record = dict(announcement.to_record(), recorded_at=seen_at)
        changes: dict = {}
        if kind == "alert":
            key, text = f"{name}_{announcement.id}", texts.alert(announcement, self.source)
            record["first_seen"] = seen_at
            changes[f"state/seen/{name}"] = publication.remember(
                _section(state, "seen").get(name), now)
        else:
            key, text = f"{name}_{announcement.id}_fix_{announcement.digest()}", texts.correction(announcement)
            record["first_seen"] = _section(state, "latest").get("first_seen")
        pointer = {"key": key, "kind": kind, "announcement": announcement.id}
        first = self._resume(state, unless_key=key)
        self.db.update({"state/latest": record, f"history/{name}/{announcement.id}": record,
                        "state/broadcast": pointer, **changes})
        logger.info("new announcement recorded" if kind == "alert" else "correction recorded",
                    extra={"fields": {"announcement": announcement.id, "broadcast": key}})
        result = self._broadcast(pointer, text, self._conditions(announcement, kind, state))
        status = {"alert": "alerted", "correction": "corrected"}[kind]
        summary = _summary(status, name, announcement.id, **result)
        if first:
            summary["resumed_earlier"] = first
        return summary

    # -- broadcasting --------------------------------------------------------------------------
    def _resume(self, state: dict, unless_key: str | None = None) -> dict:
        pointer = state.get("broadcast")
        if not isinstance(pointer, dict) or not pointer.get("key") or pointer["key"] == unless_key:
            return {}
        logger.info("resuming an unfinished broadcast", extra={"fields": {"broadcast": pointer["key"]}})
        return self._broadcast(pointer, None)

    @staticmethod
    def _conditions(announcement: Announcement, kind: str, state: dict) -> dict:
        """What the per-chat choices are decided on, stored with the broadcast so a resumed run decides
        alike: its order and period, the published figures its message compares (for a correction, the
        original's too)."""
        meta: dict = {"order": announcement.order, "period": announcement.period}
        figures = preferences.comparison(announcement)
        if figures is not None:
            meta["compare"] = list(figures)
        if kind == "correction":
            try:
                before = preferences.comparison(sources.restore(_section(state, "latest")))
            except (KeyError, TypeError, ValueError):
                before = None
            if before is not None:
                meta["compare_before"] = list(before)
        return meta

    def _broadcast(self, pointer: dict, text: str | None, conditions: dict | None = None) -> dict:
        """Claim the broadcast and settle every subscriber the ledger does not record yet, as each chose."""
        key = pointer["key"]
        lease = Lease(f"broadcasts/{key}", self.settings.lease_seconds)
        meta = {"kind": pointer.get("kind"), "announcement": pointer.get("announcement"), **(conditions or {})}
        if text is not None:
            meta.update(text=text, wording=texts.WORDING)
        try:
            claimed = lease.claim(self.db, meta)
        except Busy:
            logger.info("another run is broadcasting this announcement", extra={"fields": {"broadcast": key}})
            return {"busy": True}
        except AlreadyDone:
            self.db.update({"state/broadcast": None})
            return {}
        if claimed.get("wording") != texts.WORDING:
            claimed = self._reword(key, claimed)
        text = claimed.get("text") if isinstance(claimed.get("text"), str) else text
        if not texts.sendable(text):
            logger.error("broadcast has no text Telegram can accept; dropping it",
                         extra={"fields": {"broadcast": key, "chars": len(text or "")}})
            self.db.update({"state/broadcast": None, f"broadcasts/{key}/done": True})
            return {}
        if self.settings.broadcast_queue:
            return self._fan_out(key, lease)
        resumed = int(claimed.get("attempts") or 1) > 1  # only a resumed run can find chats in the ledger
        if resumed and fanout.sending(self.db, key):  # fanned out before, and deliver is still at it
            logger.warning("chunks of this broadcast are being sent through the queue; not resuming it here",
                           extra={"fields": {"broadcast": key}})
            self.db.update(lease.release())
            return {"busy": True}
        pages = self.letters.pages(key, claimed, text, resumed, datetime.now(UTC))
        return self._send(key, lease, pages, "state/broadcast")

    def _reword(self, key: str, claimed: dict) -> dict:
        """A broadcast begun by an older version, resumed in this version's words: its text rendered anew
        from the announcement as recorded (its chart is drawn again too: see ``Letters.photo``). Stored, so
        every chat it has left, in process or through the queue, gets the same message."""
        try:
            record = self.db.get(f"history/{self.settings.source}/{claimed.get('announcement')}")
            announcement = sources.restore(record)
        except (KeyError, TypeError, ValueError):
            logger.warning("an older broadcast's announcement is not recorded; it goes on in its own words",
                           extra={"fields": {"broadcast": key}})
            return claimed
        changes = {"text": texts.broadcast_text(str(claimed.get("kind")), announcement, self.source),
                   "wording": texts.WORDING}
        self.db.update({f"broadcasts/{key}/{field}": value for field, value in changes.items()})
        logger.info("an older version's broadcast goes on in this version's words",
                    extra={"fields": {"broadcast": key}})
        return {**claimed, **changes}

    def _fan_out(self, key: str, lease: Lease) -> dict:
        """BROADCAST_QUEUE: plan the broadcast's chunks and enqueue a task for each (or, on a later tick,
        for a chunk left behind), then let the lease go; the deliver function sends. Unfinished planning
        answers like an unfinished broadcast, so the next call goes on."""
        from .tasks import QueueError, TaskQueue  # google-cloud-tasks: loaded by a process that fans out

        if self._queue is None:
            self._queue = TaskQueue(self.settings)
        try:
            planned = fanout.plan(self.db, self._queue, key, self.settings.page_size, self._deadline)
            # Deliver finishes a broadcast with its last chunk; a tick only repairs one whose chunks are all
            # settled already (that invocation stopped before marking it).
            finished = planned.planned and planned.done >= planned.chunks and fanout.finish_if_complete(self.db,
                                                                                                         key)
            plan = planned.summary()
        except QueueError as exc:
            logger.error("the broadcast could not be enqueued; the next tick goes on: %s", exc,
                         extra={"fields": {"broadcast": key}})
            plan, finished = {"planned": False, "error": str(exc)}, False
        finally:
            self.db.update(lease.release())
        logger.info("broadcast fanned out" if plan.get("planned") else "broadcast partly fanned out",
                    extra={"fields": {"broadcast": key, **plan}})
        return {"broadcast": key, "fanout": plan, "finished": finished, "unread": not plan.get("planned")}

    def _send(self, key: str, lease: Lease, pages: Iterable[Page], marker: str) -> dict:
        """Run the broadcast; once every chat is settled it is marked done and the state's ``marker``
        (what made ticks resume it) is cleared, in its last write."""
        finish = {f"broadcasts/{key}/done": True, **lease.release(),
                  f"broadcasts/{key}/finished_at": datetime.now(UTC).timestamp(), marker: None}
        options = BroadcastOptions.from_settings(self.settings, deadline=self._deadline, interrupt=self.interrupt,
                                                 progress=self.progress, progress_every=self.progress_every)
        return Broadcast(self.db, self.telegram, key, pages, lease, options, finish).run().counts(key)

    # -- alerts held for the morning -------------------------------------------------------------------
    def _deliver_held(self, now: datetime) -> dict:
        """Send each chat with held alerts one message (the newest, with the periods it covers), as the
        broadcast ``held_{KST date}`` with its own ledger and lease; a chat's entries go with its outcome."""
        key = f"held_{now.astimezone(texts.KST).date().isoformat()}"
        lease = Lease(f"broadcasts/{key}", self.settings.lease_seconds)
        try:
            claimed = lease.claim(self.db, {"kind": "held"})
        except Busy:
            logger.info("another run is delivering the held alerts", extra={"fields": {"broadcast": key}})
            return {"busy": True}
        except AlreadyDone:  # a concurrent tick just finished it; any alert held since waits for the next
            logger.info("today's morning delivery is already finished", extra={"fields": {"broadcast": key}})
            return {}
        resumed = int(claimed.get("attempts") or 1) > 1
        made: dict[tuple, Letter | None] = {}

        def pages() -> Iterator[Page]:
            for waiting in self.db.pages("held", self.settings.page_size):
                subscribers = self.db.key_range("subscribers", *key_span(waiting))
                yield self._held_page(waiting, settled(self.db, key, waiting, resumed), subscribers, made)

        logger.info("delivering held alerts", extra={"fields": {"broadcast": key}})
        return self._send(key, lease, pages(), "state/held")

    def _held_page(self, waiting: dict, done: dict, subscribers: dict, made: dict) -> Page:
        """One page of chats holding alerts: each one's morning letter, or its outcome without one."""
        letters: dict[str, Letter] = {}
        decided: dict[str, tuple[str, dict]] = {}
        for chat, entries in waiting.items():
            if chat in done:
                continue
            owed = held.collapse(chat, entries)
            if owed is None or chat not in subscribers:
                paths = owed.paths if owed else tuple(f"held/{chat}/{k}" for k in child_items(entries))
                decided[chat] = ("skipped:damaged" if owed is None else "skipped:unsubscribed", dict.fromkeys(paths))
                continue
            chart = preferences.from_subscription(subscribers[chat]).format == "chart"
            shape = (owed.broadcast, owed.announcement, owed.kind, owed.periods, chart)
            if shape not in made:
                made[shape] = self._held_letter(owed, chart)
            letter = made[shape]
            if letter is None:
                decided[chat] = ("skipped:damaged", dict.fromkeys(owed.paths))
            else:
                letters[chat] = letter._replace(settles=owed.paths)
        return letters, decided

    def _held_letter(self, owed: held.HeldAlert, chart: bool) -> Letter | None:
        """The morning message for one shape of held alerts: the newest announcement as recorded now (a
        correction in the night is in it), under a line naming every period it covers."""
        name = self.settings.source
        try:
            announcement = sources.restore(self.db.get(f"history/{name}/{owed.announcement}") or {})
        except (KeyError, TypeError, ValueError):
            logger.error("a held announcement's record is missing or damaged; its chats are skipped",
                         extra={"fields": {"announcement": owed.announcement}})
            return None
        body = texts.broadcast_text(owed.kind, announcement, self.source)
        end_hour = self.settings.quiet_hours[1] if self.settings.quiet_hours else 8
        text = f"{texts.held_line(owed.periods, end_hour)}\n\n{body}"
        photo = None
        if chart and owed.kind == "alert":
            record = self.db.get(f"broadcasts/{owed.broadcast}")
            photo = self.letters.photo(owed.broadcast, record if isinstance(record, dict) else {}, text)
        return Letter(text, photo)

    # -- admin notices -------------------------------------------------------------------------
    def _health_failed(self, health: dict, exc: SourceError, now: datetime) -> dict:
        streak = int(health.get("streak", 0)) + 1
        failing = bool(health.get("failing"))
        should_fail = exc.kind != "fetch" or streak >= FETCH_FAILURES_BEFORE_NOTICE
        if should_fail and not failing:
            self._notify_admins(texts.source_failing(self.source, f"{exc.kind}: {exc}"))
            failing = True
        since = health.get("since") or now.astimezone(texts.KST).isoformat(timespec="seconds")
        error = f"{exc.kind}: {exc}"[:MAX_STORED_ERROR_CHARS]
        return {"state/health": {"streak": streak, "failing": failing, "since": since, "error": error}}

    def _health_recovered(self, health: dict) -> dict:
        if health.get("failing"):
            self._notify_admins(texts.source_recovered(self.source))
        return {"state/health": None}

    def _notify_admins(self, text: str) -> None:
        for chat_id in self.settings.admin_chat_ids:
            try:
                self.telegram.send_message(chat_id, text)
            except TelegramError as exc:
                logger.error("admin notice not delivered: %s", exc, extra={"fields": {"chat_id": chat_id}})

    @staticmethod
    def _prune_due(state: dict, now: datetime) -> bool:
        return now.timestamp() - float(state.get("pruned_at") or 0) > PRUNE_INTERVAL_SECONDS


_ticker: Ticker | None = None


def handle_request(method: str) -> tuple[int, dict]:
    """The scrape function's HTTP contract: run a tick, answer its JSON summary and a telling status."""
    if method not in ("POST", "GET"):
        return 405, {"error": "use POST"}

    def run() -> tuple[int, dict]:
        global _ticker
        if _ticker is None:
            settings = config.load()
            settings.require_token()  # a misconfigured function says so before it records anything
            settings.require_fanout()
            _ticker = Ticker(settings)
        summary = _ticker.tick()
        return http_status(summary), summary

    return answered("scrape", run)


def http_status(summary: dict) -> int:
    """What a tick's summary answers over HTTP: a failure or an unfinished broadcast is not a 200,
    so Cloud Scheduler shows it and retries."""
    status = HTTP_STATUS[summary["status"]]
    morning = summary.get("morning") or {}
    if status == 200 and (summary.get("pending") or summary.get("unread") or morning.get("pending")
                          or morning.get("unread")):
        return UNFINISHED_STATUS
    return status
