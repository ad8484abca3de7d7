"""Webhook under attack: the worker's memory while oversized and slow bodies arrive, and how soon a wrong
secret is refused.

Run with `make bench` (or `.venv/bin/python bench/bench_webhook_attack.py`). It serves functions/webhook/main.py
under functions-framework (gunicorn, as deployed), then sends, 8 at a time, 32 MiB bodies with a wrong secret,
with the right secret, and chunked with the right secret, and reads the worker's peak RSS (VmHWM) from /proc
before and after. It also times the answer to a slow body (100,000 bytes announced, 5 sent). Figures go to
bench/results/webhook_attack.json; the README quotes them. Nothing here is a pass/fail test.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
from coronabot_dev.harness import Process, as_deployed, free_port, markdown_table  # noqa: E402

BODY_BYTES = 32 * 1024 * 1024
CONCURRENT = 8
PIECE = b"x" * (1024 * 1024)


def worker_pids(master: int) -> list[int]:
    """The gunicorn workers: the functions-framework process's children (waiting for the first)."""
    deadline = time.time() + 30
    while time.time() < deadline:
        children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
        if children:
            return [int(child) for child in children]
        time.sleep(0.1)
    raise RuntimeError("no gunicorn worker appeared")


def memory_mib(pid: int) -> dict[str, float]:
    fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line)
    return {name: round(int(fields[name].split()[0]) / 1024, 1) for name in ("VmRSS", "VmHWM")}


def send(port: int, headers: dict, chunked: bool) -> int | None:
    """Send a 32 MiB body (or as much as the server takes) and return the status it answered, if any."""
    head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    status = None
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(f"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\n{head}\r\n".encode())
        try:
            for _ in range(BODY_BYTES // len(PIECE)):
                sock.sendall(b"%x\r\n%s\r\n" % (len(PIECE), PIECE) if chunked else PIECE)
            if chunked:
                sock.sendall(b"0\r\n\r\n")
        except OSError:
            pass  # the server answered and closed without reading the rest: what it should do
        try:
            line = sock.makefile("rb").readline()
            status = int(line.split()[1]) if line else None
        except (OSError, IndexError, ValueError):
            status = None
    return status


def attack(port: int, headers: dict, chunked: bool = False) -> list[int | None]:
    statuses: list[int | None] = []
    threads = [threading.Thread(target=lambda: statuses.append(send(port, headers, chunked)))
               for _ in range(CONCURRENT)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return statuses


SLOW_BODY_PATIENCE = 10.0


def slow_body_seconds(port: int) -> tuple[int | None, float]:
    """Seconds until a slow body with a wrong secret (100,000 bytes announced, 5 sent) is answered; (None,
    patience) when no answer came within SLOW_BODY_PATIENCE seconds."""
    with socket.create_connection(("127.0.0.1", port), timeout=SLOW_BODY_PATIENCE) as sock:
        start = time.perf_counter()
        sock.sendall(b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                     b"X-Telegram-Bot-Api-Secret-Token: wrong\r\nContent-Length: 100000\r\n\r\n12345")
        try:
            line = sock.makefile("rb").readline()
        except TimeoutError:
            return None, SLOW_BODY_PATIENCE
        return int(line.split()[1]), time.perf_counter() - start


def main() -> None:
    subprocess.run(["make", "--no-print-directory", "vendor"], cwd=ROOT, check=True, capture_output=True)
    secret = secrets.token_urlsafe(24)
    port = free_port()
    env = dict(os.environ, TELEGRAM_WEBHOOK_SECRET=secret, LOG_LEVEL="WARNING",
               FIREBASE_DATABASE_EMULATOR_HOST=f"127.0.0.1:{free_port()}",
               FIREBASE_DATABASE_URL="https://coronabot-bench-default-rtdb.firebaseio.com")
    framework = str(Path(sys.executable).with_name("functions-framework"))
    rows: list[list[object]] = []
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        server = Process([framework, "--source", "build/functions/webhook/main.py", "--target", "webhook",
                          "--host", "127.0.0.1", "--port", str(port)], port, Path(tmp) / "webhook.log",
                         as_deployed("webhook", env))
        try:
            worker = worker_pids(server.proc.pid)[0]
            slow_status, slow_seconds = slow_body_seconds(port)
            idle = memory_mib(worker)
            results["idle"] = idle
            wrong = {"Content-Type": "application/json", "Content-Length": str(BODY_BYTES),
                     "X-Telegram-Bot-Api-Secret-Token": "wrong"}
            right = dict(wrong, **{"X-Telegram-Bot-Api-Secret-Token": secret})
            chunked = {"Content-Type": "application/json", "Transfer-Encoding": "chunked",
                       "X-Telegram-Bot-Api-Secret-Token": secret}
            for name, headers, is_chunked in (("wrong secret", wrong, False), ("right secret", right, False),
                                              ("right secret, chunked", chunked, True)):
                statuses = attack(port, headers, is_chunked)
                after = memory_mib(worker)
                results[name] = {"statuses": statuses, **after}
                rows.append([f"{CONCURRENT} × 32 MiB, {name}", ", ".join(sorted({str(s) for s in statuses})),
                             after["VmHWM"], round(after["VmHWM"] - idle["VmHWM"], 1)])
        finally:
            server.stop()
    results["slow_body"] = {"status": slow_status, "seconds": round(slow_seconds, 3)}
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / "webhook_attack.json").write_text(json.dumps(results, indent=2))
    print(f"webhook worker idle: RSS {idle['VmRSS']} MiB, peak {idle['VmHWM']} MiB")
    print(markdown_table(["attack", "answers", "worker peak RSS after (MiB)", "growth (MiB)"], rows))
    answer = f"{slow_status} after {slow_seconds * 1000:.0f} ms" if slow_status else \
        f"no answer within {SLOW_BODY_PATIENCE:g} s"
    print(f"\nslow body with a wrong secret (100,000 bytes announced, 5 sent): {answer}")


if __name__ == "__main__":
    _started = time.monotonic()
    print("bench_webhook_attack: 8 × 32 MiB bodies three ways against the webhook under gunicorn ...", flush=True)
    main()
    print(f"bench_webhook_attack: done in {time.monotonic() - _started:.0f} s\n", flush=True)
