"""A small Realtime Database REST client for the webhook: the part of firebase-admin's ``db.Reference`` the bot
uses, on the standard library's ``http.client`` (already loaded by functions-framework).

Why: firebase-admin's import (requests, google-auth with cryptography, httpx) is 100–200 ms, most of a cold
start that must answer ``/subscribe``. It speaks what firebase-admin speaks (PLATFORM-NOTES): ``/path.json``
with sorted raw-JSON query parameters, ``print=silent`` writes, ``X-Firebase-ETag`` and ``if-match`` (412
with the current value and its ETag), 500 and 503 retried up to four times and a dropped connection once,
``{"error": ...}`` bodies. Answers are not re-sorted (the bot never depends on their order). Against an
emulator it sends ``Authorization: Bearer owner`` and ``ns``; on Cloud Run an OAuth2 access token of the
function's own account from the metadata server, with the Realtime Database scopes, kept until a minute
before it expires. Anywhere else the bot uses firebase-admin (storage.Database decides).

Connections are kept in a small pool shared by every thread, so reads made side by side (``Reads``) and a
connection opened ahead of the first update (``Client.warm``) serve whichever thread asks next. Within one
``Reads`` scope a GET answered once is answered again from memory (any write forgets them): an update reads
what it needs at once, and the code that uses each value reads it as before.
"""

from __future__ import annotations

import contextvars
import http.client
import json
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

from coronabot.errors import DatabaseError

SCOPES = "https://www.googleapis.com/auth/firebase.database,https://www.googleapis.com/auth/userinfo.email"
TOKEN_PATH = "/computeMetadata/v1/instance/service-accounts/default/token"
RETRIED_STATUSES = (500, 503)
MAX_RETRIES = 4
MAX_TRANSACTION_TRIES = 25
_REFUSED_IN_PATHS = set(".$#[]?")


class RequestError(DatabaseError):
    """The database answered an error (``status``) or could not be reached (``status`` 0): a DatabaseError,
    as the bot handles any client's failure."""

    def __init__(self, message: str, status: int = 0):
        super().__init__(message)
        self.status = status


MAX_IDLE_CONNECTIONS = 8
SIDE_BY_SIDE = 4  # reads one update makes at once, at most
READING_THREADS = 16  # shared by the updates a process answers at once (gunicorn's threads)


class _Pool:
    """Idle keep-alive connections to one host, shared by every thread: a connection is used by one request
    at a time, then handed back (the newest first, the likeliest to be alive)."""

    def __init__(self, make: Callable[[], http.client.HTTPConnection]):
        self._make, self._lock = make, threading.Lock()
        self._idle: list[http.client.HTTPConnection] = []

    def take(self, fresh: bool = False) -> http.client.HTTPConnection:
        """An idle connection, or a new one (always with ``fresh``: after one failed, the others may too)."""
        with self._lock:
            if self._idle and not fresh:
                return self._idle.pop()
        return self._make()

    def give_back(self, connection: http.client.HTTPConnection) -> None:
        with self._lock:
            if len(self._idle) < MAX_IDLE_CONNECTIONS:
                self._idle.append(connection)
                return
        connection.close()


class _Answer:
    """One GET of a ``Reads`` scope, made once: its value and ETag, or what it raised, once it is done (a reader
    that asks for it meanwhile waits for it instead of asking again)."""

    def __init__(self, with_etag: bool):
        self.with_etag = with_etag
        self.done = threading.Event()
        self.value: Any = None
        self.tag: str | None = None
        self.error: Exception | None = None

    def result(self) -> tuple[int, Any, str | None]:
        self.done.wait()
        if self.error is not None:
            raise self.error
        return 200, self.value, self.tag


# The GET answers of the ``Reads`` scope the current context is in: request target -> its _Answer.
_remembered: contextvars.ContextVar[dict[str, _Answer] | None] = contextvars.ContextVar("remembered_reads",
                                                                                      default=None)
_side_by_side: ThreadPoolExecutor | None = None
_side_by_side_lock = threading.Lock()


