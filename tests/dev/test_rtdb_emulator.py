"""The local Realtime Database server, driven by the real firebase-admin client and by raw REST."""

from __future__ import annotations

import json
import re
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import firebase_admin
import pytest
from firebase_admin import db, exceptions

from coronabot_dev.harness import OWNER, Process, database_command, free_port, http
from support import DATABASE_URL


def _root(host: str, monkeypatch):
    monkeypatch.setenv("FIREBASE_DATABASE_EMULATOR_HOST", host)
    app = firebase_admin.initialize_app(options={"databaseURL": DATABASE_URL}, name=f"emulator-test-{id(monkeypatch)}")
    return app, db.reference("/", app=app)


@pytest.fixture
def root(database_server, monkeypatch):
    database_server.reset()
    app, reference = _root(database_server.base.removeprefix("http://"), monkeypatch)
    yield reference
    firebase_admin.delete_app(app)


QUERY_RULES = {"rules": {".read": False, "q": {".indexOn": ["at", "s"]},
                         "users": {"$uid": {"v": {".indexOn": ".value"}}}}}


@pytest.fixture
def indexed_root(tmp_path, monkeypatch):
    """Our emulator with a rules file declaring indexes for the query tests, as production needs them."""
    rules = tmp_path / "rules.json"
    rules.write_text(json.dumps(QUERY_RULES))
    port = free_port()
    process = Process(database_command(port, rules),
                      port, tmp_path / "emulator.log")
    app, reference = _root(f"127.0.0.1:{port}", monkeypatch)
    yield reference
    firebase_admin.delete_app(app)
    process.stop()


def test_set_get_update_delete_with_realistic_chat_ids(root):
    root.child("subscribers/1544010213").set({"since": "x"})
    root.child("subscribers/-1001234567890").set({"since": "y"})
    assert root.child("subscribers").get(shallow=True) == {"1544010213": True, "-1001234567890": True}
    root.update({"subscribers/1544010213/since": "z", "state/latest": {"id": "2026-W39"}})
    assert root.child("subscribers/1544010213").get() == {"since": "z"}
    root.child("subscribers/-1001234567890").delete()
    assert list(root.child("subscribers").get()) == ["1544010213"]
    root.child("korean/한글 키").set("값 + 더하기")
    assert root.child("korean").get() == {"한글 키": "값 + 더하기"}


def test_small_integer_keys_come_back_as_an_array(root):
    root.child("list").set({"0": "a", "1": "b", "2": "c"})
    assert root.child("list").get() == ["a", "b", "c"]
    root.child("sparse").set({"1": "a", "9": "b"})
    assert root.child("sparse").get() == {"1": "a", "9": "b"}


def test_push_keys_are_unique_ordered_and_twenty_characters(root):
    keys = [root.child("log").push({"n": i}).key for i in range(50)]
    assert all(len(k) == 20 for k in keys)
    assert keys == sorted(keys) and len(set(keys)) == 50


def test_queries(indexed_root):
    root = indexed_root
    root.child("q").set({"a": {"at": 3, "s": "x y+z"}, "b": {"at": 1}, "c": {"at": 2}, "d": {"s": "q"}})
    assert list(root.child("q").order_by_child("at").get()) == ["d", "b", "c", "a"]
    assert list(root.child("q").order_by_child("at").start_at(2).get()) == ["c", "a"]
    assert list(root.child("q").order_by_child("at").end_at(2).limit_to_first(2).get()) == ["d", "b"]
    assert list(root.child("q").order_by_child("s").equal_to("x y+z").get()) == ["a"]
    assert list(root.child("q").order_by_key().limit_to_last(2).get()) == ["c", "d"]
    root.child("users/1544010213/v").set({"x": 5, "y": 1, "z": 3})
    assert list(root.child("users/1544010213/v").order_by_value().limit_to_first(2).get()) == ["y", "z"]


def test_queries_need_the_index_the_rules_declare(indexed_root):
    root = indexed_root
    root.child("q").set({"a": {"at": 3, "n": 1}})
    with pytest.raises(exceptions.InvalidArgumentError) as refused:
        root.child("q").order_by_child("n").get()
    assert 'Index not defined, add ".indexOn": "n", for path "/q", to the rules' in str(refused.value)
    with pytest.raises(exceptions.InvalidArgumentError, match=re.escape('".value", for path "/elsewhere"')):
        root.child("elsewhere").order_by_value().get()
    assert list(root.child("q").order_by_key().get()) == ["a"], "keys are always indexed"


