"""A local Firebase Realtime Database server speaking the REST protocol.

Development tool: it serves what the firebase-admin client sends (see the
README), so the product talks to it exactly as to Google's emulator, through
``FIREBASE_DATABASE_EMULATOR_HOST``. Data lives in memory per namespace and is
optionally persisted to a JSON file. Given the rules file (``--rules``), queries
that order by a child or by value need the ``.indexOn`` it declares, as the
production REST API requires; read and write rules are not enforced (the Admin
SDK bypasses them).

Besides the database paths it answers two control paths that can never clash
with a database path (they contain no ``.json``):
``GET /__emulator/stats`` (request counts per method) and
``POST /__emulator/reset`` (drop all data and counters).
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import itertools
import json
import os
import random
import sys
import threading
import time
from urllib.parse import unquote

from harness import LoopbackHandler, LoopbackServer

MAX_BODY_BYTES = 16 * 1024 * 1024
FORBIDDEN_KEY_CHARS = set(".$#[]")
PUSH_CHARS = "-0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz"  # pragma: allowlist secret
DEFAULT_NAMESPACE = "coronabot-local-default-rtdb"


class BadRequest(Exception):
    """A request the real server would refuse with 400."""


# ---------------------------------------------------------------- values ---

def normalize(value):
    """Store form: arrays become objects, empty objects and nulls vanish."""
    if isinstance(value, list):
        value = {str(i): v for i, v in enumerate(value)}
    if isinstance(value, dict):
        out = {}
        for key, child in value.items():
            check_key(key)
            child = normalize(child)
            if child is not None:
                out[key] = child
        return out or None
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    return value


def render(value):
    """Wire form: objects whose keys are mostly small integers become arrays."""
    if not isinstance(value, dict):
        return value
    rendered = {k: render(v) for k, v in value.items()}
    if all(k.isdigit() and (k == "0" or not k.startswith("0")) for k in rendered):
        indexes = [int(k) for k in rendered]
        top = max(indexes)
        if len(indexes) * 2 > top + 1:
            return [rendered.get(str(i)) for i in range(top + 1)]
    return rendered


def check_key(key: str) -> None:
    if not isinstance(key, str) or not key:
        raise BadRequest("Invalid key: keys must be non-empty strings")
    if any(c in FORBIDDEN_KEY_CHARS or ord(c) < 32 or c == "\x7f" for c in key):
        raise BadRequest(f"Invalid key: {key!r} contains . $ # [ ] or a control character")
    if len(key.encode("utf-8")) > 768:
        raise BadRequest("Invalid key: longer than 768 bytes")


def etag_of(value) -> str:
    canonical = json.dumps(render(value), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return base64.b64encode(hashlib.sha1(canonical.encode("utf-8")).digest()).decode("ascii")


# --------------------------------------------------------------- ordering ---

def _type_rank(value) -> int:
    if value is None:
        return 0
    if value is False:
        return 1
    if value is True:
        return 2
    if isinstance(value, (int, float)):
        return 3
    if isinstance(value, str):
        return 4
    return 5


def value_sort_key(value):
    rank = _type_rank(value)
    if rank in (3, 4):
        return (rank, value)
    return (rank, 0)


def key_sort_key(key: str):
    try:
        number = int(key)
        if -(2**31) <= number < 2**31 and str(number) == key:
            return (0, number, "")
    except ValueError:
        pass
    return (1, 0, key)


def child_at(value, path: list[str]):
    for part in path:
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def run_query(value, params: dict):
    order_by = params.get("orderBy")
    filters = [p for p in ("startAt", "endAt", "equalTo", "limitToFirst", "limitToLast") if p in params]
    if order_by is None:
        if filters:
            raise BadRequest("orderBy must be defined when other query parameters are defined")
        return value
    if not isinstance(order_by, str):
        raise BadRequest("orderBy must be a string")
    if "limitToFirst" in params and "limitToLast" in params:
        raise BadRequest("Can't use both limitToFirst and limitToLast")
    if "equalTo" in params and ("startAt" in params or "endAt" in params):
        raise BadRequest("Can't use equalTo with startAt or endAt")
    if not isinstance(value, dict):
        return None if filters else value

    if order_by == "$key":
        def sort_key(item):
            return key_sort_key(item[0])

        def compared(item):
            return key_sort_key(item[0])

        def bound(param):
            if not isinstance(param, str):
                raise BadRequest("orderBy $key requires string bounds")
            return key_sort_key(param)
    elif order_by == "$priority":
        raise BadRequest("orderBy $priority is not supported by this emulator")
    else:
        if order_by == "$value":
            def picked(item):
                return item[1]
        else:
            child_path = [p for p in order_by.split("/") if p]
            if not child_path:
                raise BadRequest("orderBy child path is empty")

            def picked(item):
                return child_at(item[1], child_path)

        def sort_key(item):
            return (value_sort_key(picked(item)), key_sort_key(item[0]))

        def compared(item):
            return value_sort_key(picked(item))

        def bound(param):
            return value_sort_key(param)

    items = sorted(value.items(), key=sort_key)
    if "equalTo" in params:
        target = bound(params["equalTo"])
        items = [i for i in items if compared(i) == target]
    if "startAt" in params:
        low = bound(params["startAt"])
        items = [i for i in items if compared(i) >= low]
    if "endAt" in params:
        high = bound(params["endAt"])
        items = [i for i in items if compared(i) <= high]
    for name in ("limitToFirst", "limitToLast"):
        if name in params:
            limit = params[name]
            if not isinstance(limit, int) or isinstance(limit, bool) or limit < 0:
                raise BadRequest(f"{name} must be a non-negative integer")
            items = items[:limit] if name == "limitToFirst" else items[len(items) - limit:] if limit else []
    return dict(items) or None


# ---------------------------------------------------------------- indexes ---

class Indexes:
    """The ``.indexOn`` declarations of a rules file; None means ad hoc queries are allowed."""

    def __init__(self, rules: dict | None):
        self.rules = rules.get("rules", {}) if isinstance(rules, dict) else None

    @classmethod
    def load(cls, path: str | None) -> Indexes:
        if not path:
            return cls(None)
        with open(path, encoding="utf-8") as fh:
            return cls(json.load(fh))

    def require(self, path: list[str], order_by: str) -> None:
        """Refuse an unindexed query with the production server's message."""
        if self.rules is None or order_by in ("$key", "$priority"):
            return
        wanted = ".value" if order_by == "$value" else order_by.strip("/")
        node = self.rules
        for part in path:
            wildcard = next((key for key in node if key.startswith("$")), None) if isinstance(node, dict) else None
            node = node.get(part, node.get(wildcard)) if isinstance(node, dict) else None
        declared = node.get(".indexOn", []) if isinstance(node, dict) else []
        if wanted not in ([declared] if isinstance(declared, str) else declared):
            raise BadRequest(f'Index not defined, add ".indexOn": "{wanted}", '
                             f'for path "/{"/".join(path)}", to the rules')


