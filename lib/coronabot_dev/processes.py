"""The local tools' processes: children in their own process group, stopped in order, never orphaned;
ports chosen, waited for, and refused with a clear word when taken."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from pathlib import Path
from typing import BinaryIO

from coronabot import config

REPO = Path(__file__).resolve().parents[2]  # children run from the repository's root
BUILD = REPO / "build" / "functions"  # what `make vendor` makes: each function's folder as it is deployed

class Stop(Exception):
    """Raised by the signal handlers to leave the polling loop at once."""


def wait_for_port(host: str, port: int, process: subprocess.Popen | None, what: str, timeout: float = 20) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if process is not None and process.poll() is not None:
            raise config.ConfigError(f"{what} exited at start (is port {port} already in use?)")
        with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=0.2):
            return
        time.sleep(0.05)
    raise config.ConfigError(f"{what} did not start listening on {host}:{port}")


def child(args: list[str], env: dict | None = None, output: BinaryIO | None = None) -> subprocess.Popen:
    """A child in its own process group, sent SIGTERM if this process dies, so none is left orphaned.

    Its own group keeps a terminal's Ctrl-C away from it: only ``_stop`` signals it, once. gunicorn's
    threaded worker deadlocks when a second quit signal arrives while it handles the first, which is
    what a Ctrl-C to the whole group followed by the arbiter's own signal used to do.
    """
    def die_with_parent() -> None:
        with contextlib.suppress(OSError, AttributeError):
            import ctypes

            ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG

    return subprocess.Popen(args, cwd=REPO, env=env, preexec_fn=die_with_parent, process_group=0, stdout=output,
                            stderr=subprocess.STDOUT if output is not None else None)


def _signal_group(process: subprocess.Popen, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signum)


def stop_all(processes: list[subprocess.Popen]) -> None:
    """SIGTERM each child's group, then SIGKILL what is left after 10 s, grandchildren included."""
    for process in processes:
        if process.poll() is None:
            _signal_group(process, signal.SIGTERM)
    for process in processes:
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            pass
        _signal_group(process, signal.SIGKILL)
        process.wait(5)


def free_local_port(name: str, default: int) -> int:
    """The port setting ``name``, checked to be a port number nothing on 127.0.0.1 listens on yet."""
    raw = os.environ.get(name, "").strip() or str(default)
    if not raw.isdigit() or not 0 < int(raw) < 65536:
        raise config.ConfigError(f"{name} must be a port number, got {raw!r}")
    port = int(raw)
    with socket.socket() as probe:
        probe.settimeout(1)
        taken = probe.connect_ex(("127.0.0.1", port)) == 0
    if taken:
        raise config.ConfigError(
            f"port {port} ({name}) is already taken by another program, perhaps another `make run` or Google's "
            f"database emulator (firebase.json gives it 9000 too); choose a free one, for example "
            f"{name}={port + 100}")
    return port


def raise_stop(signum: int, frame: object) -> None:
    raise Stop()