def test_the_products_rules_declare_the_indexes_its_queries_need(root, database_server):
    """The session database enforces database.rules.json, so every product query is checked too."""
    if not database_server.own_emulator:
        pytest.skip("index enforcement is checked on the project's own emulator")
    root.child("handled_updates").set({"1": {"at": 5}})
    assert list(root.child("handled_updates").order_by_child("at").end_at(10).get()) == ["1"]
    with pytest.raises(exceptions.InvalidArgumentError, match="Index not defined"):
        root.child("subscribers").order_by_child("since").get()


def test_etags_and_transactions(root):
    value, etag = root.child("nothing").get(etag=True)
    assert value is None and etag
    ok, current, _ = root.child("nothing").set_if_unchanged(etag, {"a": 1})
    assert ok
    ok, current, new_etag = root.child("nothing").set_if_unchanged(etag, {"a": 2})
    assert not ok and current == {"a": 1} and new_etag != etag
    changed, _, _ = root.child("nothing").get_if_changed(new_etag)
    assert changed is False


def test_concurrent_transactions_lose_no_increment(root):
    def bump(_):
        root.child("counter").transaction(lambda n: (n or 0) + 1)
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(bump, range(24)))
    assert root.child("counter").get() == 24


def test_firebase_errors_are_4xx_with_a_message(root, database_server):
    ours = database_server.own_emulator
    status, body, _ = http("PUT", database_server.url("a"), raw=b"{broken", headers=OWNER)
    assert status == 400 and "couldn't parse" in body["error"]
    status, body, _ = http("GET", database_server.url("a") + '&limitToFirst=2', headers=OWNER)
    assert status == 400 and "orderBy" in body["error"]
    status, body, _ = http("PATCH", database_server.url("a"), {"x": 1, "x/y": 2}, headers=OWNER)
    assert status == 400 and body["error"] and (not ours or "ancestor" in body["error"])
    status, body, _ = http("PUT", database_server.base + "/a.b.json?ns=x", 1, headers=OWNER)
    assert status == 400 and body["error"] and (not ours or "Invalid key" in body["error"])
    with pytest.raises(exceptions.InvalidArgumentError):
        root.update({"a": 1, "a/b": 2})


def test_raw_protocol_details(database_server):
    database_server.reset()
    status, body, headers = http("PUT", database_server.url("p") + "&print=silent", {"a": 1}, headers=OWNER)
    assert status == 204 and body is None
    status, body, headers = http("GET", database_server.url("p"), headers={"X-Firebase-ETag": "true", **OWNER})
    assert status == 200 and body == {"a": 1} and headers["ETag"]
    status, _, _ = http("GET", database_server.url("p"), headers={"if-none-match": headers["ETag"], **OWNER})
    assert status == 304
    status, body, got = http("PUT", database_server.url("p"), {"a": 2}, headers={"if-match": "stale", **OWNER})
    assert status == 412 and body == {"a": 1} and got["ETag"] == headers["ETag"]
    status, body, _ = http("POST", database_server.url("p"), "", headers=OWNER)
    assert status == 200 and len(body["name"]) == 20
    status, body, _ = http("DELETE", database_server.url("p"), headers=OWNER)
    assert status == 200 and body is None


def test_persistence_survives_a_restart(tmp_path):
    data = tmp_path / "rtdb.json"
    for attempt in range(2):
        port = free_port()
        process = Process([*database_command(port), "--data", str(data)],
                          port, tmp_path / "emulator.log")
        url = f"{process.url}/subscribers/1544010213.json?ns=coronabot-test-default-rtdb"
        if attempt == 0:
            assert http("PUT", url, {"since": "kept"}, headers=OWNER)[0] == 200
        else:
            assert http("GET", url, headers=OWNER)[1] == {"since": "kept"}
        process.stop()


