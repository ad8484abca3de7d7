"""The admins' side of a tick: notices to ADMIN_CHAT_IDS, the source's health, and late announcements.

Subscribers never see these. A source that starts failing is told once (a network failure only after
FETCH_FAILURES_BEFORE_NOTICE in a row), and once more when it works again; an announcement later than its
expected window by LATE_NOTICE_HOURS is told once, and once more when it comes.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from coronabot import log, texts
from coronabot.adapters.storage import Database, layout
from coronabot.adapters.telegram import Telegram, TelegramError
from coronabot.model import publication
from coronabot.model.seoul import seoul_time
from coronabot.sources import Source, SourceError
from coronabot.tick.summary import TickSummary

logger = log.get("coronabot.health")

FETCH_FAILURES_BEFORE_NOTICE = 3
MAX_STORED_ERROR_CHARS = 2000


class AdminNotices:
    """Sends a notice to every admin chat; a chat Telegram refuses is logged, never fails the tick."""

    def __init__(self, admin_chat_ids: tuple[int, ...], telegram: Callable[[], Telegram]):
        self.admin_chat_ids, self._telegram = admin_chat_ids, telegram

    def send(self, text: str) -> None:
        for chat_id in self.admin_chat_ids:
            try:
                self._telegram().send_message(chat_id, text)
            except TelegramError as exc:
                logger.error("admin notice not delivered: %s", exc, extra={"fields": {"chat_id": chat_id}})


class SourceHealth:
    """Whether the source works, as ``state/health`` keeps it: ``{streak, failing, since, error}``."""

    def __init__(self, source: Source, notices: AdminNotices):
        self.source, self.notices = source, notices

    def failed(self, health: dict[str, Any], exc: SourceError, now: datetime) -> dict[str, Any]:
        """The state after a failure, the admins told when it starts failing."""
        streak = int(health.get("streak", 0)) + 1
        failing = bool(health.get("failing"))
        if (exc.kind != "fetch" or streak >= FETCH_FAILURES_BEFORE_NOTICE) and not failing:
            self.notices.send(texts.operator.source_failing(self.source, f"{exc.kind}: {exc}"))
            failing = True
        since = health.get("since") or seoul_time(now)
        error = f"{exc.kind}: {exc}"[:MAX_STORED_ERROR_CHARS]
        return {layout.state("health"): {"streak": streak, "failing": failing, "since": since, "error": error}}

    def recovered(self, health: dict[str, Any]) -> dict[str, Any]:
        """The state once the source answers again, the admins told if it was failing."""
        if health.get("failing"):
            self.notices.send(texts.operator.source_recovered(self.source))
        return {layout.state("health"): None}


class LatenessWatch:
    """Tells the admins once when the expected announcement is late, and once more when it comes."""

    def __init__(self, db: Database, source: Source, notices: AdminNotices, late_after: timedelta):
        self.db, self.source, self.notices, self.late_after = db, source, notices, late_after

    def watch(self, notice: object, latest_period: str, summary: TickSummary, timing: publication.Decision,
              now: datetime) -> None:
        """``notice`` is the stored ``state/late_notice/{source}``; ``latest_period`` the last one recorded."""
        name = self.source.name
        open_notice = isinstance(notice, dict) and not notice.get("arrived_at")
        if summary.status == "alerted" and open_notice:
            resolved = self.db.resolve_late_notice(name, seoul_time(now))
            if resolved:
                expected_end = publication.parse_moments([resolved.get("window_end")])
                delay = now - expected_end[0] if expected_end else timedelta(0)
                self.notices.send(texts.operator.late_recovered(self.source, summary.announcement or "",
                                                       publication.lateness(delay)))
        elif summary.status != "alerted" and timing.window is not None \
                and publication.is_late(now, timing, self.late_after):
            window = timing.window
            claim = {"window_start": window.start.isoformat(), "window_end": window.end.isoformat(),
                     "notified_at": seoul_time(now)}
            if self.db.claim_late_notice(name, claim):
                logger.warning("the expected announcement is late; admins told",
                               extra={"fields": {"window": texts.ko.window_text(window)}})
                self.notices.send(texts.operator.late_notice(self.source, texts.ko.window_text(window), latest_period))
