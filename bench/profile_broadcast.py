"""Where a broadcast's sending threads spend their time: a py-spy profile of one real scrape tick.

Run with `.venv/bin/python bench/profile_broadcast.py [--rate 300] [--subscribers 10000]` where `py-spy` is on
PATH (`pip install py-spy` in any environment; it is not a project dependency). It sets up the same servers
as bench/bench_scrape.py, records the tick process with py-spy (idle frames included, so waiting shows), and
prints, for the sending threads, the share of samples waiting on the Telegram call, the rate limiter, the
ledger (database writes or their lock) and everything else. Not part of `make bench`.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
from bench_scrape import TICK, Bench  # noqa: E402

CATEGORIES = (("ledger (database write, lease read, or waiting for them)",
               ("ledger.py", "Ledger", "lease_owner")),
              ("Telegram call", ("send_message", "_api_request", "urlopen", "urllib3")),
              ("rate limiter", ("RateLimiter.wait", "broadcast.py:wait")))


def classify(stack: str) -> str:
    for name, markers in CATEGORIES:
        if any(marker in stack for marker in markers):
            return name
    return "other"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=int, default=300)
    parser.add_argument("--subscribers", type=int, default=10_000)
    args = parser.parse_args()
    spy = shutil.which("py-spy")
    if spy is None:
        sys.exit("py-spy is not on PATH: pip install py-spy")
    with tempfile.TemporaryDirectory() as tmp:
        bench = Bench(Path(tmp))
        try:
            bench.reset(args.subscribers)
            raw = Path(tmp) / "profile.txt"
            env = dict(bench.env, BROADCAST_RATE=str(args.rate))
            subprocess.run([spy, "record", "--idle", "--threads", "--format", "raw", "--rate", "200", "--output",
                            str(raw), "--", sys.executable, "-c", TICK], cwd=ROOT, env=env, check=True,
                           capture_output=True, timeout=3600)
        finally:
            bench.stop()
        shares: Counter = Counter()
        for line in raw.read_text().splitlines():
            stack, _, count = line.rpartition(" ")
            if "deliver" not in stack:  # only the sending threads
                continue
            shares[classify(stack)] += int(count)
    total = sum(shares.values()) or 1
    print(f"sending threads at {args.rate} msg/s ({total} samples, idle included):")
    for name, share in shares.most_common():
        print(f"  {name}: {100 * share / total:.1f}%")


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