def test_many_concurrent_writers(database_server):
    database_server.reset()
    errors = []

    def write(i):
        status, body, _ = http("PUT", database_server.url(f"many/{1544010213 + i}"), {"i": i}, headers=OWNER)
        if status != 200:
            errors.append(body)
    threads = [threading.Thread(target=write, args=(i,)) for i in range(64)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == [] and len(database_server.get("many")) == 64


# -- conformance with the documented REST protocol ---------------------------------------------------------

@pytest.mark.parametrize("children", range(1, 9))
def test_limit_windows_hold_for_every_size(root, children):
    keys = [f"k{i}" for i in range(children)]
    root.child("w").set({key: {"n": i} for i, key in enumerate(keys)})
    for limit in range(1, 7):
        assert list(root.child("w").order_by_key().limit_to_last(limit).get()) == keys[-limit:], (children, limit)
        assert list(root.child("w").order_by_key().limit_to_first(limit).get()) == keys[:limit], (children, limit)


def test_a_stale_if_none_match_gets_the_value_and_its_etag(root, database_server):
    root.child("e").set({"a": 1})
    changed, value, etag = root.child("e").get_if_changed("stale-etag")
    assert changed is True and value == {"a": 1} and etag
    status, body, headers = http("GET", database_server.url("e"), headers={"if-none-match": "stale", **OWNER})
    assert status == 200 and headers.get("ETag") == etag


def test_integer_like_keys_order_as_the_sdks_compare_them(database_server):
    database_server.reset()
    keys = ["a", "010", "10", "9", "-1", "2147483648", "00"]
    database_server.put("o", dict.fromkeys(keys, 1))
    expected = ["-1", "00", "9", "10", "010", "2147483648", "a"]
    for n in range(1, len(keys) + 1):
        status, body, _ = http("GET", database_server.url("o") + '&orderBy="$key"&limitToFirst=' + str(n),
                               headers=OWNER)
        assert status == 200 and set(body) == set(expected[:n]), n
    status, body, _ = http("GET", database_server.url("o") + '&orderBy="$key"&startAt="10"', headers=OWNER)
    assert set(body) == {"10", "010", "2147483648", "a"}


def test_server_values(database_server):
    database_server.reset()
    status, body, _ = http("PUT", database_server.url("sv/at"), {".sv": "timestamp"}, headers=OWNER)
    assert status == 200 and abs(body - time.time() * 1000) < 60_000
    for expected in (3, 5):
        status, body, _ = http("PATCH", database_server.url("sv"), {"count": {".sv": {"increment": 3 if expected == 3
                                                                                           else 2}}}, headers=OWNER)
        assert status == 200 and database_server.get("sv/count") == expected
    status, body, _ = http("PUT", database_server.url("sv/nested"), {"a": {"b": {".sv": "timestamp"}}}, headers=OWNER)
    assert isinstance(database_server.get("sv/nested/a/b"), int)
    status, body, _ = http("PUT", database_server.url("sv/x"), {".sv": "nonsense"}, headers=OWNER)
    assert status == 400


@pytest.mark.parametrize("value, message", [
    ({"a/b": 1}, "Invalid key"), ({"k" * 769: 1}, "Invalid key"), ({"ok": {"a.b": 1}}, "Invalid key"),
    (json.loads("{\"a\":" * 32 + "1" + "}" * 32), "nested too deeply"),
])
def test_data_production_refuses_is_refused(database_server, value, message):
    database_server.reset()
    status, body, _ = http("PUT", database_server.url("limits"), value, headers=OWNER)
    assert status == 400 and message in body["error"]
    assert database_server.get("limits") is None


def test_data_at_the_nesting_limit_is_accepted(database_server):
    database_server.reset()
    value = json.loads("{\"a\":" * 31 + "1" + "}" * 31)
    status, _, _ = http("PUT", database_server.url("limits"), value, headers=OWNER)
    assert status == 200, "31 levels below /limits make 32 in all"


def raw_exchange(database_server, request: bytes) -> bytes:
    import socket
    host, port = database_server.base.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=15) as sock:
        sock.sendall(request)
        sock.shutdown(socket.SHUT_WR)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    return answer


@pytest.mark.parametrize("body, length", [(b"[" * 100_000 + b"]" * 100_000, None), (b"{}", "abc")])
def test_bad_bodies_and_lengths_get_an_answer_not_a_dropped_connection(database_server, body, length):
    database_server.reset()
    request = (f"PUT /x.json?ns=t HTTP/1.1\r\nHost: h\r\nAuthorization: Bearer owner\r\n"
               f"Content-Length: {length or len(body)}\r\nConnection: close\r\n\r\n").encode() + body
    answer = raw_exchange(database_server, request)
    assert answer.startswith(b"HTTP/1.1 400"), answer[:200]


