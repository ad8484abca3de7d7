"""History for a tick: the earlier periods the source shows, stored or revised without alerting anyone, the
first year fetched in one request (the backfill), and the daily housekeeping."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from coronabot import log
from coronabot.adapters.storage import LANGUAGES_MIGRATION as LANGUAGES
from coronabot.adapters.storage import Database, TickState, history_changes, layout
from coronabot.config import Settings
from coronabot.errors import DatabaseError
from coronabot.model import history, publication
from coronabot.model.announcement import Announcement
from coronabot.model.seoul import seoul_time
from coronabot.sources import Source

logger = log.get("coronabot.scrape")

PRUNE_INTERVAL_SECONDS = 24 * 3600
MIGRATION_PAGES = 40  # subscribers' pages a tick migrates at most (20,000 chats); the next tick goes on
BACKFILL_RETRY = timedelta(hours=24)  # after a failed backfill, ticks ask for the usual few weeks meanwhile


class HistoryRecorder:
    def __init__(self, db: Database, source: Source, settings: Settings):
        self.db, self.source, self.settings = db, source, settings

    def backfill_due(self, state: TickState, now: datetime) -> int:
        """How many weeks this tick asks for to fill history: BACKFILL_WEEKS until a backfill succeeded
        (again a day after one failed), else 0 (the source's usual few weeks)."""
        if not self.settings.backfill_weeks or not self.source.has_series or state.backfill.get("at"):
            return 0
        failed = publication.parse_moments([state.backfill.get("failed_at")])
        if failed and now - failed[0] < BACKFILL_RETRY:
            return 0
        return self.settings.backfill_weeks

    def changes(self, state: TickState, earlier: list[Announcement], backfill: int, now: datetime) -> dict[str, Any]:
        """Store the earlier periods the source showed when they are new or revised (a fingerprint in the
        state tells, so an unchanged answer writes nothing), and mark a backfill done. Never alerts."""
        at = seoul_time(now)
        changes: dict[str, Any] = {}
        digest = history.series_digest(earlier)
        if earlier and digest != state.history_digest:
            changes.update(history_changes(earlier, at))
            changes[layout.state("history_digest", self.source.name)] = digest
        if backfill:
            changes.update(self.backfilled(backfill, len(earlier) + 1, at))
        return changes

    def backfill_failed(self, error: str, now: datetime) -> dict[str, Any]:
        """The mark that makes ticks wait a day before asking for the whole year again."""
        return {layout.state("backfill", self.source.name): {"failed_at": seoul_time(now), "error": error}}

    def backfilled(self, weeks: int, periods: int, at: str) -> dict[str, Any]:
        """The mark that the past weeks are stored (so later ticks ask for the usual few), logged."""
        name = self.source.name
        logger.info("history backfilled", extra={"fields": {"source": name, "weeks": weeks, "periods": periods}})
        return {layout.state("backfill", name): {"at": at, "weeks": weeks, "periods": periods}}

    def store(self, periods: list[Announcement], cache: dict[str, Any], weeks: int, now: datetime) -> None:
        """``python -m coronabot backfill``: the periods fetched, the source's cache and the mark, one write."""
        at = seoul_time(now)
        changes = history_changes(periods, at)
        changes[layout.state("source_cache", self.source.name)] = cache
        changes.update(self.backfilled(weeks, len(periods), at))
        self.db.update(changes)

    def migrate(self, state: TickState, now: datetime) -> None:
        """Give every subscriber of before languages Korean, once (``storage.Migrations``): the first calls
        after a deploy do it, a bounded number of pages each, so no answer ever has to ask whether a chat
        subscribed before languages existed. A failure is logged and tried again by the next call."""
        progress = state.migrations.get(LANGUAGES)
        progress = progress if isinstance(progress, dict) else {}
        if progress.get("done_at"):
            return
        try:
            done, marked = self.db.mark_languages(progress.get("after"), MIGRATION_PAGES, seoul_time(now))
        except DatabaseError as exc:
            logger.error("the languages' migration failed; the next call goes on: %s", exc)
            return
        logger.info("languages migrated" if done else "languages' migration goes on at the next call",
                    extra={"fields": {"chats_marked": marked}})

    @staticmethod
    def prune_due(state: TickState, now: datetime) -> bool:
        return now.timestamp() - state.pruned_at > PRUNE_INTERVAL_SECONDS

    def prune(self, now: datetime) -> dict[str, Any]:
        """Housekeeping never fails a tick: a failure is logged and tried again the next day. The mark."""
        try:
            removed = self.db.prune(now.timestamp())
        except DatabaseError as exc:
            logger.error("pruning old data failed; trying again in a day: %s", exc)
        else:
            if removed:
                logger.info("pruned %d old records", removed)
        return {layout.state("pruned_at"): now.timestamp()}
