"""The HTTP server under the emulator (and the test fakes): a thread per connection on loopback, JSON log
lines, a clean stop on SIGTERM or SIGINT."""

from __future__ import annotations

import json
import os
import signal
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class LoopbackHandler(BaseHTTPRequestHandler):
    """Base of the local servers: keep-alive, one write per response (no Nagle delay), quiet logs.

    Subclasses implement ``route(method)``; every HTTP method the servers use lands there.
    """

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    wbufsize = -1
    verbose_env = ""

    def log_message(self, format, *args):
        if self.verbose_env and os.environ.get(self.verbose_env):
            super().log_message(format, *args)

    def route(self, method: str) -> None:
        raise NotImplementedError

    def do_GET(self):
        self.route("GET")

    def do_PUT(self):
        self.route("PUT")

    def do_PATCH(self):
        self.route("PATCH")

    def do_POST(self):
        self.route("POST")

    def do_DELETE(self):
        self.route("DELETE")

    def read_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def send_bytes(self, status: int, payload: bytes, content_type: str = "application/json",
                   headers: dict | None = None) -> None:
        empty = status in (204, 304)
        self.send_response(status)
        if not empty:
            self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", "0" if empty else str(len(payload)))
        for name, value in (headers or {}).items():
            for one in value if isinstance(value, list) else [value]:
                self.send_header(name, one)
        self.end_headers()
        if payload and not empty:
            self.wfile.write(payload)

    def send_json(self, status: int, body: object = None, headers: dict | None = None) -> None:
        self.send_bytes(status, json.dumps(body, ensure_ascii=False).encode("utf-8"),
                        "application/json; charset=utf-8", headers)


class LoopbackServer(ThreadingHTTPServer):
    """A thread per connection, a listen backlog deep enough for bursts of concurrent clients."""

    daemon_threads = True
    request_queue_size = 256

    def run(self, what: str, **fields) -> None:
        """Announce the address as a JSON log line, serve until SIGTERM or SIGINT, then close."""
        def stop(signum, frame):
            threading.Thread(target=self.shutdown, daemon=True).start()

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        host, port = self.server_address[:2]
        host = host.decode() if isinstance(host, bytes) else host
        print(json.dumps({"severity": "INFO", "message": f"{what} listening on http://{host}:{port}", **fields}),
              flush=True)
        self.serve_forever()
        self.server_close()