@pytest.fixture
def quick_keepalive_root(tmp_path, monkeypatch):
    """A database sending keep-alive events every half second (production: about every 30 s), so that a
    closed listener's thread notices at once."""
    import os
    port = free_port()
    process = Process(database_command(port), port, tmp_path / "emulator.log",
                      dict(os.environ, RTDB_KEEPALIVE_SECONDS="0.5"))
    app, reference = _root(f"127.0.0.1:{port}", monkeypatch)
    yield reference, process
    firebase_admin.delete_app(app)
    process.stop()


def test_listen_streams_server_sent_events(quick_keepalive_root):
    root, process = quick_keepalive_root
    events = []
    arrived = threading.Event()

    def collect(event):
        events.append((event.event_type, event.path, event.data))
        arrived.set()
    root.child("live").set({"a": 1})
    registration = root.child("live").listen(collect)
    try:
        def wait_for(count):
            deadline = time.time() + 15
            while len(events) < count and time.time() < deadline:
                arrived.wait(0.2)
                arrived.clear()
            return events[:count]
        assert wait_for(1) == [("put", "/", {"a": 1})]
        root.child("live/b").set(2)
        root.child("live").update({"f": 5, "g/h": 6})
        root.update({"live/c": 3, "live/a": None})
        root.child("elsewhere").set(1)
        root.delete()
        assert wait_for(5)[1:] == [
            ("put", "/b", 2),
            ("patch", "/", {"f": 5, "g/h": 6}),
            ("put", "/", {"b": 2, "c": 3, "f": 5, "g": {"h": 6}}),
            ("put", "/", None),
        ]
    finally:
        registration.close()
    import socket
    with socket.create_connection(("127.0.0.1", process.port), timeout=10) as sock:
        sock.sendall(b"GET /live.json?ns=t HTTP/1.1\r\nHost: h\r\nAccept: text/event-stream\r\n"
                     b"Authorization: Bearer owner\r\n\r\n")
        stream = b""
        while b"event: keep-alive" not in stream:
            stream += sock.recv(4096)
    assert b"Content-Type: text/event-stream" in stream
    assert b'event: put\ndata: {"path": "/", "data": null}\n\n' in stream


def test_the_products_rules_deny_every_client_but_the_admin(database_server):
    if not database_server.own_emulator:
        pytest.skip("checked on the project's own emulator, which loads database.rules.json")
    database_server.reset()
    database_server.put("subscribers/1544010213", {"since": "x"})
    override = '&auth_variable_override={"uid":"1544010213"}'
    for path in ("", "subscribers", "subscribers/1544010213", "state/latest"):
        for extra, headers in (("", {}), (override, OWNER), ("&auth_variable_override=null", OWNER)):
            status, body, _ = http("GET", database_server.url(path) + extra, headers=headers)
            assert (status, body) == (401, {"error": "Permission denied"}), (path, extra)
            status, body, _ = http("PUT", database_server.url(path) + extra, {"taken": True}, headers=headers)
            assert status == 401, (path, extra)
    status, body, _ = http("PATCH", database_server.url(""), {"subscribers/1": {"a": 1}})
    assert status == 401
    assert database_server.get("subscribers") == {"1544010213": {"since": "x"}}, "nothing was written"
    status, body, _ = http("GET", database_server.url("subscribers"), headers=OWNER)
    assert status == 200 and body == {"1544010213": {"since": "x"}}


# What the emulator evaluates: true/false rules, cascading (a child cannot take back what a parent granted),
# "$name" nodes matching any key; the project's own rules are all false (database.rules.json).
USER_RULES = {"rules": {
    "public": {".read": True, ".write": False},
    "users": {"$uid": {".read": True, "private": {".read": False}}},
    "inbox": {".write": True, "sealed": {".write": False}},
}}


@pytest.fixture
def user_rules_database(tmp_path):
    rules = tmp_path / "rules.json"
    rules.write_text(json.dumps(USER_RULES))
    port = free_port()
    process = Process(database_command(port, rules), port, tmp_path / "emulator.log")
    yield process
    process.stop()


def as_user(process, monkeypatch, auth):
    monkeypatch.setenv("FIREBASE_DATABASE_EMULATOR_HOST", f"127.0.0.1:{process.port}")
    app = firebase_admin.initialize_app(options={"databaseURL": DATABASE_URL, "databaseAuthVariableOverride": auth},
                                        name=f"user-{auth and auth.get('uid')}-{id(monkeypatch)}")
    return app, db.reference("/", app=app)


