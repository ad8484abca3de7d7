"""The data of each namespace in memory, persisted to a JSON file if asked, and the listeners of
``text/event-stream`` requests."""

from __future__ import annotations

import json
import os
import queue
import random
import threading
import time

from .values import child_at, etag_of, normalize, render

PUSH_CHARS = "-0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz"  # pragma: allowlist secret


class Listener:
    """One ``text/event-stream`` client: its path and the events waiting to be sent."""

    def __init__(self, path: list[str]):
        self.path = path
        self.events: queue.Queue = queue.Queue()


class Store:
    """All namespaces' trees behind one lock, with optional file persistence."""

    def __init__(self, data_file: str | None = None):
        self.lock = threading.RLock()
        self.trees: dict[str, object] = {}
        self.counts: dict[str, int] = {}
        self.etags = 0  # how many ETags were computed (each renders and hashes the whole addressed value)
        self.data_file = data_file
        self._dirty = threading.Event()
        self._last_push_ms = 0
        self._last_random: list[int] = []
        self.listeners: dict[str, set[Listener]] = {}
        if data_file and os.path.exists(data_file):
            with open(data_file, encoding="utf-8") as fh:
                self.trees = {ns: normalize(tree) for ns, tree in json.load(fh).items()}
        if data_file:
            threading.Thread(target=self._persist_loop, daemon=True).start()

    def get(self, ns: str, path: list[str]):
        return child_at(self.trees.get(ns), path)

    def set(self, ns: str, path: list[str], value) -> None:
        value = normalize(value, len(path))
        if not path:
            self.trees[ns] = value
        else:
            root = self.trees.get(ns)
            self.trees[ns] = self._set_in(root, path, value)
        self._dirty.set()

    def _set_in(self, node, path, value):
        """Write ``value`` at ``path`` below ``node`` in place (every access holds the lock, and what leaves
        the store is rendered into new objects first), so a write costs what it changes, not the size of
        the tree around it."""
        node = node if isinstance(node, dict) else {}
        head, rest = path[0], path[1:]
        child = self._set_in(node.get(head), rest, value) if rest else value
        if child is None:
            node.pop(head, None)
        else:
            node[head] = child
        return node or None

    # -- listeners (server-sent events) --------------------------------------------------------
    def listen(self, ns: str, path: list[str]) -> Listener:
        """A listener that gets the events of every later change at, below or above ``path``."""
        listener = Listener(path)
        self.listeners.setdefault(ns, set()).add(listener)
        return listener

    def unlisten(self, ns: str, listener: Listener) -> None:
        with self.lock:
            self.listeners.get(ns, set()).discard(listener)

    def published(self, ns: str, written: list[str], subpaths: list[list[str]] | None = None) -> None:
        """Tell the listeners of a write at ``written`` (a PATCH there with ``subpaths``; called under the
        lock, after the write): a listener at or above it gets a ``put`` (``patch`` for a PATCH) with the
        path relative to its own, one below it a ``put`` of its whole new value."""
        for listener in list(self.listeners.get(ns, ())):
            own = listener.path
            if written[:len(own)] == own:
                relative = "/" + "/".join(written[len(own):])
                if subpaths is None:
                    listener.events.put(("put", relative, render(self.get(ns, written))))
                else:
                    listener.events.put(("patch", relative, {"/".join(sub): render(self.get(ns, written + sub))
                                                             for sub in subpaths}))
            elif own[:len(written)] == written:
                below = own[len(written):]
                if subpaths is None or any(sub[:len(below)] == below or below[:len(sub)] == sub for sub in subpaths):
                    listener.events.put(("put", "/", render(self.get(ns, own))))

    def push_key(self) -> str:
        now = int(time.time() * 1000)
        duplicate = now == self._last_push_ms
        self._last_push_ms = now
        chars = []
        for _ in range(8):
            chars.append(PUSH_CHARS[now % 64])
            now //= 64
        key = "".join(reversed(chars))
        if not duplicate:
            self._last_random = [random.randrange(64) for _ in range(12)]
        else:
            i = 11
            while i >= 0 and self._last_random[i] == 63:
                self._last_random[i] = 0
                i -= 1
            if i >= 0:
                self._last_random[i] += 1
        return key + "".join(PUSH_CHARS[n] for n in self._last_random)

    def etag(self, value) -> str:
        self.etags += 1
        return etag_of(value)

    def reset(self) -> None:
        """Drop all data and counters (``POST /__emulator/reset``); called with the lock held."""
        self.trees.clear()
        self.counts.clear()
        self.etags = 0
        self._dirty.set()

    def count(self, method: str) -> None:
        self.counts[method] = self.counts.get(method, 0) + 1

    def flush(self) -> None:
        if not self.data_file:
            return
        with self.lock:
            snapshot = json.dumps(self.trees, ensure_ascii=False)
            self._dirty.clear()
        tmp = self.data_file + ".tmp"
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(snapshot)
        os.replace(tmp, self.data_file)

    def _persist_loop(self) -> None:
        while True:
            self._dirty.wait()
            time.sleep(0.2)
            self.flush()
