"""A local Firebase Realtime Database server speaking the REST protocol.

Development tool: it serves what the firebase-admin client sends (see
docs/testing.md), so the product talks to it exactly as to Google's emulator, through
``FIREBASE_DATABASE_EMULATOR_HOST``. Data lives in memory per namespace and is
optionally persisted to a JSON file. Given the rules file (``--rules``), queries
that order by a child or by value need the ``.indexOn`` it declares, as the
production REST API requires, and ``.read``/``.write`` rules are enforced for every
request that is not an admin's: admin requests (``Authorization: Bearer owner``, what
the Admin SDK sends to an emulator) bypass them unless they carry
``auth_variable_override``, which is then the ``auth`` the rules see; any other request
is unauthenticated (``auth == null``). Rules may use ``true``/``false``, ``auth``,
``auth.uid``, ``auth.token.*``, ``$variables``, ``now``, string and number literals,
``== === != !==``, ``! && ||`` and parentheses; any other expression denies.
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
import base64
import functools
import hashlib
import heapq
import itertools
import json
import os
import queue
import random
import re
import sys
import threading
import time
from urllib.parse import unquote

from .loopback import LoopbackHandler, LoopbackServer

MAX_BODY_BYTES = 16 * 1024 * 1024
MAX_DEPTH = 32
FORBIDDEN_KEY_CHARS = set(".$#[]/")
KEEPALIVE_SECONDS = float(os.environ.get("RTDB_KEEPALIVE_SECONDS", "30"))
PUSH_CHARS = "-0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz"  # pragma: allowlist secret
DEFAULT_NAMESPACE = "coronabot-local-default-rtdb"


class BadRequest(Exception):
    """A request the real server would refuse with 400."""


class PermissionDenied(Exception):
    """A request the rules do not allow (401 "Permission denied", as production answers)."""


# ---------------------------------------------------------------- values ---

def normalize(value, depth: int = 0):
    """Store form: arrays become objects, empty objects and nulls vanish; ``depth`` is how many key
    levels lie above ``value`` (its path), and more than 32 in all is refused as production does."""
    if isinstance(value, list):
        value = {str(i): v for i, v in enumerate(value)}
    if isinstance(value, dict):
        if depth >= MAX_DEPTH:
            raise BadRequest(f"Data nested too deeply: more than {MAX_DEPTH} levels")
        out = {}
        for key, child in value.items():
            check_key(key)
            child = normalize(child, depth + 1)
            if child is not None:
                out[key] = child
        return out or None
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    return value


def resolve_server_values(value, current, now_ms: int):
    """Replace ``{".sv": "timestamp"}`` by the server's time in milliseconds and ``{".sv": {"increment": n}}``
    by the current number plus n (n when there is no number), anywhere in ``value``."""
    if isinstance(value, dict):
        if ".sv" in value:
            spec = value[".sv"]
            if len(value) != 1:
                raise BadRequest("Invalid data; a server value must be the only key of its object")
            if spec == "timestamp":
                return now_ms
            if isinstance(spec, dict) and set(spec) == {"increment"}:
                step = spec["increment"]
                if isinstance(step, bool) or not isinstance(step, (int, float)):
                    raise BadRequest("Invalid data; increment needs a number")
                base = current if isinstance(current, (int, float)) and not isinstance(current, bool) else 0
                return base + step
            raise BadRequest(f"Invalid data; unknown server value {json.dumps(spec)}")
        here = current if isinstance(current, dict) else {}
        return {k: resolve_server_values(v, here.get(k), now_ms) for k, v in value.items()}
    if isinstance(value, list):
        here = current if isinstance(current, dict) else {}
        return [resolve_server_values(v, here.get(str(i)), now_ms) for i, v in enumerate(value)]
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
        raise BadRequest(f"Invalid key: {key[:100]!r} contains . $ # [ ] / or a control character")
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


_INTEGER_KEY = re.compile(r"-?0*\d{1,10}")


@functools.lru_cache(maxsize=1 << 20)
def key_sort_key(key: str):
    """The SDKs' key order: keys their ``tryParseInt`` reads as a 32-bit integer ("010", "-5") come first,
    by value and then by length, then every other key as a string."""
    if _INTEGER_KEY.fullmatch(key):
        number = int(key)
        if -(2**31) <= number < 2**31:
            return (0, number, len(key), "")
    return (1, 0, 0, key)


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

    # Filter first, then order only what is left, and only as much as a limit keeps (the sort keys are
    # unique, so this is the same answer as sorting everything): a page of a large collection costs a pass
    # over it, not a sort of it.
    if order_by == "$key" and "equalTo" not in params:  # one pass, no per-item indirection: the common case
        low = bound(params["startAt"]) if "startAt" in params else (-1,)
        high = bound(params["endAt"]) if "endAt" in params else (2,)
        items = [(k, v) for k, v in value.items() if low <= key_sort_key(k) <= high]
    else:
        items = list(value.items())
    if "equalTo" in params:
        target = bound(params["equalTo"])
        items = [i for i in items if compared(i) == target]
    if "startAt" in params and order_by != "$key":
        low = bound(params["startAt"])
        items = [i for i in items if compared(i) >= low]
    if "endAt" in params and order_by != "$key":
        high = bound(params["endAt"])
        items = [i for i in items if compared(i) <= high]
    for name in ("limitToFirst", "limitToLast"):
        if name in params:
            limit = params[name]
            if not isinstance(limit, int) or isinstance(limit, bool) or limit < 0:
                raise BadRequest(f"{name} must be a non-negative integer")
            if name == "limitToFirst":
                return dict(heapq.nsmallest(limit, items, key=sort_key)) or None
            return dict(reversed(heapq.nlargest(limit, items, key=sort_key))) or None
    return dict(sorted(items, key=sort_key)) or None


# ------------------------------------------------------------------ rules ---

class RuleError(Exception):
    """An expression this emulator cannot evaluate, or one that fails (``auth.uid`` with no auth)."""


_RULE_TOKEN = re.compile(r"""\s*(?:(===|!==|==|!=|&&|\|\||[!().])|('(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")"""
                         r"|(-?\d+(?:\.\d+)?)|([A-Za-z_$][A-Za-z0-9_$]*))")


def _tokens(expression: str) -> list[tuple[str, str]]:
    tokens, position = [], 0
    expression = expression.strip()
    while position < len(expression):
        match = _RULE_TOKEN.match(expression, position)
        if match is None or match.end() == position:
            raise RuleError(f"cannot read rule at {expression[position:position + 20]!r}")
        operator, string, number, name = match.groups()
        if operator:
            tokens.append(("op", operator))
        elif string:
            tokens.append(("value", json.loads('"' + string[1:-1].replace('"', '\\"') + '"')))
        elif number:
            tokens.append(("value", float(number) if "." in number else int(number)))
        else:
            tokens.append(("name", name))
        position = match.end()
    return tokens


def compile_rule(expression):
    """A rule (a boolean, or an expression string) as a function of (auth, variables, now) → bool."""
    if isinstance(expression, bool):
        return lambda auth, variables, now: expression
    if not isinstance(expression, str):
        raise RuleError(f"a rule must be a boolean or a string, not {expression!r}")
    tokens = _tokens(expression)
    position = 0

    def peek():
        return tokens[position] if position < len(tokens) else ("end", "")

    def take(kind=None, text=None):
        nonlocal position
        token = peek()
        if (kind and token[0] != kind) or (text and token[1] != text):
            raise RuleError(f"unexpected {token[1]!r} in {expression!r}")
        position += 1
        return token

    def primary():
        kind, text = peek()
        if (kind, text) == ("op", "("):
            take()
            inner = either()
            take("op", ")")
            return inner
        if kind == "value":
            take()
            return lambda env: text
        name = take("name")[1]
        if name in ("true", "false", "null"):
            constant = {"true": True, "false": False, "null": None}[name]
            return lambda env: constant
        if name not in ("auth", "now") and not name.startswith("$"):
            raise RuleError(f"{name!r} is not supported by this emulator (rule {expression!r})")
        getters = [lambda env, name=name: env[name]]
        while peek() == ("op", "."):
            take()
            member = take("name")[1]
            getters.append(member)

        def value(env):
            current = getters[0](env)
            for member in getters[1:]:
                if not isinstance(current, dict):
                    raise RuleError(f"no {member!r} on {current!r}")
                current = current.get(member)
            return current
        return value

    def unary():
        if peek() == ("op", "!"):
            take()
            operand = unary()
            return lambda env: not truthy(operand(env))
        return primary()

    def equality():
        left = unary()
        if peek()[0] == "op" and peek()[1] in ("==", "===", "!=", "!=="):
            operator = take()[1]
            right = unary()
            if operator.startswith("="):
                return lambda env: left(env) == right(env)
            return lambda env: left(env) != right(env)
        return left

    def both():
        parts = [equality()]
        while peek() == ("op", "&&"):
            take()
            parts.append(equality())
        return parts[0] if len(parts) == 1 else lambda env: all(truthy(part(env)) for part in parts)

    def either():
        parts = [both()]
        while peek() == ("op", "||"):
            take()
            parts.append(both())
        return parts[0] if len(parts) == 1 else lambda env: any(truthy(part(env)) for part in parts)

    tree = either()
    if position != len(tokens):
        raise RuleError(f"unexpected {peek()[1]!r} in {expression!r}")

    def evaluate(auth, variables, now):
        try:
            return tree({"auth": auth, "now": now, **variables}) is True
        except RuleError:
            return False
    return evaluate


def truthy(value) -> bool:
    if not isinstance(value, bool):
        raise RuleError(f"{value!r} is not a boolean")
    return value


class Rules:
    """A rules document: its ``.indexOn`` declarations and its ``.read``/``.write`` rules.
    ``document`` None (no --rules) means ad hoc queries are allowed and every request may read and write."""

    def __init__(self, document: dict | None):
        self.document = document
        self.tree = document.get("rules", {}) if isinstance(document, dict) else None
        self.unsupported: list[str] = []
        self._compiled: dict[int, object] = {}
        if isinstance(self.tree, dict):
            self._compile(self.tree)

    def _compile(self, node: dict) -> None:
        for kind in (".read", ".write"):
            if kind in node:
                try:
                    self._compiled[id(node[kind])] = compile_rule(node[kind])
                except RuleError as exc:
                    self.unsupported.append(str(exc))
                    self._compiled[id(node[kind])] = lambda auth, variables, now: False
        for key, child in node.items():
            if not key.startswith(".") and isinstance(child, dict):
                self._compile(child)

    @classmethod
    def load(cls, path: str | None) -> Rules:
        if not path:
            return cls(None)
        with open(path, encoding="utf-8") as fh:
            return cls(json.load(fh))

    def _walk(self, path: list[str]):
        """(node, variables) from the root down the path, as far as the rules go."""
        node, variables = self.tree, {}
        yield node, dict(variables)
        for part in path:
            if not isinstance(node, dict):
                return
            if part in node:
                node = node[part]
            else:
                wildcard = next((key for key in node if key.startswith("$")), None)
                if wildcard is None:
                    return
                variables[wildcard] = part
                node = node[wildcard]
            yield node, dict(variables)

    def allows(self, kind: str, path: list[str], auth) -> bool:
        """Whether a rule on the path or above it grants ``kind`` (``.read`` or ``.write``): rules cascade
        down, and a child can never take back what a parent granted."""
        if self.tree is None:
            return True
        now = int(time.time() * 1000)
        for node, variables in self._walk(path):
            if isinstance(node, dict) and kind in node:
                rule = self._compiled.get(id(node[kind]))
                if rule is not None and rule(auth, variables, now):
                    return True
        return False

    def require_index(self, path: list[str], order_by: str) -> None:
        """Refuse an unindexed query with the production server's message."""
        if self.tree is None or order_by in ("$key", "$priority"):
            return
        wanted = ".value" if order_by == "$value" else order_by.strip("/")
        node = self.tree
        for part in path:
            wildcard = next((key for key in node if key.startswith("$")), None) if isinstance(node, dict) else None
            node = node.get(part, node.get(wildcard)) if isinstance(node, dict) else None
        declared = node.get(".indexOn", []) if isinstance(node, dict) else []
        if wanted not in ([declared] if isinstance(declared, str) else declared):
            raise BadRequest(f'Index not defined, add ".indexOn": "{wanted}", '
                             f'for path "/{"/".join(path)}", to the rules')


# ------------------------------------------------------------------ store ---

class Listener:
    """One ``text/event-stream`` client: its path and the events waiting to be sent."""

    def __init__(self, path: list[str]):
        self.path = path
        self.events: queue.Queue = queue.Queue()


class Store:
    """All namespaces' trees behind one lock, with optional file persistence."""

    def __init__(self, data_file: str | None = None):
        self.lock = threading.RLock()
        self.trees: dict[str, object] = {}
        self.counts: dict[str, int] = {}
        self.etags = 0  # how many ETags were computed (each renders and hashes the whole addressed value)
        self.data_file = data_file
        self._dirty = threading.Event()
        self._last_push_ms = 0
        self._last_random: list[int] = []
        self.listeners: dict[str, set[Listener]] = {}
        if data_file and os.path.exists(data_file):
            with open(data_file, encoding="utf-8") as fh:
                self.trees = {ns: normalize(tree) for ns, tree in json.load(fh).items()}
        if data_file:
            threading.Thread(target=self._persist_loop, daemon=True).start()

    def get(self, ns: str, path: list[str]):
        return child_at(self.trees.get(ns), path)

    def set(self, ns: str, path: list[str], value) -> None:
        value = normalize(value, len(path))
        if not path:
            self.trees[ns] = value
        else:
            root = self.trees.get(ns)
            self.trees[ns] = self._set_in(root, path, value)
        self._dirty.set()

    def _set_in(self, node, path, value):
        """Write ``value`` at ``path`` below ``node`` in place (every access holds the lock, and what leaves
        the store is rendered into new objects first), so a write costs what it changes, not the size of
        the tree around it."""
        node = node if isinstance(node, dict) else {}
        head, rest = path[0], path[1:]
        child = self._set_in(node.get(head), rest, value) if rest else value
        if child is None:
            node.pop(head, None)
        else:
            node[head] = child
        return node or None

    # -- listeners (server-sent events) --------------------------------------------------------
    def listen(self, ns: str, path: list[str]) -> Listener:
        """A listener that gets the events of every later change at, below or above ``path``."""
        listener = Listener(path)
        self.listeners.setdefault(ns, set()).add(listener)
        return listener

    def unlisten(self, ns: str, listener: Listener) -> None:
        with self.lock:
            self.listeners.get(ns, set()).discard(listener)

    def published(self, ns: str, written: list[str], subpaths: list[list[str]] | None = None) -> None:
        """Tell the listeners of a write at ``written`` (a PATCH there with ``subpaths``; called under the
        lock, after the write): a listener at or above it gets a ``put`` (``patch`` for a PATCH) with the
        path relative to its own, one below it a ``put`` of its whole new value."""
        for listener in list(self.listeners.get(ns, ())):
            own = listener.path
            if written[:len(own)] == own:
                relative = "/" + "/".join(written[len(own):])
                if subpaths is None:
                    listener.events.put(("put", relative, render(self.get(ns, written))))
                else:
                    listener.events.put(("patch", relative, {"/".join(sub): render(self.get(ns, written + sub))
                                                             for sub in subpaths}))
            elif own[:len(written)] == written:
                below = own[len(written):]
                if subpaths is None or any(sub[:len(below)] == below or below[:len(sub)] == sub for sub in subpaths):
                    listener.events.put(("put", "/", render(self.get(ns, own))))

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

    def etag(self, value) -> str:
        self.etags += 1
        return etag_of(value)

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

    def _identity(self, params: dict) -> tuple[bool, object]:
        """(admin, auth): ``Bearer owner`` is the admin unless it passes ``auth_variable_override``, which is
        then the auth the rules see; anyone else is unauthenticated."""
        if self.headers.get("Authorization", "").strip() != "Bearer owner":
            return False, None
        if "auth_variable_override" not in params:
            return True, None
        try:
            return False, json.loads(params["auth_variable_override"])
        except ValueError:
            raise BadRequest("auth_variable_override must be JSON") from None

    def _require(self, kind: str, path: list[str], admin: bool, auth) -> None:
        if not admin and not self.rules.allows(kind, path, auth):
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
            admin, auth = self._identity(params)
            value = None
            if method in ("PUT", "PATCH", "POST"):
                try:
                    value = json.loads(body.decode("utf-8")) if body else None
                except RecursionError:
                    raise BadRequest(f"Data nested too deeply: more than {MAX_DEPTH} levels") from None
                except (ValueError, UnicodeDecodeError):
                    raise BadRequest("Invalid data; couldn't parse JSON object, array, or value.") from None
            if method == "GET" and "text/event-stream" in (self.headers.get("Accept") or ""):
                self._require(".read", path, admin, auth)
                return self._stream(ns, path)
            with self.store.lock:
                self.store.count(method)
                self._handle(method, ns, path, params, value, admin, auth)
        except BadRequest as exc:
            self._error(400, str(exc))
        except PermissionDenied:
            self._error(401, "Permission denied")
        except (ConnectionError, TimeoutError):
            pass

    def _handle(self, method, ns, path, params, value, admin, auth):
        store = self.store
        silent = params.get("print") == "silent"
        if method == "GET":
            self._require(".read", path, admin, auth)
        elif method != "PATCH":
            self._require(".write", path, admin, auth)
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
            if isinstance(params.get("orderBy"), str):
                self.rules.require_index(path, params["orderBy"])
            result = run_query(current, params)
            if params.get("shallow") == "true":
                if any(name in params for name in JSON_PARAMS):
                    raise BadRequest("shallow cannot be combined with query parameters")
                if isinstance(result, dict):
                    result = {k: True for k in result}
            return self.send_json(200, render(result), headers)
        now_ms = int(time.time() * 1000)
        if method == "PUT":
            store.set(ns, path, resolve_server_values(value, current, now_ms))
            store.published(ns, path)
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
                self._require(".write", path + sub, admin, auth)
                updates.append((sub, resolve_server_values(child, store.get(ns, path + sub), now_ms)))
            paths = sorted(tuple(sub) for sub, _ in updates)
            for a, b in itertools.pairwise(paths):
                if b[: len(a)] == a:
                    raise BadRequest(f"Path {'/'.join(b)} is an ancestor or duplicate of another path in the update")
            for sub, child in updates:
                normalize(child, len(path) + len(sub))
            for sub, child in updates:
                store.set(ns, path + sub, child)
            store.published(ns, path, [sub for sub, _ in updates])
            result = {"/".join(sub): child for sub, child in updates}
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

    def _stream(self, ns: str, path: list[str]) -> None:
        """Server-sent events, as production streams them to ``listen()``: the current value first, then
        every change, and a keep-alive event when nothing happened for a while."""
        with self.store.lock:
            self.store.count("GET")
            listener = self.store.listen(ns, path)
            first = ("put", "/", render(self.store.get(ns, path)))
        self.close_connection = True
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Connection", "close")
        self.end_headers()
        try:
            self._event(*first)
            while True:
                try:
                    event = listener.events.get(timeout=KEEPALIVE_SECONDS)
                except queue.Empty:
                    self.wfile.write(b"event: keep-alive\ndata: null\n\n")
                    self.wfile.flush()
                    continue
                self._event(*event)
        except OSError:
            pass
        finally:
            self.store.unlisten(ns, listener)

    def _event(self, kind: str, relative: str, data) -> None:
        payload = json.dumps({"path": relative, "data": data}, ensure_ascii=False)
        self.wfile.write(f"event: {kind}\ndata: {payload}\n\n".encode())
        self.wfile.flush()

    def _settings(self, method: str, params: dict, body: bytes) -> None:
        """``/.settings/rules.json``: read or replace the rules (admins only, as in production)."""
        admin, _ = self._identity(params)
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
                self.store.trees.clear()
                self.store.counts.clear()
                self.store.etags = 0
                self.store._dirty.set()
                return self.send_json(200, {"ok": True})
        self._error(404, "Unknown control path")


def make_server(host: str, port: int, data_file: str | None = None, rules: Rules | None = None) -> LoopbackServer:
    store = Store(data_file)
    handler = type("BoundHandler", (Handler,), {"store": store, "rules": rules or Rules(None)})
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
                        help="database rules JSON, enforced as in production: the .indexOn declarations queries "
                             "need and the .read/.write rules (default: none, every query and request allowed)")
    args = parser.parse_args(argv)
    try:
        rules = Rules.load(args.rules)
    except (OSError, ValueError) as exc:
        parser.error(f"cannot read the rules file {args.rules}: {exc}")
    for problem in rules.unsupported:
        print(json.dumps({"severity": "WARNING", "message": f"rule denies everything: {problem}"}), flush=True)
    server = make_server(args.host, args.port, args.data, rules)
    server.run("Realtime Database emulator", persist=args.data)
    server.store.flush()
    return 0


if __name__ == "__main__":  # python -m rtdb_emulator (its __main__) is the usual way
    sys.exit(main())
