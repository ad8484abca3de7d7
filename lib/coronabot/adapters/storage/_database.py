"""All Realtime Database access: through firebase-admin's ``db`` module, or in the webhook through the REST
client ``_rtdb.py`` (the same reference interface, without firebase-admin's imports).

The layout is described in one place, docs/architecture.md ("Realtime Database layout"), and spelt in one,
``storage/layout.py``: no other module writes a path.

Chat ids are string keys (a negative or large integer). Realtime Database still returns a collection
whose keys are all small integers as a JSON array, so every read of a collection goes through
:func:`child_keys`, which takes either shape.
"""

from __future__ import annotations

import os
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from coronabot.config import Settings
from coronabot.errors import AlreadyDone, Busy, DatabaseError

from . import layout
from ._housekeeping import Housekeeping
from ._migrations import Migrations
from ._records import child_items, key_span
from ._subscriptions import Subscriptions

APP_NAME = "coronabot"
PAGE_SIZE = 500  # subscribers per read when a broadcast goes through them

_init_lock = threading.Lock()


def load_admin_sdk() -> None:
    """Import firebase-admin now. The scrape and deliver functions call this at start, on the main thread,
    since every call of theirs needs the database: imported on a request's thread instead, its objects land
    in that thread's malloc arena and a deliver worker's peak RSS was 7 MiB higher (51 against 44 MiB)."""
    import firebase_admin.db  # noqa: F401


def _app(database_url: str) -> Any:
    """The firebase-admin app (its import is most of a cold start: the webhook avoids it where it can)."""
    import firebase_admin

    with _init_lock:
        try:
            return firebase_admin.get_app(APP_NAME)
        except ValueError:
            return firebase_admin.initialize_app(
                options={"databaseURL": database_url, "httpTimeout": 10}, name=APP_NAME)


class _Guarded:
    """A firebase-admin reference or query whose errors are DatabaseError (the REST client raises it itself);
    the rest passes through (what a transaction's function raises, ValueError for a value refused
    client-side)."""

    def __init__(self, target: Any):
        self._target = target

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._target, name)
        if not callable(attribute):
            return attribute

        def call(*args: Any, **kwargs: Any) -> Any:
            from firebase_admin import db, exceptions

            try:
                result = attribute(*args, **kwargs)
            except exceptions.FirebaseError as exc:
                raise DatabaseError(str(exc)) from exc
            return _Guarded(result) if isinstance(result, (db.Reference, db.Query)) else result
        return call


class _NoReadsAhead:
    """``Database.reads`` through firebase-admin: every value is read where it is used."""

    def __enter__(self) -> _NoReadsAhead:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def at_once(self, *reads: Any) -> None:
        return None


def light_client_available(settings: Settings) -> bool:
    """Whether the REST client can reach the database without firebase-admin: against an emulator, or on
    Cloud Run (``K_SERVICE``), whose metadata server gives the function's own access token."""
    return bool(settings.emulator_host or os.environ.get("K_SERVICE"))


