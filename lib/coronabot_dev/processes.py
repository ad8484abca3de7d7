"""The local tools' processes: children in their own process group, stopped in order, never orphaned;
ports chosen, waited for, and refused with a clear word when taken."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any
from urllib.error import URLError
from urllib.request import urlopen

from coronabot import config

from .settings import port as port_setting

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


def child(args: list[str], env: dict | None = None, output: IO[Any] | None = None) -> subprocess.Popen:
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
    port = int(port_setting(name, os.environ.get(name, "").strip() or str(default)))
    with socket.socket() as probe:
        probe.settimeout(1)
        taken = probe.connect_ex(("127.0.0.1", port)) == 0
    if taken and is_embedded_database(port):
        raise config.ConfigError(
            f"port {port} ({name}) is the embedded database of another bot on this machine (with other data: "
            f"LOCAL_DATA_DIR); stop that one first, or give this one another port, for example {name}={port + 100}")
    if taken:
        raise config.ConfigError(
            f"port {port} ({name}) is taken by another program (Google's database emulator? firebase.json gives "
            f"it 9000 too); choose a free one, for example {name}={port + 100}")
    return port


def raise_stop(signum: int, frame: object) -> None:
    raise Stop()


LOCK_NAME = "coronabot.lock"


def data_dir(default: Path | None = None) -> Path:
    """LOCAL_DATA_DIR, or ``default`` (``.data`` in the repository)."""
    return Path(os.environ.get("LOCAL_DATA_DIR", "") or default or REPO / ".data")


def running_database() -> tuple[str, str]:
    """The database `make run` or `make serve` started on the data folder (its ``host:port``, or "" when none
    runs), and where it looked: the operator command line finds it through the ``coronabot.development`` entry
    point (lib/pyproject.toml)."""
    folder = data_dir()
    return (holder(folder) or {}).get("database", ""), f" and no `make run` is running on {folder}"


def holder(folder: Path, lock_name: str = LOCK_NAME) -> dict | None:
    """What holds ``folder`` now (``{pid, command, database}``): None when nothing runs on it."""
    path = folder / lock_name
    if not path.exists():
        return None
    with open(path) as probe:
        try:
            fcntl.flock(probe, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:  # held: read what its holder wrote
            try:
                return json.loads(path.read_text() or "{}")
            except ValueError:
                return {}
        fcntl.flock(probe, fcntl.LOCK_UN)
    return None


@contextlib.contextmanager
def holding(folder: Path, command: str, lock_name: str = LOCK_NAME) -> Iterator[Callable[[str], None]]:
    """One bot per data folder: ``make run``, ``make serve`` and ``make demo`` hold an exclusive lock on it
    while they run (its file names the process and, once it listens, its database), so a second start on the
    same data says in one line that one runs, instead of a second bot answering every update twice. The
    lock goes with the process, however it ends. Yields ``announce(database_host)``, which records where the
    database listens, for the operator commands to find it."""
    folder.mkdir(parents=True, exist_ok=True)
    handle = open(folder / lock_name, "a+")  # closed below: the lock goes with it
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            other = holder(folder, lock_name) or {}
            pid = other.get("pid", "PID")
            raise config.ConfigError(
                f"`make {other.get('command', 'run')}` is already running on {folder} (pid {pid}): stop it with "
                f"Ctrl-C in its terminal or `kill {pid}`, or give this one other data with LOCAL_DATA_DIR") from None
        record = {"pid": os.getpid(), "command": command}

        def save(database: str = "") -> None:
            if database:
                record["database"] = database
            handle.seek(0)
            handle.truncate()
            handle.write(json.dumps(record))
            handle.flush()

        save()
        yield save
    finally:
        handle.close()


def is_embedded_database(port: int) -> bool:
    """Whether what listens on 127.0.0.1:``port`` is the embedded Realtime Database."""
    try:
        with urlopen(f"http://127.0.0.1:{port}/__emulator/stats", timeout=2) as answer:
            return answer.status == 200
    except (URLError, OSError, ValueError):
        return False