# ------------------------------------------------------------------ store ---

class Store:
    """All namespaces' trees behind one lock, with optional file persistence."""

    def __init__(self, data_file: str | None = None):
        self.lock = threading.RLock()
        self.trees: dict[str, object] = {}
        self.counts: dict[str, int] = {}
        self.data_file = data_file
        self._dirty = threading.Event()
        self._last_push_ms = 0
        self._last_random: list[int] = []
        if data_file and os.path.exists(data_file):
            with open(data_file, encoding="utf-8") as fh:
                self.trees = {ns: normalize(tree) for ns, tree in json.load(fh).items()}
        if data_file:
            threading.Thread(target=self._persist_loop, daemon=True).start()

    def get(self, ns: str, path: list[str]):
        return child_at(self.trees.get(ns), path)

    def set(self, ns: str, path: list[str], value) -> None:
        value = normalize(value)
        if not path:
            self.trees[ns] = value
        else:
            root = self.trees.get(ns)
            self.trees[ns] = self._set_in(root, path, value)
        self._dirty.set()

    def _set_in(self, node, path, value):
        node = dict(node) if isinstance(node, dict) else {}
        head, rest = path[0], path[1:]
        child = self._set_in(node.get(head), rest, value) if rest else value
        if child is None:
            node.pop(head, None)
        else:
            node[head] = child
        return node or None

    def push_key(self) -> str:
        now = int(time.time() * 1000)
        duplicate = now == self._last_push_ms
        self._last_push_ms = now
        chars = []
        for _ in range(8):
            chars.append(PUSH_CHARS[now % 64])
            now //= 64
        key = "".join(reversed(chars))
        if not duplicate:
            self._last_random = [random.randrange(64) for _ in range(12)]
        else:
            i = 11
            while i >= 0 and self._last_random[i] == 63:
                self._last_random[i] = 0
                i -= 1
            if i >= 0:
                self._last_random[i] += 1
        return key + "".join(PUSH_CHARS[n] for n in self._last_random)

    def count(self, method: str) -> None:
        self.counts[method] = self.counts.get(method, 0) + 1

    def flush(self) -> None:
        if not self.data_file:
            return
        with self.lock:
            snapshot = json.dumps(self.trees, ensure_ascii=False)
            self._dirty.clear()
        tmp = self.data_file + ".tmp"
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(snapshot)
        os.replace(tmp, self.data_file)

    def _persist_loop(self) -> None:
        while True:
            self._dirty.wait()
            time.sleep(0.2)
            self.flush()


# ------------------------------------------------------------------- HTTP ---

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


