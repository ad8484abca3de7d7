"""Values as Realtime Database keeps them: normalised, with server values resolved, rendered, keyed
and tagged (ETags); and their order (the REST API's ``orderBy``) and queries."""

from __future__ import annotations

import base64
import functools
import hashlib
import heapq
import json
import re

MAX_DEPTH = 32
FORBIDDEN_KEY_CHARS = set(".$#[]/")


class BadRequest(Exception):
    """A request the real server would refuse with 400."""




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
    """What a GET with ``orderBy`` and its bounds and limits answers of ``value``, as production does."""
    order_by = params.get("orderBy")
    filters = [p for p in ("startAt", "endAt", "equalTo", "limitToFirst", "limitToLast") if p in params]
    if order_by is None:
        if filters:
            raise BadRequest("orderBy must be defined when other query parameters are defined")
        return value
    _check_query(order_by, params)
    if not isinstance(value, dict):
        return None if filters else value
    sort_key, compared, bound = _ordering(order_by)
    return _limited(_filtered(value, params, order_by, compared, bound), params, sort_key)


def _check_query(order_by: object, params: dict) -> None:
    if not isinstance(order_by, str):
        raise BadRequest("orderBy must be a string")
    if "limitToFirst" in params and "limitToLast" in params:
        raise BadRequest("Can't use both limitToFirst and limitToLast")
    if "equalTo" in params and ("startAt" in params or "endAt" in params):
        raise BadRequest("Can't use equalTo with startAt or endAt")


def _ordering(order_by: str):
    """(sort key of an item, what a bound is compared with, a bound's key) for ``orderBy``."""
    if order_by == "$key":
        def key_bound(param):
            if not isinstance(param, str):
                raise BadRequest("orderBy $key requires string bounds")
            return key_sort_key(param)
        return (lambda item: key_sort_key(item[0])), (lambda item: key_sort_key(item[0])), key_bound
    if order_by == "$priority":
        raise BadRequest("orderBy $priority is not supported by this emulator")
    if order_by == "$value":
        def picked(item):
            return item[1]
    else:
        child_path = [p for p in order_by.split("/") if p]
        if not child_path:
            raise BadRequest("orderBy child path is empty")

        def picked(item):
            return child_at(item[1], child_path)
    return ((lambda item: (value_sort_key(picked(item)), key_sort_key(item[0]))),
            (lambda item: value_sort_key(picked(item))), value_sort_key)


def _filtered(value: dict, params: dict, order_by: str, compared, bound) -> list:
    """The items within the bounds. Filter first, then order only what is left, and only as much as a limit
    keeps (the sort keys are unique, so this is the same answer as sorting everything): a page of a large
    collection costs a pass over it, not a sort of it."""
    if order_by == "$key" and "equalTo" not in params:  # one pass, no per-item indirection: the common case
        low = bound(params["startAt"]) if "startAt" in params else (-1,)
        high = bound(params["endAt"]) if "endAt" in params else (2,)
        return [(k, v) for k, v in value.items() if low <= key_sort_key(k) <= high]
    items = list(value.items())
    if "equalTo" in params:
        target = bound(params["equalTo"])
        items = [i for i in items if compared(i) == target]
    if "startAt" in params:
        low = bound(params["startAt"])
        items = [i for i in items if compared(i) >= low]
    if "endAt" in params:
        high = bound(params["endAt"])
        items = [i for i in items if compared(i) <= high]
    return items


def _limited(items: list, params: dict, sort_key):
    """The items in order, as many as a limit keeps (None for none)."""
    for name in ("limitToFirst", "limitToLast"):
        if name in params:
            limit = params[name]
            if not isinstance(limit, int) or isinstance(limit, bool) or limit < 0:
                raise BadRequest(f"{name} must be a non-negative integer")
            if name == "limitToFirst":
                return dict(heapq.nsmallest(limit, items, key=sort_key)) or None
            return dict(reversed(heapq.nlargest(limit, items, key=sort_key))) or None
    return dict(sorted(items, key=sort_key)) or None
