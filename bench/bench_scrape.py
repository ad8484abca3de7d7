"""Scrape benchmark: broadcast rate, duplicates, ledger writes and memory; the cost of a tick with nothing new
and of drawing the chart; per-chat choices at scale.

Run with `make bench` (or `.venv/bin/python bench/bench_scrape.py [--subscribers N] [--rates 25,100,300]
[--text-rates 300] [--choices-rate 300]`). Alerts carry their chart (sendPhoto: one upload, then by file_id)
at ``--rates`` and go as text messages (CHARTS=off) at ``--text-rates``.
It starts the local database, the fake Telegram server with 30 ms latency per call and the local source
server, then runs real scrape ticks as separate processes (`Ticker.tick`, the code the Cloud Function runs),
measuring at the servers; then a broadcast where the chats' choices skip, hold until the morning and send
now, and the morning tick that delivers the held alerts. Results go to bench/results/scrape.json and a
Markdown table on stdout.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from tqdm import tqdm

ROOT = Path(__file__).resolve().parent.parent
from coronabot_dev.harness import OWNER, Process, database_command, free_port, http, markdown_table  # noqa: E402

NAMESPACE = "coronabot-bench-default-rtdb"
LATENCY_MS = 30
DATABASE_LATENCY_MS = 80  # roughly Seoul to a database in Singapore, added by lib/coronabot_dev/latency_proxy.py
# Peak RSS is the tick's own VmHWM: getrusage's ru_maxrss survives exec, so a child forked by a large bench
# process reports the parent's size (the earlier figures of 98-125 MiB for a 10,000-chat tick were that).
TICK = ("import json, resource; from coronabot import config; from coronabot.tick.ticker import Ticker; "
        "summary = Ticker(config.load()).tick().as_dict(); usage = resource.getrusage(resource.RUSAGE_SELF); "
        "hwm = [line for line in open('/proc/self/status') if line.startswith('VmHWM')][0].split()[1]; "
        "print(json.dumps({'summary': summary, 'maxrss_kb': int(hwm), "
        "'cpu_seconds': usage.ru_utime + usage.ru_stime}))")


def cpu_seconds(process: Process | int) -> float:
    """User and system CPU time a server process (or the process of that pid) has used so far (from /proc)."""
    pid = process if isinstance(process, int) else process.proc.pid
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Bench:
    def __init__(self, workdir: Path):
        self.token = f"{secrets.randbelow(9 * 10**9) + 10**9}:{secrets.token_urlsafe(26)}"
        ports = [free_port() for _ in range(3)]
        self.database = Process(database_command(ports[0]), ports[0],
                                workdir / "rtdb.log")
        self.telegram = Process([sys.executable,
                                 "-m", "coronabot_dev.fake_telegram", "--port", str(ports[1]), "--token",
                                 self.token, "--latency-ms", str(LATENCY_MS)], ports[1], workdir / "telegram.log")
        self.sources = Process([sys.executable, "-m", "coronabot_dev.source_server", "--port", str(ports[2])], ports[2],
                               workdir / "sources.log")
        self.env = dict(os.environ, TELEGRAM_TOKEN=self.token, TELEGRAM_API_BASE=self.telegram.url,
                        FIREBASE_DATABASE_EMULATOR_HOST=f"127.0.0.1:{ports[0]}",
                        FIREBASE_DATABASE_URL=f"https://{NAMESPACE}.firebaseio.com", SOURCE="kdca-sentinel",
                        SOURCE_BASE_URL=self.sources.url, LOG_LEVEL="WARNING", POLLING="always")
        port = free_port()
        self.slow_database = Process([sys.executable,
                                      "-m", "coronabot_dev.latency_proxy", "--port", str(port), "--upstream",
                                      self.database.url, "--latency-ms", str(DATABASE_LATENCY_MS)], port,
                                     workdir / "latency-proxy.log")

    def stop(self) -> None:
        for process in (self.database, self.telegram, self.sources, self.slow_database):
            process.stop()

    def db_counts(self) -> Counter:
        return Counter(http("GET", f"{self.database.url}/__emulator/stats")[1])

    def tick(self, expected_messages: int = 0, **env) -> dict:
        """One tick as its own process; with ``expected_messages`` a live bar follows the fake Telegram's count."""
        started = time.monotonic()
        process = subprocess.Popen([sys.executable, "-c", TICK], cwd=ROOT, env=dict(self.env, **env),
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        bar = tqdm(total=expected_messages, unit="msg", leave=False, file=sys.stderr,
                   disable=not expected_messages or not sys.stderr.isatty())
        while process.poll() is None and expected_messages:
            time.sleep(0.5)
            accepted = http("GET", f"{self.telegram.url}/__stats")[1]["accepted"]
            bar.update(accepted.get("sendMessage", 0) + accepted.get("sendPhoto", 0) - bar.n)
        stdout, stderr = process.communicate(timeout=3600)
        bar.close()
        if process.returncode != 0:
            raise RuntimeError(stderr[-3000:])
        return dict(json.loads(stdout.strip().splitlines()[-1]), seconds=time.monotonic() - started)

    def reset(self, subscribers: int, choices: tuple[dict, ...] = ({},), english_every: int = 0) -> None:
        """An empty database with ``subscribers`` chats, the ``choices`` given to them in turn, and every
        ``english_every``-th chat reading English."""
        http("POST", f"{self.database.url}/__emulator/reset")
        http("DELETE", f"{self.telegram.url}/__calls")
        http("POST", f"{self.telegram.url}/__control", {"latency_ms": LATENCY_MS})
        chats = {str(5_000_000_000 + 7_919 * i): {"since": "2026-09-30T09:00:00+09:00", "chat_type": "private",
                                                  **({"prefs": choices[i % len(choices)]} if choices[i % len(choices)]
                                                     else {})}
                 for i in range(subscribers)}
        status, body, _ = http("PUT", f"{self.database.url}/subscribers.json?ns={NAMESPACE}", chats, timeout=120,
                               headers=OWNER)
        assert status == 200, body
        if english_every:
            english = {chat: "en" for i, chat in enumerate(chats) if i % english_every == 0}
            status, body, _ = http("PUT", f"{self.database.url}/languages.json?ns={NAMESPACE}", english, timeout=120,
                                   headers=OWNER)
            assert status == 200, body

    def broadcast(self, rate: int, subscribers: int, photo: bool = True, slow_database: bool = False,
                  english_every: int = 0) -> dict:
        self.reset(subscribers, english_every=english_every)
        before = self.db_counts()
        far = {"FIREBASE_DATABASE_EMULATOR_HOST": self.slow_database.url.removeprefix("http://")} \
            if slow_database else {}
        servers = {"fake Telegram": self.telegram, "database": self.database}
        if slow_database:
            servers["latency proxy"] = self.slow_database
        cpu_before = {name: cpu_seconds(process) for name, process in servers.items()}
        run = self.tick(subscribers, BROADCAST_RATE=str(rate), CHARTS="on" if photo else "off", **far)
        cpu = {"tick": run["cpu_seconds"]} | {name: cpu_seconds(process) - cpu_before[name]
                                              for name, process in servers.items()}
        after = self.db_counts()
        calls = http("GET", f"{self.telegram.url}/__calls", timeout=120)[1]
        accepted = [c for c in calls if c.get("status") == 200 and c["method"] in ("sendMessage", "sendPhoto")]
        times = sorted(c["time"] for c in accepted)
        per_chat = Counter(str(c["params"]["chat_id"]) for c in accepted)
        writes = sum(after[m] - before[m] for m in ("PUT", "PATCH", "POST", "DELETE"))
        uploads = sum(1 for c in accepted if c["method"] == "sendPhoto" and isinstance(c["params"].get("photo"), dict))
        # minus storing the past weeks, recording the announcement, the tick summary (and each chart's file_id)
        ledger_writes = after["PATCH"] - before["PATCH"] - 3 - uploads
        achieved = (len(times) - 1) / (times[-1] - times[0])
        return {
            "rate": rate, "subscribers": subscribers, "status": run["summary"]["status"],
            "message": "sendPhoto" if photo else "sendMessage", "uploads": uploads,
            "english_chats": len([1 for i in range(subscribers) if english_every and i % english_every == 0]),
            "delivered": len(per_chat), "sent_calls": len(accepted),
            "duplicates": sum(n - 1 for n in per_chat.values()),
            "achieved_per_second": round(achieved, 2), "fraction_of_rate": round(achieved / rate, 3),
            "ledger_writes": ledger_writes, "messages_per_ledger_write": round(len(accepted) / ledger_writes, 1),
            "database_writes_total": writes, "peak_rss_mib": round(run["maxrss_kb"] / 1024, 1),
            "database_latency_ms": DATABASE_LATENCY_MS if slow_database else 0,
            "sender_database_waits": run["summary"].get("database_waits"),
            "sender_database_wait_seconds": run["summary"].get("database_wait_seconds"),
            "cpu_ms_per_message": {name: round(1000 * seconds / max(len(accepted), 1), 2)
                                   for name, seconds in cpu.items()},
        }

    def accepted(self) -> list[dict]:
        calls = http("GET", f"{self.telegram.url}/__calls", timeout=120)[1]
        return [c for c in calls if c.get("status") == 200 and c["method"] in ("sendMessage", "sendPhoto")]

    def choices_broadcast(self, rate: int, subscribers: int) -> dict:
        """Per-chat choices at scale: a third skip the announcement (only when rising; the sample falls), a
        third hold it until the morning, a third get it now (silently, in the quiet hours). The evening tick
        runs in the quiet hours, the morning tick after them (QUIET_HOURS set around the current hour)."""
        hour = time.gmtime().tm_hour + 9
        night, morning = f"{hour % 24}-{(hour + 2) % 24}", f"{(hour + 3) % 24}-{(hour + 5) % 24}"
        self.reset(subscribers, ({"when": "rose"}, {"night": "hold"}, {}))
        runs = {}
        for name, quiet in (("evening", night), ("morning", morning)):
            before, calls_before = self.db_counts(), len(self.accepted())
            run = self.tick(subscribers // 3, BROADCAST_RATE=str(rate), CHARTS="off", QUIET_HOURS=quiet)
            after = self.db_counts()
            accepted = self.accepted()[calls_before:]
            times = sorted(c["time"] for c in accepted)
            summary = run["summary"] if name == "evening" else run["summary"]["morning"]
            # minus the fixed writes: the past weeks, the announcement and the tick summary (evening), the
            # tick summary (morning)
            ledger_writes = after["PATCH"] - before["PATCH"] - (3 if name == "evening" else 1)
            outcomes = sum(summary.get(k, 0) for k in ("sent", "skipped", "held", "removed", "failed"))
            runs[name] = {
                "sent": len(accepted), "skipped": summary.get("skipped", 0), "held": summary.get("held", 0),
                "achieved_per_second": round((len(times) - 1) / (times[-1] - times[0]), 2),
                "fraction_of_rate": round((len(times) - 1) / (times[-1] - times[0]) / rate, 3),
                "ledger_writes": ledger_writes, "outcomes_per_ledger_write": round(outcomes / ledger_writes, 1),
                "database_reads": after["GET"] - before["GET"], "peak_rss_mib": round(run["maxrss_kb"] / 1024, 1)}
        per_chat = Counter(str(c["params"]["chat_id"]) for c in self.accepted())
        return {"rate": rate, "subscribers": subscribers, **runs, "delivered": len(per_chat),
                "duplicates": sum(n - 1 for n in per_chat.values())}

    def chart_cost(self) -> dict:
        """What drawing the chart adds to the tick that records an announcement (one subscriber), as ratios to
        a tick with nothing new, and the renderer alone in this process (the median of five)."""
        runs = {}
        for name, charts in (("alert_as_text", "off"), ("alert_with_chart", "on")):
            self.reset(1)
            runs[name] = self.tick(CHARTS=charts)
        quiet = [self.tick(CHARTS="on") for _ in range(3)]
        quiet_seconds = sorted(q["seconds"] for q in quiet)[1]
        quiet_rss = max(q["maxrss_kb"] for q in quiet)
        png = http("GET", f"{self.telegram.url}/__calls?method=sendPhoto")[1][0]["params"]["photo"]["bytes"]
        sys.path.insert(0, str(ROOT / "lib"))
        from coronabot.model import history
        from coronabot.sources import kdca_sentinel
        started = time.monotonic()
        from coronabot.alerts import chart
        import_seconds = time.monotonic() - started
        answer = json.loads((ROOT / "tests" / "fixtures" / "kdca-ari-2024-w40-2026-w39-synthetic.json").read_text())
        series = history.chart_series(history.points(kdca_sentinel.parse_series(answer), kdca_sentinel.FIGURE),
                                      "2026-W39")
        assert series is not None, "two years of weeks draw a chart"
        renders = []
        for _ in range(5):
            started = time.monotonic()
            chart.render(kdca_sentinel.SOURCE, series)
            renders.append(time.monotonic() - started)
        return {
            "tick_seconds": {name: round(run["seconds"], 3) for name, run in runs.items()} | {
                "nothing_new": round(quiet_seconds, 3)},
            "tick_ratio_to_nothing_new": {name: round(run["seconds"] / quiet_seconds, 2) for name, run in runs.items()},
            "peak_rss_mib": {name: round(run["maxrss_kb"] / 1024, 1) for name, run in runs.items()} | {
                "nothing_new": round(quiet_rss / 1024, 1)},
            "peak_rss_ratio_to_nothing_new": round(runs["alert_with_chart"]["maxrss_kb"] / quiet_rss, 2),
            "png_bytes": png, "matplotlib_import_seconds": round(import_seconds, 3),
            "render_seconds_median": round(sorted(renders)[2], 3),
        }

    def quiet_tick(self) -> dict:
        """A tick after the announcement was alerted: nothing is new."""
        self.reset(10)
        self.tick()
        sources_before = len(http("GET", f"{self.sources.url}/__requests")[1])
        before = self.db_counts()
        run = self.tick()
        after = self.db_counts()
        return {"status": run["summary"]["status"],
                "source_requests": len(http("GET", f"{self.sources.url}/__requests")[1]) - sources_before,
                "database_requests": sum((after - before).values()),
                "database_requests_by_method": dict(after - before)}


def step(what: str, run):
    """Say what runs, run it, say how long it took (make bench is long: it should never look stuck)."""
    print(f"bench_scrape: {what} ...", flush=True)
    started = time.monotonic()
    result = run()
    print(f"bench_scrape: {what}: {time.monotonic() - started:.0f} s", flush=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscribers", type=int, default=10_000)
    parser.add_argument("--rates", default="25,100,300", help="broadcast rates with the chart (sendPhoto)")
    parser.add_argument("--text-rates", default="300", help="broadcast rates as text messages (CHARTS=off)")
    parser.add_argument("--choices-rate", type=int, default=300, help="the rate of the per-chat choices run")
    parser.add_argument("--english-rates", default="300",
                        help="broadcasts with the chart where every third chat reads English")
    parser.add_argument("--slow-database-rates", default="25,100,300,1000",
                        help=f"text broadcasts with {DATABASE_LATENCY_MS} ms added to every database request")
    args = parser.parse_args()
    started = time.monotonic()
    with tempfile.TemporaryDirectory() as tmp:
        bench = Bench(Path(tmp))
        try:
            runs = [(int(rate), True, False, 0) for rate in args.rates.split(",") if rate] + [
                (int(rate), True, False, 3) for rate in args.english_rates.split(",") if rate] + [
                (int(rate), False, False, 0) for rate in args.text_rates.split(",") if rate] + [
                (int(rate), False, True, 0) for rate in args.slow_database_rates.split(",") if rate]
            results = {"quiet_tick": step("a tick with nothing new", bench.quiet_tick),
                       "chart": step("the cost of drawing the chart", bench.chart_cost), "broadcast": [
                step(f"a broadcast {'with the chart' if photo else 'as text'} to {args.subscribers:,} subscribers "
                     f"{'(a third in English) ' if english else ''}"
                     f"at {rate} msg/s{f', the database {DATABASE_LATENCY_MS} ms away' if far else ''} "
                     f"(about {args.subscribers / rate:.0f} s)",
                     lambda rate=rate, photo=photo, far=far, english=english: bench.broadcast(
                         rate, args.subscribers, photo, far, english))
                for rate, photo, far, english in runs],
                       "choices": step(f"per-chat choices: {args.subscribers:,} subscribers, a third skip, a third "
                                       f"held until the morning, a third now, at {args.choices_rate} msg/s",
                                       lambda: bench.choices_broadcast(args.choices_rate, args.subscribers))}
        finally:
            bench.stop()
    print(f"bench_scrape: done in {time.monotonic() - started:.0f} s\n", flush=True)
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / "scrape.json").write_text(json.dumps(results, indent=2))
    print(f"Broadcast to {args.subscribers:,} subscribers, fake Telegram with {LATENCY_MS} ms per call:\n")
    print(markdown_table(
        ["BROADCAST_RATE", "message", "English chats", "database latency", "achieved / rate", "delivered",
         "duplicates", "uploads", "messages per ledger write", "senders' waits for the database", "peak RSS"],
        [[r["rate"], r["message"], f"{r['english_chats']:,}", f"+{r['database_latency_ms']} ms", r["fraction_of_rate"],
          f"{r['delivered']:,}",
          r["duplicates"], r["uploads"], r["messages_per_ledger_write"],
          f"{r['sender_database_waits']} ({r['sender_database_wait_seconds']} s)", f"{r['peak_rss_mib']} MiB"]
         for r in results["broadcast"]]))
    print("\nCPU per message (ms), by process: " + "; ".join(
        f"{r['rate']} msg/s {r['message']} +{r['database_latency_ms']} ms: {r['cpu_ms_per_message']}"
        for r in results["broadcast"]))
    cost = results["chart"]
    print(f"\nChart: PNG {cost['png_bytes']:,} bytes; render {cost['render_seconds_median']} s (matplotlib import "
          f"{cost['matplotlib_import_seconds']} s); tick time as a ratio to a tick with nothing new: "
          f"{cost['tick_ratio_to_nothing_new']}; peak RSS {cost['peak_rss_mib']} "
          f"(with chart / nothing new: {cost['peak_rss_ratio_to_nothing_new']})")
    choices = results["choices"]
    print(f"\nPer-chat choices, {choices['subscribers']:,} subscribers at {choices['rate']} msg/s (a third skip, a "
          "third held until the morning, a third now):\n")
    print(markdown_table(
        ["tick", "sent", "skipped", "held", "achieved / rate", "outcomes per ledger write", "database reads",
         "peak RSS"],
        [[name, f"{r['sent']:,}", f"{r['skipped']:,}", f"{r['held']:,}", r["fraction_of_rate"],
          r["outcomes_per_ledger_write"], r["database_reads"], f"{r['peak_rss_mib']} MiB"]
         for name, r in ((n, choices[n]) for n in ("evening", "morning"))]))
    print(f"\n{choices['delivered']:,} chats got a message, {choices['duplicates']} duplicates across both ticks")
    quiet = results["quiet_tick"]
    print(f"\nTick with nothing new: status {quiet['status']}, {quiet['source_requests']} source request(s), "
          f"{quiet['database_requests']} database request(s) {quiet['database_requests_by_method']}")


if __name__ == "__main__":
    main()
