"""Round trips: how long an answer waits on a database 40 ms away, against a hello-world function.

Run with `make bench` (or `.venv/bin/python bench/bench_round_trips.py`). The local database sits behind
lib/coronabot_dev/latency_proxy.py, which adds 40 ms to every request (a function and its database in nearby regions);
the webhook runs under functions-framework as deployed (build/functions/webhook). For /help, /now, an
inline query and /subscribe it measures, as medians:

- cold: launching the function to its first 200 answer to that update, against the same for a hello-world
  function (interleaved runs);
- warm: one instance answering update after update (concurrency 1), against hello-world's answer time;
- the database requests each answer made and how many waits in a row they took (the proxy's record).

Goals (issue 30): p50 of /help, /now and an inline query at most the floor + 50 ms, /subscribe at most the
floor + 100 ms. Printed as a Markdown table and written to bench/results/round_trips.json. Nothing here is a
pass/fail test: tests/test_round_trips_e2e.py counts the requests and waits.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
from coronabot_dev.harness import OWNER, Process, as_deployed, database_command, free_port, http, markdown_table  # noqa: E402
from coronabot_dev.latency_proxy import waits_in_a_row  # noqa: E402

NAMESPACE = "coronabot-bench-default-rtdb"
COLD_RUNS = 7
WARM_SAMPLES = 40
_ids = itertools.count(1)


def message(text: str, chat: int, code: str = "ko") -> bytes:
    return json.dumps({"update_id": next(_ids), "message": {
        "message_id": 1, "date": 1790000000, "text": text, "chat": {"id": chat, "type": "private"},
        "from": {"id": chat, "first_name": "지민", "language_code": code},
        "entities": [{"type": "bot_command", "offset": 0, "length": len(text)}]}}).encode()


def inline(user: int) -> bytes:
    return json.dumps({"update_id": next(_ids), "inline_query": {
        "id": f"b{next(_ids)}", "from": {"id": user, "first_name": "Sam", "language_code": "en"},
        "query": "", "offset": ""}}).encode()


ANSWERS = {
    "/help": lambda i: message("/help", 1544010213),
    "/now": lambda i: message("/now", 1544010213),
    "an inline query": lambda i: inline(7_000_000_000 + i),
    "/subscribe": lambda i: message("/subscribe", 5_100_000_000 + i),
}


def post(url: str, body: bytes, headers: dict) -> float:
    """Seconds to a 200 answer."""
    request = urllib.request.Request(url, data=body, method="POST",
                                     headers={"Content-Type": "application/json", **headers})
    started = time.perf_counter()
    with urllib.request.urlopen(request, timeout=30) as response:
        response.read()
        assert response.status == 200
    return time.perf_counter() - started


def launch(source: str, target: str, env: dict, workdir: Path) -> tuple[subprocess.Popen, int, float]:
    port = free_port()
    executable = Path(sys.executable).with_name("functions-framework")
    log = open(workdir / f"{target}.log", "ab")
    process = subprocess.Popen([str(executable), "--source", source, "--target", target, "--host", "127.0.0.1",
                                "--port", str(port)], cwd=ROOT, env=as_deployed(target, env), stdout=log,
                               stderr=subprocess.STDOUT)
    return process, port, time.perf_counter()


def first_answer(source: str, target: str, body: bytes, headers: dict, env: dict, workdir: Path) -> float:
    """From launching the function to its first 200 answer to ``body`` (the port polled every 2 ms)."""
    process, port, started = launch(source, target, env, workdir)
    try:
        while True:
            try:
                post(f"http://127.0.0.1:{port}/", body, headers)
                return time.perf_counter() - started
            except (urllib.error.URLError, ConnectionError):
                if process.poll() is not None:
                    raise RuntimeError(f"{target} exited: {(workdir / f'{target}.log').read_text()[-2000:]}") \
                        from None
                time.sleep(0.002)
    finally:
        process.terminate()
        process.wait(10)


def wait_until_up(port: int, process: subprocess.Popen) -> None:
    for _ in range(3000):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=1)
            return
        except urllib.error.HTTPError:
            return
        except (urllib.error.URLError, ConnectionError):
            if process.poll() is not None:
                raise RuntimeError("the function exited") from None
            time.sleep(0.01)


def warm(source: str, target: str, make, headers: dict, env: dict, workdir: Path) -> list[float]:
    process, port, _ = launch(source, target, env, workdir)
    try:
        wait_until_up(port, process)
        for i in range(WARM_SAMPLES, WARM_SAMPLES + 5):  # imports, clients and connections made
            post(f"http://127.0.0.1:{port}/", make(i), headers)
        return [post(f"http://127.0.0.1:{port}/", make(i), headers) for i in range(WARM_SAMPLES)]
    finally:
        process.terminate()
        process.wait(10)


def main(latency_ms: float, cold_runs: int) -> None:
    token = f"{secrets.randbelow(9 * 10**9) + 10**9}:{secrets.token_urlsafe(26)}"
    secret = secrets.token_urlsafe(24)
    subprocess.run(["make", "--no-print-directory", "vendor"], cwd=ROOT, check=True, capture_output=True)
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        db_port, proxy_port, tg_port = free_port(), free_port(), free_port()
        database = Process(database_command(db_port), db_port, workdir / "rtdb.log")
        proxy = Process([sys.executable, "-m", "coronabot_dev.latency_proxy", "--port", str(proxy_port), "--upstream",
                         database.url, "--latency-ms", str(latency_ms)], proxy_port, workdir / "proxy.log")
        telegram = Process([sys.executable,
                            "-m", "coronabot_dev.fake_telegram", "--port", str(tg_port), "--token", token],
                           tg_port, workdir / "telegram.log")
        env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "FIREBASE_", "SOURCE"))}
        env.update({"TELEGRAM_TOKEN": token, "TELEGRAM_WEBHOOK_SECRET": secret, "TELEGRAM_API_BASE": telegram.url,
                    "TELEGRAM_BOT_USERNAME": "CoronaAlertBenchBot", "LOG_LEVEL": "WARNING",
                    "FIREBASE_DATABASE_URL": f"https://{NAMESPACE}.firebaseio.com",
                    # without added latency, the database itself: the proxy's hop is not part of the answer
                    "FIREBASE_DATABASE_EMULATOR_HOST": f"127.0.0.1:{proxy_port if latency_ms else db_port}"})
        headers = {"X-Telegram-Bot-Api-Secret-Token": secret}
        http("PUT", f"{database.url}/state/latest.json?ns={NAMESPACE}", headers=OWNER, body=json.loads(
            (ROOT / "bench" / "latest-sample.json").read_text()))
        webhook = "build/functions/webhook/main.py"
        try:
            cold: dict[str, list[float]] = {"hello world": [], **{name: [] for name in ANSWERS}}
            for run in range(cold_runs):
                cold["hello world"].append(first_answer("bench/hello/main.py", "hello", b"{}", {}, env, workdir))
                for name, make in ANSWERS.items():
                    cold[name].append(first_answer(webhook, "webhook", make(900 + run), headers, env, workdir))
            warm_times = {"hello world": warm("bench/hello/main.py", "hello", lambda i: b"{}", {}, env, workdir)}
            counts = {}
            for name, make in ANSWERS.items():
                warm_times[name] = warm(webhook, "webhook", lambda i, make=make: make(20_000 + i), headers, env,
                                        workdir)
                http("DELETE", f"{proxy.url}/__proxy/requests")
                counted = dict(env, FIREBASE_DATABASE_EMULATOR_HOST=f"127.0.0.1:{proxy_port}")  # the proxy records
                process, port, _ = launch(webhook, "webhook", counted, workdir)
                try:
                    wait_until_up(port, process)
                    post(f"http://127.0.0.1:{port}/", make(90_000), headers)  # a new chat each time
                    http("DELETE", f"{proxy.url}/__proxy/requests")
                    post(f"http://127.0.0.1:{port}/", make(90_001), headers)
                finally:
                    process.terminate()
                    process.wait(10)
                made = http("GET", f"{proxy.url}/__proxy/requests")[1]
                counts[name] = {"requests": len(made), "waits": waits_in_a_row(made)}
        finally:
            for server in (telegram, proxy, database):
                server.stop()
    floor_cold, floor_warm = statistics.median(cold["hello world"]), statistics.median(warm_times["hello world"])
    results: dict[str, Any] = {"latency_ms": latency_ms, "answers": {}}
    for name in ANSWERS:
        c, w = statistics.median(cold[name]), statistics.median(warm_times[name])
        results["answers"][name] = {
            "cold_p50_ms": round(c * 1000, 1), "cold_over_floor_ms": round((c - floor_cold) * 1000, 1),
            "cold_ratio": round(c / floor_cold, 2),
            "warm_p50_ms": round(w * 1000, 1), "warm_over_floor_ms": round((w - floor_warm) * 1000, 1),
            **counts[name]}
    results["floor"] = {"cold_p50_ms": round(floor_cold * 1000, 1), "warm_p50_ms": round(floor_warm * 1000, 2)}
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / f"round_trips_{latency_ms:g}ms.json").write_text(json.dumps(results, indent=2))
    print(markdown_table(
        ["answer", "database requests", "waits in a row", "cold: over the floor", "cold: × the floor",
         "warm: over the floor"],
        [[f"`{name}`" if name.startswith("/") else name, r["requests"], r["waits"], f"+{r['cold_over_floor_ms']} ms",
          f"{r['cold_ratio']}×", f"+{r['warm_over_floor_ms']} ms"] for name, r in results["answers"].items()]))
    floor = results["floor"]
    print(f"\nfloor (hello world): cold {floor['cold_p50_ms']} ms, warm {floor['warm_p50_ms']} ms; every database "
          f"request {latency_ms:g} ms away")


if __name__ == "__main__":
    _parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    _parser.add_argument("--latency-ms", type=float, default=40.0, help="added to every database request")
    _parser.add_argument("--cold-runs", type=int, default=COLD_RUNS)
    _args = _parser.parse_args()
    _started = time.monotonic()
    print(f"bench_round_trips: a database {_args.latency_ms:g} ms away; {_args.cold_runs} cold starts and "
          f"{WARM_SAMPLES} warm answers each ...", flush=True)
    main(_args.latency_ms, _args.cold_runs)
    print(f"bench_round_trips: done in {time.monotonic() - _started:.0f} s\n", flush=True)