def _forget_executor() -> None:
    """A forked child has none of its parent's threads: it makes its own executor (and lock) when it needs one."""
    global _side_by_side, _side_by_side_lock
    _side_by_side, _side_by_side_lock = None, threading.Lock()


os.register_at_fork(after_in_child=_forget_executor)


def _submit(function: Callable[[Callable[[], Any]], Any], call: Callable[[], Any]) -> Future[Any]:
    """``function(call)`` on a reading thread, in a copy of this context (the update's ``Reads`` scope)."""
    return _executor().submit(contextvars.copy_context().run, function, call)


def _executor() -> ThreadPoolExecutor:
    global _side_by_side
    with _side_by_side_lock:
        if _side_by_side is None:
            _side_by_side = ThreadPoolExecutor(READING_THREADS, thread_name_prefix="rtdb-read")
        return _side_by_side


class Reads:
    """One update's reads: ``start(*reads)`` sends them side by side without waiting (``at_once`` waits for
    them), and the scope remembers each answer until it ends or anything is written, so the code that needs a
    value reads it as usual and gets it without a request (waiting for it if it is still on its way). Never
    kept beyond one update: a figure read here is never older than the database's at the start of the update.
    A scope opened inside another is the same scope."""

    def __enter__(self) -> Reads:
        outer = _remembered.get()
        self._token = _remembered.set(outer if outer is not None else {})
        return self

    def __exit__(self, *exc: object) -> None:
        _remembered.reset(self._token)

    def start(self, *reads: Callable[[], Any]) -> None:
        """Send ``reads`` side by side and go on: the code that reads their values meets their answers (or
        their failures) when it asks."""
        if len(reads) > SIDE_BY_SIDE:
            raise ValueError(f"at most {SIDE_BY_SIDE} reads side by side")
        for read in reads:
            _submit(_quietly, read)

    def at_once(self, *reads: Callable[[], Any]) -> None:
        """Run ``reads`` side by side and wait for them; their failures are remembered, not raised: the code
        that reads the value meets it."""
        for outcome in side_by_side(*reads):
            if isinstance(outcome, Exception) and not isinstance(outcome, RequestError):
                raise outcome


def _quietly(read: Callable[[], Any]) -> None:
    try:
        read()
    except Exception:  # remembered with its request: the code that reads the value meets it
        pass


def side_by_side(*calls: Callable[[], Any]) -> list[Any]:
    """Run ``calls`` at once (the first on this thread, in this context): each one's result, or the exception
    it raised, in order. At most ``SIDE_BY_SIDE``."""
    if len(calls) > SIDE_BY_SIDE:
        raise ValueError(f"at most {SIDE_BY_SIDE} calls side by side")

    def outcome(call: Callable[[], Any]) -> Any:
        try:
            return call()
        except Exception as exc:  # handed to the caller, who decides
            return exc
    futures = [_submit(outcome, call) for call in calls[1:]]
    first = [outcome(calls[0])] if calls else []
    return first + [future.result() for future in futures]


class _MetadataToken:
    """The function's own access token, from the metadata server (``GCE_METADATA_HOST`` overrides the host,
    as Google's client libraries allow), kept until a minute before it expires."""

    def __init__(self, timeout: float):
        self.host = os.environ.get("GCE_METADATA_HOST", "").strip() or "metadata.google.internal"
        self.timeout = timeout
        self._token, self._expires = "", 0.0
        self._lock = threading.Lock()

    def header(self) -> str:
        with self._lock:
            if time.monotonic() >= self._expires:
                self._token, lifetime = self._fetch()
                self._expires = time.monotonic() + max(0.0, lifetime - 60)
            return f"Bearer {self._token}"

    def _fetch(self) -> tuple[str, float]:
        connection = http.client.HTTPConnection(self.host, timeout=self.timeout)
        try:
            connection.request("GET", f"{TOKEN_PATH}?scopes={SCOPES}", headers={"Metadata-Flavor": "Google"})
            response = connection.getresponse()
            body = response.read()
        except (OSError, http.client.HTTPException) as exc:
            raise RequestError(f"the metadata server could not be reached for a token: {exc}") from None
        finally:
            connection.close()
        if response.status != 200:
            raise RequestError(f"the metadata server refused a token: HTTP {response.status}", response.status)
        try:
            answer = json.loads(body)
            return str(answer["access_token"]), float(answer.get("expires_in", 0))
        except (ValueError, KeyError, TypeError):
            raise RequestError("the metadata server answered no token") from None