class Database(Subscriptions, Housekeeping, Migrations):
    """The bot's data; every method is one or two requests, named for what it changes.

    ``light`` (the webhook) talks REST through ``_rtdb.py`` where it can (``light_client_available``), without
    loading firebase-admin; otherwise, and by default, through firebase-admin's ``db`` module."""

    def __init__(self, settings: Settings, light: bool = False):
        url = settings.require_database_url()
        self._rest = None
        if light and light_client_available(settings):
            from . import _rtdb

            self._rest = _rtdb.Client(url, settings.emulator_host)
        else:
            self._app = _app(url)

    def reads(self) -> Any:
        """The scope of one update's reads (``with db.reads() as reads: reads.at_once(...)``): made side by
        side and remembered until the scope ends or something is written (the REST client's ``Reads``);
        through firebase-admin, a scope that reads nothing ahead (each value is read where it is used)."""
        if self._rest is not None:
            from . import _rtdb

            return _rtdb.Reads()
        return _NoReadsAhead()

    def together(self, *calls: Any) -> list[Any]:
        """Run independent calls (writes) at once through the REST client, one after the other otherwise;
        their results in order, the first exception raised once all are done."""
        if self._rest is not None:
            from . import _rtdb

            outcomes = _rtdb.side_by_side(*calls)
        else:
            outcomes = []
            for call in calls:
                try:
                    outcomes.append(call())
                except Exception as exc:  # raised below, once every call ran
                    outcomes.append(exc)
        for outcome in outcomes:
            if isinstance(outcome, Exception):
                raise outcome
        return outcomes

    def warm(self) -> None:
        """Open what the first requests need (the REST client's token and connections) ahead of them."""
        if self._rest is not None:
            self._rest.warm()

    def ref(self, path: str = "/") -> Any:
        """A reference to ``path`` (firebase-admin's ``db.Reference`` interface), raising DatabaseError."""
        if self._rest is not None:
            from . import _rtdb

            return _rtdb.Reference(self._rest, path)
        from firebase_admin import db

        return _Guarded(db.reference(path, app=self._app))

    def pages(self, path: str, size: int = PAGE_SIZE, after: str | None = None,
              until: str | None = None) -> Iterator[dict[str, Any]]:
        """The children of ``path`` in key order, ``size`` at a time (``orderBy="$key"``, ``startAt`` the last
        key seen, ``limitToFirst``): a reader holds one page, however many there are. A child added behind
        the reader is not seen, one added ahead of it is, one removed before its page is read is not.
        ``after`` and ``until`` bound the keys read (a chunk of a fanned-out broadcast): strictly after
        ``after``, up to ``until`` included."""
        cursor = after
        while True:
            query = self.ref(path).order_by_key()
            if cursor is not None:
                query = query.start_at(cursor)
            if until is not None:
                query = query.end_at(until)
            page = child_items(query.limit_to_first(size + (cursor is not None)).get())
            if cursor is not None:
                page.pop(cursor, None)
            if not page:
                return
            yield page
            if len(page) < size:
                return
            cursor = key_span(page)[1]

    def key_range(self, path: str, first: str, last: str) -> dict[str, Any]:
        """The children of ``path`` whose keys lie from ``first`` to ``last`` (one key-ordered query)."""
        found: dict[str, Any] = child_items(self.ref(path).order_by_key().start_at(first).end_at(last).get())
        return found

    # state -------------------------------------------------------------------
    def latest(self) -> dict[str, Any] | None:
        """The newest recorded announcement, as stored."""
        value = self.ref(layout.state("latest")).get()
        return value if isinstance(value, dict) else None

    def state(self) -> dict[str, Any]:
        """Everything a scrape tick needs to decide, in one read."""
        value = self.ref(layout.STATE).get()
        return value if isinstance(value, dict) else {}

    def history_window(self, source: str, periods: int) -> dict[str, Any]:
        """The newest ``periods`` history records of a source (ids sort in time), in one key-ordered query."""
        value = self.ref(layout.history(source)).order_by_key().limit_to_last(periods).get()
        return value if isinstance(value, dict) else {}

    def chart(self, source: str, lang: str = "ko") -> dict[str, Any] | None:
        """The newest chart drawn in ``lang`` (``file_id``, ``announcement``, ``period``), or None before the first."""
        value = self.ref(layout.chart(source, lang)).get()
        return value if isinstance(value, dict) and isinstance(value.get("file_id"), str) else None

    def update(self, changes: dict[str, Any]) -> None:
        """One multi-path write from the root: {"a/b": value, "c": None (delete)}."""
        if changes:
            self.ref("/").update(changes)

    def get(self, path: str) -> Any:
        return self.ref(path).get()

    # broadcasts --------------------------------------------------------------
    def claim(self, path: str, owner: str, lease_seconds: float, meta: dict[str, Any] | None = None) -> dict[str, Any]:
        """Take the lease of the work at ``path`` (``{lease: {owner, expires}, attempts, done}``) in a
        transaction, ``meta`` filling what is not stored yet; raises Busy or AlreadyDone."""
        now = time.time()
        meta = meta or {}
        key = path.rsplit("/", 1)[-1]

        def take(current: object) -> dict[str, Any]:
            current = current if isinstance(current, dict) else {}
            if current.get("done"):
                raise AlreadyDone(key)
            lease = current.get("lease") or {}
            if lease.get("owner") not in (None, owner) and float(lease.get("expires", 0)) > now:
                raise Busy(key)
            taken = dict(meta, **{k: v for k, v in current.items() if k != "lease"})
            taken["lease"] = {"owner": owner, "expires": now + lease_seconds}
            taken["attempts"] = int(current.get("attempts", 0)) + 1
            return taken

        claimed: dict[str, Any] = self.ref(path).transaction(take)
        return claimed

    def clear_marker(self, path: str, key: str) -> bool:
        """Clear the marker at ``path`` (``{"key": ...}``, such as ``state/broadcast``) if it still names
        ``key``, in a transaction, so a newer broadcast's marker stays; True when it was cleared. A
        transaction cannot delete, so the marker becomes ``false``, which every reader takes as none."""
        def take(current: object) -> bool:
            if not isinstance(current, dict) or current.get("key") != key:
                raise AlreadyDone(key)
            return False

        try:
            self.ref(path).transaction(take)
        except AlreadyDone:
            return False
        return True

    def lease_owner(self, path: str) -> str | None:
        """Who holds the lease at ``path`` (``broadcasts/{key}/lease``, a chunk's lease), or None."""
        lease = self.ref(path).get()
        return lease.get("owner") if isinstance(lease, dict) else None

def new_owner_id() -> str:
    """A unique id for this run, used as the broadcast lease owner."""
    return uuid.uuid4().hex[:12]


@dataclass(frozen=True)
class Lease:
    """One run's hold on a piece of work (a broadcast, a fanned-out chunk, a chart's upload): the work's record
    at ``work`` keeps ``lease: {owner, expires}`` and how many runs claimed it. Claimed in a transaction,
    renewed with the run's writes (so a run that dies lets the next one in after ``seconds``), released when
    the run ends or stops."""

    work: str
    seconds: float
    owner: str = field(default_factory=new_owner_id)

    @property
    def path(self) -> str:
        return f"{self.work}/lease"  # the lease record inside the work's own record

    def claim(self, db: Database, meta: dict[str, Any] | None = None) -> dict[str, Any]:
        """Take the lease (``meta`` fills what the work's record lacks); the record; raises Busy or AlreadyDone."""
        return db.claim(self.work, self.owner, self.seconds, meta)

    def renewal(self) -> dict[str, float]:
        """The change that keeps the lease for another ``seconds``, to write with the run's next write."""
        return {f"{self.path}/expires": time.time() + self.seconds}

    def release(self) -> dict[str, None]:
        """The change that lets the next run in at once."""
        return {self.path: None}

    def still_ours(self, db: Database) -> bool:
        """Whether no other run took the lease over (it expired while this one stalled); one read."""
        return db.lease_owner(self.path) == self.owner
