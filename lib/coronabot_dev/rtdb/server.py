"""A local Firebase Realtime Database server speaking the REST protocol: its HTTP side.

Development tool: it serves what the firebase-admin client sends (see
docs/testing.md), so the product talks to it exactly as to Google's emulator, through
``FIREBASE_DATABASE_EMULATOR_HOST``. Data lives in memory per namespace (``store``) and is
optionally persisted to a JSON file. Given the rules file (``--rules``, see ``rules``), queries
that order by a child or by value need the ``.indexOn`` it declares, as the
production REST API requires, and its ``true``/``false`` ``.read``/``.write`` rules are enforced for
every request that is not an admin's: admin requests (``Authorization: Bearer owner``, what
the Admin SDK sends to an emulator) bypass them unless they carry ``auth_variable_override``.
``GET``/``PUT /.settings/rules.json`` read and replace the rules, as tooling does.

Also served as production does: server values (``{".sv": "timestamp"}``,
``{".sv": {"increment": n}}``), ``Accept: text/event-stream`` (what firebase-admin's
``listen()`` sends: an initial ``put`` event, then ``put``/``patch`` events for every
change below or above the listened path, and ``keep-alive`` events), and the limits
of keys (768 bytes, none of ``. $ # [ ] /`` or control characters) and of nesting
(32 levels, path included).

Besides the database paths it answers two control paths that can never clash
with a database path (they contain no ``.json``):
``GET /__emulator/stats`` (request counts per method), ``GET /__emulator/work`` (how many ETags it
computed: only for requests that ask for one) and ``POST /__emulator/reset`` (drop all data and counters).
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import sys
import time
from urllib.parse import unquote

from .loopback import LoopbackHandler, LoopbackServer
from .rules import PermissionDenied, Rules
from .store import Store
from .stream import EventStream
from .values import MAX_DEPTH, BadRequest, check_key, normalize, render, resolve_server_values, run_query

MAX_BODY_BYTES = 16 * 1024 * 1024
DEFAULT_NAMESPACE = "coronabot-local-default-rtdb"


def parse_query(raw: str) -> dict:
    """Split on & and percent-decode without turning + into a space."""
    params = {}
    for part in raw.split("&"):
        if not part:
            continue
        name, _, value = part.partition("=")
        params[unquote(name)] = unquote(value)
    return params


JSON_PARAMS = ("orderBy", "startAt", "endAt", "equalTo", "limitToFirst", "limitToLast")


class Handler(EventStream, LoopbackHandler):
    server_version = "coronabot-rtdb-emulator"
    verbose_env = "RTDB_EMULATOR_VERBOSE"
    store: Store
    rules: Rules

    def _error(self, status: int, message: str, headers: dict | None = None):
        self.send_json(status, {"error": message}, headers)

    def _read_body(self) -> bytes:
        raw_length = (self.headers.get("Content-Length") or "0").strip()
        if not raw_length.isdigit():
            self.close_connection = True
            raise BadRequest(f"Invalid Content-Length {raw_length[:20]!r}")
        length = int(raw_length)
        if length > MAX_BODY_BYTES:
            self.close_connection = True
            raise BadRequest("Request body too large")
        return self.rfile.read(length) if length else b""

    def _is_admin(self, params: dict) -> bool:
        """``Bearer owner`` is the admin, whom the rules do not bind, unless it passes
        ``auth_variable_override`` (a user's identity: the rules then apply, as to anyone else)."""
        if self.headers.get("Authorization", "").strip() != "Bearer owner":
            return False
        if "auth_variable_override" not in params:
            return True
        try:
            json.loads(params["auth_variable_override"])
        except ValueError:
            raise BadRequest("auth_variable_override must be JSON") from None
        return False

    def _require(self, kind: str, path: list[str], admin: bool) -> None:
        if not admin and not self.rules.allows(kind, path):
            raise PermissionDenied()

    def route(self, method: str):
        try:
            raw_path, _, raw_query = self.path.partition("?")
            body = self._read_body() if method in ("PUT", "PATCH", "POST") else b""
            if raw_path.startswith("/__emulator/"):
                return self._control(method, raw_path)
            params = parse_query(raw_query)
            if raw_path == "/.settings/rules.json":
                return self._settings(method, params, body)
            if not raw_path.endswith(".json"):
                return self._error(404, "Not found: paths end with .json")
            for name in JSON_PARAMS:
                if name in params:
                    try:
                        params[name] = json.loads(params[name])
                    except (ValueError, RecursionError):
                        raise BadRequest(f"{name} must be a valid JSON value") from None
            path = [unquote(p) for p in raw_path[: -len(".json")].split("/") if p]
            for key in path:
                check_key(key)
            ns = params.get("ns") or DEFAULT_NAMESPACE
            admin = self._is_admin(params)
            value = None
            if method in ("PUT", "PATCH", "POST"):
                try:
                    value = json.loads(body.decode("utf-8")) if body else None
                except RecursionError:
                    raise BadRequest(f"Data nested too deeply: more than {MAX_DEPTH} levels") from None
                except (ValueError, UnicodeDecodeError):
                    raise BadRequest("Invalid data; couldn't parse JSON object, array, or value.") from None
            if method == "GET" and "text/event-stream" in (self.headers.get("Accept") or ""):
                self._require(".read", path, admin)
                return self._stream(ns, path)
            with self.store.lock:
                self.store.count(method)
                self._handle(method, ns, path, params, value, admin)
        except BadRequest as exc:
            self._error(400, str(exc))
        except PermissionDenied:
            self._error(401, "Permission denied")
        except (ConnectionError, TimeoutError):
            pass

    def _handle(self, method, ns, path, params, value, admin):
        store = self.store
        silent = params.get("print") == "silent"
        if method == "GET":
            self._require(".read", path, admin)
        elif method != "PATCH":
            self._require(".write", path, admin)
        current = store.get(ns, path)
        if_match = self.headers.get("if-match")
        if_none_match = self.headers.get("if-none-match") if method == "GET" else None
        asks_etag = (self.headers.get("X-Firebase-ETag") or "").lower() == "true"
        # An ETag is the hash of the whole addressed value: computed only for a request that uses one.
        current_etag = store.etag(current) if if_match is not None or if_none_match is not None or asks_etag else ""
        if if_match is not None and method != "GET" and if_match != current_etag:
            return self.send_json(412, render(current), {"ETag": current_etag})
        headers = {}
        if method == "GET":
            if if_none_match == current_etag and if_none_match is not None:
                return self.send_json(304, headers={"ETag": current_etag})
            if if_none_match is not None or asks_etag:
                headers["ETag"] = current_etag
            return self.send_json(200, render(self._query(path, current, params)), headers)
        now_ms = int(time.time() * 1000)
        if method == "PUT":
            store.set(ns, path, resolve_server_values(value, current, now_ms))
            store.published(ns, path)
            result = store.get(ns, path)
        elif method == "PATCH":
            result = self._multi_path(ns, path, value, admin, now_ms)
        elif method == "POST":
            key = store.push_key()
            store.set(ns, [*path, key], resolve_server_values(value, None, now_ms))
            store.published(ns, [*path, key])
            result = {"name": key}
        else:
            store.set(ns, path, None)
            store.published(ns, path)
            result = None
        if if_match is not None:
            headers["ETag"] = store.etag(store.get(ns, path))
        if silent:
            return self.send_json(204, headers=headers)
        return self.send_json(200, render(result), headers)

    def _query(self, path: list[str], current: object, params: dict) -> object:
        """A GET's answer: the value, or what its query (orderBy and the rest, shallow) selects of it."""
        if isinstance(params.get("orderBy"), str):
            self.rules.require_index(path, params["orderBy"])
        result = run_query(current, params)
        if params.get("shallow") == "true":
            if any(name in params for name in JSON_PARAMS):
                raise BadRequest("shallow cannot be combined with query parameters")
            if isinstance(result, dict):
                result = {k: True for k in result}
        return result

    def _multi_path(self, ns: str, path: list[str], value: object, admin: bool, now_ms: int) -> dict:
        """A PATCH: every path it names written at once (each allowed by the rules, none inside another)."""
        if not isinstance(value, dict):
            raise BadRequest("Invalid data; PATCH expects an object")
        updates = []
        for key, child in value.items():
            sub = [p for p in key.split("/") if p]
            if not sub:
                raise BadRequest("Invalid multi-path key: empty path")
            for part in sub:
                check_key(part)
            self._require(".write", path + sub, admin)
            updates.append((sub, resolve_server_values(child, self.store.get(ns, path + sub), now_ms)))
        paths = sorted(tuple(sub) for sub, _ in updates)
        for a, b in itertools.pairwise(paths):
            if b[: len(a)] == a:
                raise BadRequest(f"Path {'/'.join(b)} is an ancestor or duplicate of another path in the update")
        for sub, child in updates:
            normalize(child, len(path) + len(sub))
        for sub, child in updates:
            self.store.set(ns, path + sub, child)
        self.store.published(ns, path, [sub for sub, _ in updates])
        return {"/".join(sub): child for sub, child in updates}

    def _settings(self, method: str, params: dict, body: bytes) -> None:
        """``/.settings/rules.json``: read or replace the rules (admins only, as in production)."""
        admin = self._is_admin(params)
        if not admin:
            raise PermissionDenied()
        if method == "GET":
            return self.send_json(200, self.rules.document if self.rules.document is not None else
                                  {"rules": {".read": True, ".write": True}})
        if method != "PUT":
            return self._error(405, "Use GET or PUT")
        try:
            document = json.loads(body.decode("utf-8"))
        except (ValueError, UnicodeDecodeError, RecursionError):
            raise BadRequest("Rules are not valid JSON") from None
        if not isinstance(document, dict) or not isinstance(document.get("rules"), dict):
            raise BadRequest('Rules must be an object with a "rules" object')
        rules = Rules(document)
        if rules.unsupported:
            raise BadRequest("Rules this emulator cannot evaluate: " + "; ".join(rules.unsupported))
        type(self).rules = rules
        self.send_json(200, {"status": "ok"})

    def _control(self, method, raw_path):
        name = raw_path[len("/__emulator/"):]
        with self.store.lock:
            if name == "stats" and method == "GET":
                return self.send_json(200, dict(self.store.counts))
            if name == "work" and method == "GET":
                return self.send_json(200, {"etags": self.store.etags})
            if name == "reset" and method == "POST":
                self.store.reset()
                return self.send_json(200, {"ok": True})
        self._error(404, "Unknown control path")


class DatabaseServer(LoopbackServer):
    """The server, with the data it serves."""

    store: Store


def make_server(host: str, port: int, data_file: str | None = None, rules: Rules | None = None) -> DatabaseServer:
    store = Store(data_file)
    handler = type("BoundHandler", (Handler,), {"store": store, "rules": rules or Rules(None)})
    server = DatabaseServer((host, port), handler)
    server.store = store
    return server


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=int(os.environ.get("RTDB_PORT", "9000")))
    parser.add_argument("--data", default=os.environ.get("RTDB_DATA_FILE") or None,
                        help="JSON file to load at start and persist to (default: memory only)")
    parser.add_argument("--rules", default=None,
                        help="database rules JSON, enforced as in production: the .indexOn declarations queries "
                             "need and the .read/.write rules (default: none, every query and request allowed)")
    args = parser.parse_args(argv)
    try:
        rules = Rules.load(args.rules)
    except (OSError, ValueError) as exc:
        parser.error(f"cannot read the rules file {args.rules}: {exc}")
    if rules.unsupported:
        parser.error(f"rules this emulator cannot evaluate in {args.rules}: " + "; ".join(rules.unsupported))
    server = make_server(args.host, args.port, args.data, rules)
    server.run("Realtime Database emulator", persist=args.data)
    server.store.flush()
    return 0


if __name__ == "__main__":  # python -m coronabot_dev.rtdb (its __main__) is the usual way
    sys.exit(main())