def test_read_and_write_rules_are_enforced_for_overridden_auth(user_rules_database, monkeypatch):
    admin_app, admin = _root(f"127.0.0.1:{user_rules_database.port}", monkeypatch)
    alice_app, alice = as_user(user_rules_database, monkeypatch, {"uid": "alice"})
    nobody_app, nobody = as_user(user_rules_database, monkeypatch, None)
    try:
        admin.child("public").set({"news": 1})
        admin.child("users/alice").set({"name": "앨리스", "private": {"phone": "x"}})
        assert nobody.child("public").get() == {"news": 1} and alice.child("public").get() == {"news": 1}
        with pytest.raises(exceptions.FirebaseError, match="Permission denied"):
            alice.child("public/news").set(2)
        assert alice.child("users/alice/name").get() == "앨리스", "a $name node matches any key"
        assert alice.child("users/alice/private").get() == {"phone": "x"}, "a child cannot take back a grant"
        with pytest.raises(exceptions.FirebaseError, match="Permission denied"):
            nobody.child("users").get()
        alice.child("inbox/sealed/note").set("hello")  # granted above, so granted below
        with pytest.raises(exceptions.FirebaseError, match="Permission denied"):
            alice.update({"inbox/a": 1, "public/b": 1})
        assert admin.child("inbox").get() == {"sealed": {"note": "hello"}}, "the refused update wrote nothing"
    finally:
        for app in (admin_app, alice_app, nobody_app):
            firebase_admin.delete_app(app)


def test_rules_are_read_and_replaced_through_settings(user_rules_database):
    url = f"{user_rules_database.url}/.settings/rules.json"
    status, body, _ = http("GET", url, headers=OWNER)
    assert status == 200 and body == USER_RULES
    assert http("GET", url)[0] == 401 and http("PUT", url, {"rules": {".read": True}})[0] == 401
    data = f"{user_rules_database.url}/public.json?ns=t"
    assert http("PUT", data, 1)[0] == 401
    status, body, _ = http("PUT", url, {"rules": {".read": True, ".write": True}}, headers=OWNER)
    assert (status, body) == (200, {"status": "ok"})
    assert http("PUT", data, 1)[0] == 200 and http("GET", url, headers=OWNER)[1]["rules"][".write"] is True
    status, body, _ = http("PUT", url, {"rules": {".read": "data.exists()"}}, headers=OWNER)
    assert status == 400 and "only true or false" in body["error"]
    assert http("PUT", url, [1], headers=OWNER)[0] == 400


def test_an_etag_is_computed_only_for_a_request_that_uses_one(root, database_server):
    """Hashing the addressed value costs as much as the value is big: plain reads and writes never pay it
    (firebase-admin asks only for transactions and conditional writes)."""
    def work() -> int:
        return http("GET", f"{database_server.base}/__emulator/work")[1]["etags"]
    root.child("deliveries/k").set({str(5_000_000_000 + i): "sent" for i in range(2000)})
    for batch in range(5):
        root.update({f"deliveries/k/{6_000_000_000 + batch * 50 + i}": "sent" for i in range(50)})
    root.child("deliveries/k").get(shallow=True)
    root.child("deliveries").order_by_key().limit_to_first(1).get()
    assert work() == 0
    value, etag = root.child("deliveries/k").get(etag=True)
    assert work() == 1 and len(value) == 2250
    written, _, _ = root.child("deliveries/k/x").set_if_unchanged("not-the-etag", "sent")
    assert not written and work() == 2, "if-match: the current value's ETag (412, no write)"
    assert root.child("counter").transaction(lambda v: (v or 0) + 1) == 1
    assert work() > 2


def test_a_rules_file_with_an_expression_is_refused_at_start(tmp_path):
    """The emulator evaluates the rules the project deploys (true/false, .indexOn); an expression is refused by
    name when it starts, never silently read as a rule that denies."""
    rules = tmp_path / "rules.json"
    rules.write_text(json.dumps({"rules": {"users": {"$uid": {".write": "auth.uid === $uid"}}}}))
    started = subprocess.run(database_command(free_port(), rules), capture_output=True, text=True, timeout=60)
    assert started.returncode == 2
    assert "/users/$uid.write: 'auth.uid === $uid' (this emulator evaluates only true or false" in started.stderr
