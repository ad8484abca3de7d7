"""Polling benchmark: alert latency and source requests of the fixed schedule and of adaptive polling.

Run with `make bench` (or `.venv/bin/python bench/bench_polling.py`). It simulates 26 weeks of publications on
a fake clock, one call a minute as Cloud Scheduler makes them, through the real decision code
(`coronabot.model.publication`, as `scrape.Ticker` calls it): a weekly source on Thursdays between 09:00 and 11:30
KST with one week skipped and one two days late, and a daily source around 09:30 with one day skipped and one
five hours late. It reports latency from publication to the fetch that saw it, requests per week and the late
notices the admins would get. Figures go to bench/results/polling.json; the README quotes them.
"""

from __future__ import annotations

import json
import random
import statistics
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "lib"))
from coronabot.model.publication import decide, expectation, is_late  # noqa: E402
from coronabot.model.schedule import DEFAULT_SCHEDULES, Schedule  # noqa: E402
from coronabot.texts import KST  # noqa: E402
from coronabot_dev.harness import markdown_table  # noqa: E402

WEEKS = 26
LATE_AFTER = timedelta(hours=3)
START = datetime(2026, 1, 4, 0, 0, tzinfo=KST)  # a Sunday


def weekly_publications(rng: random.Random) -> list[datetime]:
    thursdays = [START + timedelta(days=4 + 7 * week) for week in range(WEEKS)]
    times = [day + timedelta(seconds=9 * 3600 + rng.randrange(150 * 60)) for day in thursdays]
    times[17] += timedelta(days=2)  # two days late
    del times[9]  # a week skipped
    return times


def daily_publications(rng: random.Random) -> list[datetime]:
    days = [START + timedelta(days=d) for d in range(7 * WEEKS)]
    times = [day + timedelta(seconds=9 * 3600 + 600 + rng.randrange(50 * 60)) for day in days]
    times[100] += timedelta(hours=5)  # five hours late
    del times[60]  # a day skipped
    return times


def simulate(publications: list[datetime], cadence: str, adaptive: bool) -> dict:
    fixed = Schedule(DEFAULT_SCHEDULES).times()
    pending = list(publications)
    first_seen: list[datetime] = []
    latencies: list[float] = []
    in_window: list[float] = []
    requests = notices = recoveries = 0
    last_fetch = None
    notified_window = None
    open_notice = False
    now = START
    end = START + timedelta(weeks=WEEKS)
    model = None
    while now < end:
        if adaptive:
            decision = decide(now, last_fetch, model, first_seen[-1] if first_seen else None)
            fetch = decision.fetch
        else:
            decision, fetch = None, (now.hour, now.minute) in fixed
        if fetch:
            requests += 1
            last_fetch = now
            published = [p for p in pending if p <= now]
            if published:
                newest = published[-1]
                pending = [p for p in pending if p > now]
                latency = (now - newest).total_seconds()
                latencies.append(latency)
                if decision is not None and decision.window and decision.window.start <= newest <= decision.window.end:
                    in_window.append(latency)
                first_seen.append(now)
                model = expectation(first_seen, cadence)
                if open_notice:
                    recoveries += 1
                    open_notice = False
            elif decision is not None and decision.window is not None and is_late(now, decision, LATE_AFTER) \
                    and decision.window.start != notified_window:
                notices += 1
                notified_window = decision.window.start
                open_notice = True
        now += timedelta(minutes=1)
    ordered = sorted(latencies)
    return {
        "publications": len(publications), "seen": len(latencies),
        "mean_latency_s": round(statistics.mean(latencies), 1),
        "p95_latency_s": round(ordered[int(0.95 * (len(ordered) - 1))], 1),
        "mean_latency_in_window_s": round(statistics.mean(in_window), 1) if in_window else None,
        "publications_in_window": len(in_window),
        "requests_per_week": round(requests / WEEKS, 1),
        "late_notices": notices, "arrival_notices": recoveries,
    }


def main() -> None:
    rng = random.Random(20261129)
    results = {}
    for source, publications, cadence in (("weekly (kdca-sentinel)", weekly_publications(rng), "weekly"),
                                          ("daily (mohw-daily, data-portal)", daily_publications(rng), "daily")):
        results[source] = {"fixed schedule": simulate(publications, cadence, adaptive=False),
                           "adaptive": simulate(publications, cadence, adaptive=True)}
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / "polling.json").write_text(json.dumps(results, indent=2))
    rows = []
    for source, policies in results.items():
        for policy, r in policies.items():
            within = "–" if r["mean_latency_in_window_s"] is None else \
                f"{r['mean_latency_in_window_s']:g} s ({r['publications_in_window']})"
            rows.append([source, policy, f"{r['mean_latency_s'] / 60:.1f} min", f"{r['p95_latency_s'] / 60:.1f} min",
                         within, r["requests_per_week"], f"{r['late_notices']} / {r['arrival_notices']}"])
    print(markdown_table(["source", "policy", "mean latency", "p95 latency", "mean inside the window (weeks)",
                          "source requests per week", "late / arrival notices"], rows))


if __name__ == "__main__":
    _started = time.monotonic()
    print("bench_polling: 26 simulated weeks, one call a minute, two sources, two policies ...", flush=True)
    main()
    print(f"bench_polling: done in {time.monotonic() - _started:.0f} s\n", flush=True)