class Handler(LoopbackHandler):
    server_version = "coronabot-rtdb-emulator"
    verbose_env = "RTDB_EMULATOR_VERBOSE"
    store: Store
    indexes: Indexes

    def _error(self, status: int, message: str, headers: dict | None = None):
        self.send_json(status, {"error": message}, headers)

    def _read_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY_BYTES:
            self.rfile.read(length)
            raise BadRequest("Request body too large")
        return self.rfile.read(length) if length else b""

    def route(self, method: str):
        try:
            raw_path, _, raw_query = self.path.partition("?")
            body = self._read_body() if method in ("PUT", "PATCH", "POST") else b""
            if raw_path.startswith("/__emulator/"):
                return self._control(method, raw_path)
            if not raw_path.endswith(".json"):
                return self._error(404, "Not found: paths end with .json")
            params = parse_query(raw_query)
            for name in JSON_PARAMS:
                if name in params:
                    try:
                        params[name] = json.loads(params[name])
                    except ValueError:
                        raise BadRequest(f"{name} must be a valid JSON value") from None
            path = [unquote(p) for p in raw_path[: -len(".json")].split("/") if p]
            for key in path:
                check_key(key)
            ns = params.get("ns") or DEFAULT_NAMESPACE
            value = None
            if method in ("PUT", "PATCH", "POST"):
                try:
                    value = json.loads(body.decode("utf-8")) if body else None
                except (ValueError, UnicodeDecodeError):
                    raise BadRequest("Invalid data; couldn't parse JSON object, array, or value.") from None
            with self.store.lock:
                self.store.count(method)
                self._handle(method, ns, path, params, value)
        except BadRequest as exc:
            self._error(400, str(exc))
        except (ConnectionError, TimeoutError):
            pass

    def _handle(self, method, ns, path, params, value):
        store = self.store
        silent = params.get("print") == "silent"
        current = store.get(ns, path)
        current_etag = etag_of(current)
        if_match = self.headers.get("if-match")
        if if_match is not None and method != "GET" and if_match != current_etag:
            return self.send_json(412, render(current), {"ETag": current_etag})
        headers = {}
        if method == "GET":
            if self.headers.get("if-none-match") == current_etag:
                return self.send_json(304, headers={"ETag": current_etag})
            if (self.headers.get("X-Firebase-ETag") or "").lower() == "true":
                headers["ETag"] = current_etag
            if isinstance(params.get("orderBy"), str):
                self.indexes.require(path, params["orderBy"])
            result = run_query(current, params)
            if params.get("shallow") == "true":
                if any(name in params for name in JSON_PARAMS):
                    raise BadRequest("shallow cannot be combined with query parameters")
                if isinstance(result, dict):
                    result = {k: True for k in result}
            return self.send_json(200, render(result), headers)
        if method == "PUT":
            store.set(ns, path, value)
            result = store.get(ns, path)
        elif method == "PATCH":
            if not isinstance(value, dict):
                raise BadRequest("Invalid data; PATCH expects an object")
            updates = []
            for key, child in value.items():
                sub = [p for p in key.split("/") if p]
                if not sub:
                    raise BadRequest("Invalid multi-path key: empty path")
                for part in sub:
                    check_key(part)
                updates.append((sub, child))
            paths = sorted(tuple(sub) for sub, _ in updates)
            for a, b in itertools.pairwise(paths):
                if b[: len(a)] == a:
                    raise BadRequest(f"Path {'/'.join(b)} is an ancestor or duplicate of another path in the update")
            for _, child in updates:
                normalize(child)
            for sub, child in updates:
                store.set(ns, path + sub, child)
            result = value
        elif method == "POST":
            key = store.push_key()
            store.set(ns, [*path, key], value)
            result = {"name": key}
        else:
            store.set(ns, path, None)
            result = None
        if if_match is not None:
            headers["ETag"] = etag_of(store.get(ns, path))
        if silent:
            return self.send_json(204, headers=headers)
        return self.send_json(200, render(result), headers)

    def _control(self, method, raw_path):
        name = raw_path[len("/__emulator/"):]
        with self.store.lock:
            if name == "stats" and method == "GET":
                return self.send_json(200, dict(self.store.counts))
            if name == "reset" and method == "POST":
                self.store.trees.clear()
                self.store.counts.clear()
                self.store._dirty.set()
                return self.send_json(200, {"ok": True})
        self._error(404, "Unknown control path")


def make_server(host: str, port: int, data_file: str | None = None, indexes: Indexes | None = None) -> LoopbackServer:
    store = Store(data_file)
    handler = type("BoundHandler", (Handler,), {"store": store, "indexes": indexes or Indexes(None)})
    server = LoopbackServer((host, port), handler)
    server.store = store
    return server


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=int(os.environ.get("RTDB_PORT", "9000")))
    parser.add_argument("--data", default=os.environ.get("RTDB_DATA_FILE") or None,
                        help="JSON file to load at start and persist to (default: memory only)")
    parser.add_argument("--rules", default=None,
                        help="database rules JSON whose .indexOn declarations queries need, as in production "
                             "(default: none, every query allowed)")
    args = parser.parse_args(argv)
    try:
        indexes = Indexes.load(args.rules)
    except (OSError, ValueError) as exc:
        parser.error(f"cannot read the rules file {args.rules}: {exc}")
    server = make_server(args.host, args.port, args.data, indexes)
    server.run("Realtime Database emulator", persist=args.data)
    server.store.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
