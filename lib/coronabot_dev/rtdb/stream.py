"""Server-sent events, as production streams them to firebase-admin's ``listen()``: the handler's part that
answers ``Accept: text/event-stream``."""

from __future__ import annotations

import json
import os
import queue
from typing import Any

from .store import Store
from .values import render

KEEPALIVE_SECONDS = float(os.environ.get("RTDB_KEEPALIVE_SECONDS", "30"))


class EventStream:
    """Mixed into the HTTP handler: the current value first, then every change at, below or above the path,
    and a keep-alive event when nothing happened for a while."""

    store: Store
    wfile: Any
    close_connection: bool
    send_response: Any
    send_header: Any
    end_headers: Any

    def _stream(self, ns: str, path: list[str]) -> None:
        """Server-sent events, as production streams them to ``listen()``: the current value first, then
        every change, and a keep-alive event when nothing happened for a while."""
        with self.store.lock:
            self.store.count("GET")
            listener = self.store.listen(ns, path)
            first = ("put", "/", render(self.store.get(ns, path)))
        self.close_connection = True
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Connection", "close")
        self.end_headers()
        try:
            self._event(*first)
            while True:
                try:
                    event = listener.events.get(timeout=KEEPALIVE_SECONDS)
                except queue.Empty:
                    self.wfile.write(b"event: keep-alive\ndata: null\n\n")
                    self.wfile.flush()
                    continue
                self._event(*event)
        except OSError:
            pass
        finally:
            self.store.unlisten(ns, listener)

    def _event(self, kind: str, relative: str, data) -> None:
        payload = json.dumps({"path": relative, "data": data}, ensure_ascii=False)
        self.wfile.write(f"event: {kind}\ndata: {payload}\n\n".encode())
        self.wfile.flush()
