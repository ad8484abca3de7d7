"""Helpers shared by the tests and the benchmarks: free ports, server processes, plain HTTP calls."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from coronabot_dev.rtdb.loopback import LoopbackHandler, LoopbackServer  # noqa: F401 (the fakes serve through them)

ROOT = Path(__file__).resolve().parents[2]  # the repository
# What the Admin SDK sends to a database emulator; without it the rules file's .read/.write rules apply.
OWNER = {"Authorization": "Bearer owner"}


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def http(method: str, url: str, body: object = None, headers: dict | None = None, raw: bytes | None = None,
         timeout: float = 30) -> tuple[int, Any, dict[str, str]]:
    """One HTTP request; returns (status, decoded JSON or text, headers)."""
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    request = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    if data is not None and "Content-Type" not in (headers or {}):
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status, payload, got = response.status, response.read(), dict(response.headers)
    except urllib.error.HTTPError as exc:
        status, payload, got = exc.code, exc.read(), dict(exc.headers)
    text = payload.decode("utf-8", errors="replace")
    try:
        return status, json.loads(text) if text else None, got
    except ValueError:
        return status, text, got


def wait_for_port(port: int, process: subprocess.Popen, log: Path, timeout: float = 30) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited early:\n{log.read_text()[-3000:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"server did not listen on {port}:\n{log.read_text()[-3000:]}")


def database_command(port: int, rules: Path = ROOT / "database.rules.json") -> list[str]:
    """The local Realtime Database on port, enforcing ``rules`` (the production rules): their indexes, and their
    read and write rules for any request that is not an admin's."""
    return [sys.executable, "-m", "coronabot_dev.rtdb", "--port", str(port), "--rules", str(rules)]


class Process:
    """A server process in its own process group, logging to a file; stopped with SIGTERM, then SIGKILL."""

    def __init__(self, args: list[str], port: int, log: Path, env: dict | None = None):
        self.port, self.log, self.args = port, log, args
        self.url = f"http://127.0.0.1:{port}"
        self._log_handle = open(log, "ab")
        self.proc = subprocess.Popen(args, cwd=ROOT, env=env or os.environ.copy(), stdout=self._log_handle,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        wait_for_port(port, self.proc, log)

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)
        self._log_handle.close()

    def output(self) -> str:
        return self.log.read_text(errors="replace")


def as_deployed(name: str, env: dict | None = None) -> dict:
    """The environment of a function process serving ``build/functions/NAME`` as deployed: its folder first
    on ``PYTHONPATH``, so its vendored (and compiled) package is imported, not the checkout's editable
    ``lib/`` (functions-framework appends the source's folder to ``sys.path``, after site-packages)."""
    env = dict(os.environ if env is None else env)
    folder = str(ROOT / "build" / "functions" / name)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (folder, env.get("PYTHONPATH", "")) if p)
    return env


def markdown_table(headers: list[str], rows: list[list[object]]) -> str:
    """A Markdown table, as the benchmarks print it for the README."""
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)
