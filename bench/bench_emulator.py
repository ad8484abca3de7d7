"""Local database benchmark: what a ledger write costs as the ledger grows.

Run with `make bench` (or `.venv/bin/python bench/bench_emulator.py [--sizes 1000,100000]`). It starts
the embedded database (`python -m coronabot_dev.rtdb`) on loopback, fills `/deliveries/k` with N entries, then
times 50-entry multi-path PATCHes (what a broadcast's ledger writer sends) and plain GETs of one entry, through the real
firebase-admin client. With `--compare REV` it runs the same against the emulator of that git revision
too, side by side. Results go to bench/results/emulator.json and a Markdown table on stdout.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
from coronabot_dev.harness import OWNER, Process, free_port, http, markdown_table  # noqa: E402

NAMESPACE = "coronabot-bench-default-rtdb"
WRITES = 40


def measure(emulator: list[str], size: int, workdir: Path) -> dict:
    """``emulator``: the command that starts one, without its port."""
    import firebase_admin
    from firebase_admin import db

    port = free_port()
    process = Process([*emulator, "--port", str(port)], port, workdir / f"rtdb-{size}.log")
    try:
        ledger = {str(5_000_000_000 + i): "sent" for i in range(size)}
        status, body, _ = http("PUT", f"{process.url}/deliveries/k.json?ns={NAMESPACE}", ledger, headers=OWNER,
                               timeout=300)
        assert status == 200, body
        os.environ["FIREBASE_DATABASE_EMULATOR_HOST"] = f"127.0.0.1:{port}"
        app = firebase_admin.initialize_app(options={"databaseURL": f"https://{NAMESPACE}.firebaseio.com"},
                                            name=f"bench-{port}")
        try:
            root = db.reference("/", app=app)
            writes, reads = [], []
            for batch in range(WRITES):
                changes = {f"deliveries/k/{6_000_000_000 + batch * 50 + i}": "sent" for i in range(50)}
                started = time.perf_counter()
                root.update(changes)
                writes.append(time.perf_counter() - started)
                started = time.perf_counter()
                root.child("broadcasts/k/lease").get()
                reads.append(time.perf_counter() - started)
        finally:
            firebase_admin.delete_app(app)
        return {"ledger_entries": size, "write_ms": round(statistics.median(writes) * 1000, 2),
                "read_ms": round(statistics.median(reads) * 1000, 2)}
    finally:
        process.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,100000")
    parser.add_argument("--compare", default="", help="a git revision whose emulator is measured too")
    args = parser.parse_args()
    sizes = [int(size) for size in args.sizes.split(",") if size]
    results: dict = {}
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        emulators = {"this checkout": [sys.executable, "-m", "coronabot_dev.rtdb"]}
        if args.compare:
            old = workdir / "rtdb_emulator_old.py"
            old.write_text(subprocess.run(["git", "show", f"{args.compare}:tools/rtdb_emulator.py"], cwd=ROOT,
                                          capture_output=True, text=True, check=True).stdout)
            (workdir / "harness.py").write_text((ROOT / "lib" / "coronabot_dev" / "rtdb" / "loopback.py").read_text())
            emulators[args.compare] = [sys.executable, str(old)]  # the revision's single-file emulator
        for name, emulator in emulators.items():
            results[name] = [measure(emulator, size, workdir) for size in sizes]
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / "emulator.json").write_text(json.dumps(results, indent=2))
    rows = []
    for name, runs in results.items():
        first = runs[0]
        for run in runs:
            rows.append([name, f"{run['ledger_entries']:,}", run["write_ms"], run["read_ms"],
                         round(run["write_ms"] / first["write_ms"], 2)])
    print(markdown_table(["emulator", "ledger entries", "50-entry PATCH, median ms", "1-value GET, median ms",
                          f"PATCH time / at {sizes[0]:,}"], rows))


if __name__ == "__main__":
    print("bench_emulator: ledger writes as the ledger grows ...", flush=True)
    main()
