"""Webhook benchmark: warm handling time per update, requests per command, import time of the entry module.

Run with `make bench` (or `.venv/bin/python bench/bench_webhook.py`). It starts the local database and the
fake Telegram server on loopback, handles updates in-process through the same function the Cloud Function
calls, and counts requests at the servers. Figures are printed as a Markdown table and written to
bench/results/webhook.json; the README quotes them. Nothing here is a pass/fail test.
"""

from __future__ import annotations

import io
import json
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
from coronabot_dev.harness import OWNER, Process, as_deployed, database_command, free_port, http, markdown_table  # noqa: E402

NAMESPACE = "coronabot-bench-default-rtdb"
SAMPLES = 200
IMPORT_RUNS = 15


def start_servers(workdir: Path, token: str) -> tuple[Process, Process]:
    db_port, tg_port = free_port(), free_port()
    database = Process(database_command(db_port), db_port,
                       workdir / "rtdb.log")
    telegram = Process([sys.executable, "-m", "coronabot_dev.fake_telegram", "--port", str(tg_port), "--token", token],
                       tg_port, workdir / "telegram.log")
    return database, telegram


GROUP_ADMIN = 1544010288
HOSTILE_TEXT = "a" + "?" * 4094 + "a"  # any user can send it; it was quadratic in the old command matcher


def update(update_id: int, chat_id: int, text: str, sender: int | None = None, code: str = "ko") -> bytes:
    chat_type = "private" if chat_id > 0 else "supergroup"
    return json.dumps({"update_id": update_id, "message": {
        "message_id": 1, "date": 1790000000, "chat": {"id": chat_id, "type": chat_type},
        "from": {"id": sender or chat_id, "first_name": "지민", "language_code": code}, "text": text}}).encode()


def press(update_id: int, chat_id: int, data: str) -> bytes:
    """A button press on the /settings message of a private chat."""
    return json.dumps({"update_id": update_id, "callback_query": {
        "id": f"bench-{update_id}", "from": {"id": chat_id, "first_name": "지민", "language_code": "ko"},
        "chat_instance": "1", "data": data,
        "message": {"message_id": 7, "date": 1790000000, "chat": {"id": chat_id, "type": "private"}}}}).encode()


def inline_query(update_id: int, user: int, code: str = "en") -> bytes:
    """``@bot`` typed in some chat by a user the bot never met."""
    return json.dumps({"update_id": update_id, "inline_query": {
        "id": f"bench-{update_id}", "from": {"id": user, "first_name": "Sam", "language_code": code},
        "query": "", "offset": ""}}).encode()


def counts(database: Process, telegram: Process) -> tuple[int, int, int]:
    stats = http("GET", f"{database.url}/__emulator/stats")[1]
    reads = stats.get("GET", 0)
    writes = sum(stats.get(m, 0) for m in ("PUT", "PATCH", "POST", "DELETE"))
    return reads, writes, len(http("GET", f"{telegram.url}/__calls")[1])