class Client:
    """Requests to one database: its address, its credentials, one connection per thread."""

    def __init__(self, database_url: str, emulator_host: str = "", timeout: float = 10.0):
        url = urlsplit(database_url)
        self.timeout = timeout
        if emulator_host:
            self._secure, self._host = False, emulator_host
            self._params = {"ns": url.hostname.split(".")[0] if url.hostname else ""}
            self._authorization: Callable[[], str] = lambda: "Bearer owner"
        else:
            if url.scheme != "https" and url.hostname not in ("127.0.0.1", "localhost"):
                raise ValueError(f"the database URL must be https:// (an access token goes with every request): "
                                 f"{database_url!r}")
            self._secure, self._host = url.scheme == "https", url.netloc
            namespace = parse_qs(url.query).get("ns")
            self._params = {"ns": namespace[0]} if namespace else {}
            self._authorization = _MetadataToken(timeout).header
        kind = http.client.HTTPSConnection if self._secure else http.client.HTTPConnection
        self._pool = _Pool(lambda: kind(self._host, timeout=self.timeout))

    def warm(self, connections: int = 2) -> None:
        """Get ready for the first requests: the access token (on Cloud Run) and ``connections`` connections
        opened (TCP and TLS) into the pool. Raises RequestError or OSError when it cannot."""
        self._authorization()
        opened = [self._pool.take() for _ in range(connections)]
        try:
            for connection in opened:
                connection.connect()
        finally:
            for connection in opened:
                self._pool.give_back(connection)

    def request(self, method: str, path: str, params: dict[str, Any] | None = None, body: Any = None,
                headers: dict[str, Any] | None = None, expected: tuple[int, ...] = ()) -> tuple[int, Any, str | None]:
        """(status, decoded body, ETag); a non-2xx status not in ``expected`` raises RequestError. Inside a
        ``Reads`` scope a GET it answered before is answered from memory, and any other method forgets them."""
        query = dict(self._params, **(params or {}))
        target = quote(f"/{path.strip('/')}.json", safe="/") + "?" + "&".join(
            f"{name}={quote(str(value), safe='')}" for name, value in sorted(query.items()))
        remembered = _remembered.get()
        if remembered is None:
            return self._send(method, target, body, headers, expected)
        if method != "GET":
            remembered.clear()
            return self._send(method, target, body, headers, expected)
        with_etag = bool(headers and "X-Firebase-ETag" in headers)
        mine = _Answer(with_etag)
        known = remembered.setdefault(target, mine)
        if known is not mine and (known.with_etag or not with_etag):
            return known.result()  # made (or being made) by another reader of this update
        remembered[target] = mine
        try:
            status, mine.value, mine.tag = self._send(method, target, body, headers, expected)
        except Exception as exc:
            mine.error = exc
            raise
        finally:
            mine.done.set()
        return status, mine.value, mine.tag

    def _send(self, method: str, target: str, body: Any, headers: dict[str, Any] | None,
              expected: tuple[int, ...]) -> tuple[int, Any, str | None]:
        payload = None if body is None else json.dumps(body, separators=(",", ":")).encode()
        sent = {"Authorization": self._authorization(), "User-Agent": "coronabot", **(headers or {})}
        if payload is not None:
            sent["Content-Type"] = "application/json"
        retries = dropped = 0
        while True:
            connection = self._pool.take(fresh=dropped > 0)
            try:
                connection.request(method, target, body=payload, headers=sent)
                response = connection.getresponse()
                raw = response.read()
            except (OSError, http.client.HTTPException) as exc:
                connection.close()
                if dropped < 1:
                    dropped += 1
                    continue
                raise RequestError(f"the database could not be reached: {type(exc).__name__}: {exc}") from None
            self._pool.give_back(connection)
            if response.status in RETRIED_STATUSES and retries < MAX_RETRIES:
                retries += 1
                time.sleep(0.1 * 2 ** (retries - 1))
                continue
            try:
                value = json.loads(raw) if raw else None
            except ValueError:
                raise RequestError(f"HTTP {response.status}: an answer that is not JSON: {raw[:200]!r}",
                                   response.status) from None
            if not (200 <= response.status < 300 or response.status in expected):
                message = value.get("error") if isinstance(value, dict) else None
                raise RequestError(f"HTTP {response.status}: {message or raw[:200]!r}", response.status)
            return response.status, value, response.getheader("ETag")


