"""The local Realtime Database server, driven by the real firebase-admin client and by raw REST."""

from __future__ import annotations

import json
import re
import threading
from concurrent.futures import ThreadPoolExecutor

import firebase_admin
import pytest
from firebase_admin import db, exceptions

from conftest import DATABASE_URL
from harness import Process, database_command, free_port, http


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
    status, body, _ = http("PUT", database_server.url("a"), raw=b"{broken")
    assert status == 400 and "couldn't parse" in body["error"]
    status, body, _ = http("GET", database_server.url("a") + '&limitToFirst=2')
    assert status == 400 and "orderBy" in body["error"]
    status, body, _ = http("PATCH", database_server.url("a"), {"x": 1, "x/y": 2})
    assert status == 400 and body["error"] and (not ours or "ancestor" in body["error"])
    status, body, _ = http("PUT", database_server.base + "/a.b.json?ns=x", 1)
    assert status == 400 and body["error"] and (not ours or "Invalid key" in body["error"])
    with pytest.raises(exceptions.InvalidArgumentError):
        root.update({"a": 1, "a/b": 2})


def test_raw_protocol_details(database_server):
    database_server.reset()
    status, body, headers = http("PUT", database_server.url("p") + "&print=silent", {"a": 1})
    assert status == 204 and body is None
    status, body, headers = http("GET", database_server.url("p"), headers={"X-Firebase-ETag": "true"})
    assert status == 200 and body == {"a": 1} and headers["ETag"]
    status, _, _ = http("GET", database_server.url("p"), headers={"if-none-match": headers["ETag"]})
    assert status == 304
    status, body, got = http("PUT", database_server.url("p"), {"a": 2}, headers={"if-match": "stale"})
    assert status == 412 and body == {"a": 1} and got["ETag"] == headers["ETag"]
    status, body, _ = http("POST", database_server.url("p"), "")
    assert status == 200 and len(body["name"]) == 20
    status, body, _ = http("DELETE", database_server.url("p"))
    assert status == 200 and body is None


def test_persistence_survives_a_restart(tmp_path):
    data = tmp_path / "rtdb.json"
    for attempt in range(2):
        port = free_port()
        process = Process([*database_command(port), "--data", str(data)],
                          port, tmp_path / "emulator.log")
        url = f"{process.url}/subscribers/1544010213.json?ns=coronabot-test-default-rtdb"
        if attempt == 0:
            assert http("PUT", url, {"since": "kept"})[0] == 200
        else:
            assert http("GET", url)[1] == {"since": "kept"}
        process.stop()


def test_many_concurrent_writers(database_server):
    database_server.reset()
    errors = []

    def write(i):
        status, body, _ = http("PUT", database_server.url(f"many/{1544010213 + i}"), {"i": i})
        if status != 200:
            errors.append(body)
    threads = [threading.Thread(target=write, args=(i,)) for i in range(64)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == [] and len(database_server.get("many")) == 64