def handling(database: Process, telegram: Process, secret: str) -> dict:
    from coronabot.entry.webhook import handle_request

    headers = {"X-Telegram-Bot-Api-Secret-Token": secret}

    def handle(body: bytes) -> None:
        status, _ = handle_request("POST", headers, lambda: io.BytesIO(body), len(body))
        assert status == 200

    http("PUT", f"{database.url}/state/latest.json?ns={NAMESPACE}", headers=OWNER, body=json.loads(
        (ROOT / "bench" / "latest-sample.json").read_text()))
    groups = [-1_005_000_000_000 - i for i in range(SAMPLES)]
    http("POST", f"{telegram.url}/__control", {"chat_members": {
        str(group): {str(GROUP_ADMIN): "administrator"} for group in [*groups, -1_004_999_999_999]}})
    latest = json.loads((ROOT / "bench" / "latest-sample.json").read_text())
    weeks = {f"2026-W{week:02d}": dict(latest, id=f"2026-W{week:02d}", order=f"2026-W{week:02d}")
             for week in range(1, 40)}  # 39 weeks of history: /history reads the newest 13
    http("PUT", f"{database.url}/history/{latest['source']}.json?ns={NAMESPACE}", headers=OWNER, body=weeks)
    http("PUT", f"{database.url}/charts/{latest['source']}.json?ns={NAMESPACE}", headers=OWNER, body={
        "file_id": "AgACAgUAAxkDAAIBchart", "announcement": "2026-W39", "period": "2026년 39주"})
    http("PUT", f"{database.url}/languages/1544030000.json?ns={NAMESPACE}", headers=OWNER, body="en")
    handle(update(1, 1544010213, "/help"))  # warm: imports and clients
    results = {}
    commands = {"/help": lambda i: update(10_000 + i, 1544010213, "/help"),
                "/help in English": lambda i: update(120_000 + i, 1544010214, "/help", code="en"),
                "/help in a chat that chose English": lambda i: update(140_000 + i, 1544030000, "/help"),
                "an inline query": lambda i: inline_query(130_000 + i, 7_000_000_000 + i),
                "/subscribe": lambda i: update(20_000 + i, 5_000_000_000 + i, "/subscribe"),
                "/now": lambda i: update(30_000 + i, 1544010213, "/now"),
                "/history": lambda i: update(70_000 + i, 1544010213, "/history"),
                "/chart": lambda i: update(80_000 + i, 1544010213, "/chart"),
                "/settings": lambda i: update(90_000 + i, 5_000_000_000 + i, "/settings"),
                "a /settings button press": lambda i: press(100_000 + i, 5_000_000_000 + i, "s1:set:when:rose"),
                "/status": lambda i: update(110_000 + i, 5_000_000_000 + i, "/status"),
                "/subscribe in a group (admin check)": lambda i: update(40_000 + i, groups[i], "/subscribe",
                                                                         GROUP_ADMIN),
                "/subscribe in a group again within a minute": lambda i: update(50_000 + i, -1_004_999_999_999,
                                                                                 "/subscribe", GROUP_ADMIN),
                "a 4,096-character `a?…?a`": lambda i: update(60_000 + i, 1544010213, HOSTILE_TEXT)}
    for name, make in commands.items():
        before = counts(database, telegram)
        times = []
        for i in range(SAMPLES):
            body = make(i)
            start = time.perf_counter()
            handle(body)
            times.append(time.perf_counter() - start)
        after = counts(database, telegram)
        results[name] = {
            "median_ms": round(statistics.median(times) * 1000, 2),
            "p90_ms": round(statistics.quantiles(times, n=10)[-1] * 1000, 2),
            "db_reads_per_update": (after[0] - before[0]) / SAMPLES,
            "db_writes_per_update": (after[1] - before[1]) / SAMPLES,
            "telegram_requests_per_update": (after[2] - before[2]) / SAMPLES,
        }
    results["a 4,096-character `a?…?a`"]["median_vs_help"] = round(
        results["a 4,096-character `a?…?a`"]["median_ms"] / max(results["/help"]["median_ms"], 0.001), 2)
    return results


COLD_RUNS = 9


def first_answer_seconds(source: str, target: str, body: bytes, headers: dict, workdir: Path) -> float:
    """From launching functions-framework to the first 200 answer to ``body`` (the port polled every 2 ms)."""
    import urllib.error
    import urllib.request

    port = free_port()
    executable = Path(sys.executable).with_name("functions-framework")
    started = time.perf_counter()
    with open(workdir / f"cold-{target}.log", "ab") as log:
        process = subprocess.Popen([str(executable), "--source", source, "--target", target, "--host", "127.0.0.1",
                                    "--port", str(port)], cwd=ROOT, env=as_deployed(target), stdout=log,
                                   stderr=subprocess.STDOUT)
    try:
        while True:
            request = urllib.request.Request(f"http://127.0.0.1:{port}/", data=body, method="POST",
                                             headers={"Content-Type": "application/json", **headers})
            try:
                with urllib.request.urlopen(request, timeout=10) as response:
                    if response.status == 200:
                        return time.perf_counter() - started
            except (urllib.error.URLError, ConnectionError):
                if process.poll() is not None:
                    output = (workdir / f"cold-{target}.log").read_text()[-2000:]
                    raise RuntimeError(f"{target} exited: {output}") from None
                time.sleep(0.002)
    finally:
        process.terminate()
        process.wait(10)