def _checked(path: str) -> str:
    """The path as firebase-admin accepts it (it refuses ``. $ # [ ] ?`` client-side, with ValueError)."""
    if _REFUSED_IN_PATHS & set(path):
        raise ValueError(f"invalid path: {path!r}")
    return "/" + "/".join(part for part in path.split("/") if part)


class Reference:
    """A location in the database, or a query on it (``order_by_*`` and filters), as firebase-admin's."""

    def __init__(self, client: Client, path: str, params: dict[str, Any] | None = None):
        self._client, self.path, self._params = client, _checked(path), dict(params or {})

    # reads and writes -------------------------------------------------------------------------
    def get(self, etag: bool = False, shallow: bool = False) -> Any:
        """The value (with ``etag``: the value and its ETag; ``shallow``: children as ``true``)."""
        params = dict(self._params, **({"shallow": "true"} if shallow else {}))
        _, value, tag = self._client.request("GET", self.path, params,
                                             headers={"X-Firebase-ETag": "true"} if etag else None)
        return (value, tag) if etag else value

    def set_if_unchanged(self, expected_etag: str, value: Any) -> tuple[bool, Any, str | None]:
        """Write ``value`` only if the ETag is still ``expected_etag``: (written, value now, its ETag)."""
        if not isinstance(expected_etag, str):
            raise ValueError("Expected ETag must be a string.")
        if value is None:
            raise ValueError("Value must not be none.")
        status, current, tag = self._client.request(
            "PUT", self.path, body=value, headers={"if-match": expected_etag, "X-Firebase-ETag": "true"},
            expected=(412,))
        return (True, value, tag) if status != 412 else (False, current, tag)

    def update(self, value: dict[str, Any]) -> None:
        """One multi-path write of ``value`` (``{"a/b": 1, "c": None}``) below this location."""
        if not value or not isinstance(value, dict):
            raise ValueError("Value argument must be a non-empty dictionary.")
        self._client.request("PATCH", self.path, {"print": "silent"}, body=value)

    def transaction(self, transaction_update: Callable[[Any], Any]) -> Any:
        """Read, compute with ``transaction_update``, write if nothing changed meanwhile; retried on a
        conflict as firebase-admin does (25 times). What the function raises comes through."""
        value, tag = self.get(etag=True)
        for _ in range(MAX_TRANSACTION_TRIES):
            new = transaction_update(value)
            written, value, tag = self.set_if_unchanged(tag, new)
            if written:
                return new
        raise RequestError("Transaction aborted after failed retries.", 409)

    # queries ----------------------------------------------------------------------------------
    def _query(self, **params: Any) -> Reference:
        encoded = {name: json.dumps(value) if name in ("orderBy", "startAt", "endAt", "equalTo") else value
                   for name, value in params.items()}
        return Reference(self._client, self.path, dict(self._params, **encoded))

    def order_by_key(self) -> Reference:
        return self._query(orderBy="$key")

    def order_by_child(self, path: str) -> Reference:
        return self._query(orderBy=_checked(path).strip("/"))

    def start_at(self, value: Any) -> Reference:
        return self._query(startAt=value)

    def end_at(self, value: Any) -> Reference:
        return self._query(endAt=value)

    def limit_to_first(self, limit: int) -> Reference:
        return self._query(limitToFirst=int(limit))

    def limit_to_last(self, limit: int) -> Reference:
        return self._query(limitToLast=int(limit))