def cold_start(secret: str, workdir: Path, database_url: str) -> dict:
    """Launch to the first 200 for /help (in Korean and in English), /subscribe and an inline query, as
    ratios to a hello-world function, interleaved runs of each (median of COLD_RUNS)."""
    headers = {"X-Telegram-Bot-Api-Secret-Token": secret}
    times: dict[str, list[float]] = {"hello world": [], "/help": [], "/help in English": [],
                                     "/help in English, chosen": [], "/subscribe": [], "an inline query": []}
    webhook = "build/functions/webhook/main.py"
    chosen = {str(1544030000 + run): "en" for run in range(COLD_RUNS)}  # chats that chose English with /lang
    http("PATCH", f"{database_url}/languages.json?ns={NAMESPACE}", headers=OWNER, body=chosen)
    for run in range(COLD_RUNS):
        times["hello world"].append(first_answer_seconds("bench/hello/main.py", "hello", b"{}", {}, workdir))
        times["/help"].append(first_answer_seconds(webhook, "webhook",
                                                   update(900_000 + run, 1544010213, "/help"), headers, workdir))
        times["/help in English"].append(first_answer_seconds(
            webhook, "webhook", update(920_000 + run, 1544010215, "/help", code="en"), headers, workdir))
        times["/help in English, chosen"].append(first_answer_seconds(
            webhook, "webhook", update(940_000 + run, 1544030000 + run, "/help", code="ko"), headers, workdir))
        times["an inline query"].append(first_answer_seconds(
            webhook, "webhook", inline_query(930_000 + run, 7_100_000_000 + run), headers, workdir))
        times["/subscribe"].append(first_answer_seconds(
            "build/functions/webhook/main.py", "webhook", update(910_000 + run, 6_000_000_000 + run, "/subscribe"),
            headers, workdir))
    medians = {name: statistics.median(values) for name, values in times.items()}
    return {"median_ms": {name: round(value * 1000, 1) for name, value in medians.items()},
            "ratio_to_hello_world": {name: round(value / medians["hello world"], 2)
                                     for name, value in medians.items() if name != "hello world"}}


def import_seconds(statement: str) -> float:
    """Median wall time of `statement` in fresh interpreters that already imported functions_framework."""
    code = ("import functions_framework, time, sys; sys.path.insert(0, 'build/functions/webhook'); "
            f"t = time.perf_counter(); {statement}; print(time.perf_counter() - t)")
    runs = []
    for _ in range(IMPORT_RUNS):
        out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
        runs.append(float(out.stdout.strip()))
    return statistics.median(runs)


def main() -> None:
    token = f"{secrets.randbelow(9 * 10**9) + 10**9}:{secrets.token_urlsafe(26)}"
    secret = secrets.token_urlsafe(24)
    with tempfile.TemporaryDirectory() as tmp:
        database, telegram = start_servers(Path(tmp), token)
        os.environ.update({"TELEGRAM_TOKEN": token, "TELEGRAM_WEBHOOK_SECRET": secret,
                           "TELEGRAM_API_BASE": telegram.url, "TELEGRAM_BOT_USERNAME": "CoronaAlertBenchBot",
                           "FIREBASE_DATABASE_EMULATOR_HOST": f"127.0.0.1:{database.port}",
                           "FIREBASE_DATABASE_URL": f"https://{NAMESPACE}.firebaseio.com", "LOG_LEVEL": "WARNING"})
        try:
            results = {"handling": handling(database, telegram, secret),
                       "cold_start": cold_start(secret, Path(tmp), database.url)}
        finally:
            database.stop()
            telegram.stop()
    entry = import_seconds("import main")
    baseline = import_seconds("import firebase_admin.db, telepot")
    results["import"] = {"entry_module_ms": round(entry * 1000, 1),
                         "firebase_db_and_telepot_ms": round(baseline * 1000, 1), "ratio": round(entry / baseline, 3)}
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / "webhook.json").write_text(json.dumps(results, indent=2))
    handled = results["handling"]
    print(markdown_table(
        ["command", "median ms", "p90 ms", "DB reads", "DB writes", "Telegram requests"],
        [[name if " " in name else f"`{name}`", r["median_ms"], r["p90_ms"], f"{r['db_reads_per_update']:g}",
          f"{r['db_writes_per_update']:g}", f"{r['telegram_requests_per_update']:g}"] for name, r in handled.items()]))
    print(f"\nthe 4,096-character hostile text costs {handled['a 4,096-character `a?…?a`']['median_vs_help']}× /help")
    cold = results["cold_start"]
    print(f"\ncold start, launch to the first 200 (median of {COLD_RUNS}): {cold['median_ms']} ms; "
          f"as a ratio to hello world: {cold['ratio_to_hello_world']}")
    imp = results["import"]
    print(f"\nimport of functions/webhook/main.py: {imp['entry_module_ms']} ms; firebase_admin.db + telepot alone: "
          f"{imp['firebase_db_and_telepot_ms']} ms; ratio {imp['ratio']}")


if __name__ == "__main__":
    _started = time.monotonic()
    print("bench_webhook: 200 updates per command, then import times in 30 fresh interpreters ...", flush=True)
    main()
    print(f"bench_webhook: done in {time.monotonic() - _started:.0f} s\n", flush=True)
