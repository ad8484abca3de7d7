"""An HTTP proxy on loopback that adds a fixed delay to every request, as a database far away would.

Development and benchmark tool: ``--latency-ms 80`` is roughly Seoul to a Realtime Database in Singapore.
It forwards every request (method, path, headers, body) to ``--upstream`` after the delay, over one
keep-alive connection per client connection, and records each request's start and end times.
Control paths: ``GET /__proxy/requests`` (each request: method, path, start, end, as Unix times),
``DELETE /__proxy/requests`` (forget them).
"""

from __future__ import annotations

import argparse
import http.client
import sys
import threading
import time
from urllib.parse import urlsplit

from coronabot_dev.harness import LoopbackHandler, LoopbackServer

HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade", "proxy-connection"}


class Proxy:
    def __init__(self, upstream: str, latency: float):
        parts = urlsplit(upstream)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.latency = latency
        self.lock = threading.Lock()
        self.requests: list[dict] = []


class Handler(LoopbackHandler):
    upstream: http.client.HTTPConnection | None = None  # one keep-alive connection per client connection
    proxy: Proxy

    def route(self, method: str) -> None:
        proxy = self.proxy
        if self.path.startswith("/__proxy/requests"):
            with proxy.lock:
                if method == "DELETE":
                    proxy.requests.clear()
                    return self.send_json(200, {"ok": True})
                return self.send_json(200, list(proxy.requests))
        body = self.read_body()
        started = time.time()
        time.sleep(proxy.latency)
        if self.upstream is None:
            self.upstream = http.client.HTTPConnection(proxy.host, proxy.port, timeout=60)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP and k.lower() != "host"}
        headers["Host"] = f"{proxy.host}:{proxy.port}"
        try:
            self.upstream.request(method, self.path, body=body or None, headers=headers)
            response = self.upstream.getresponse()
            payload = response.read()
        except (OSError, http.client.HTTPException):
            self.upstream.close()
            self.upstream = None
            return self.send_json(502, {"error": "upstream unreachable"})
        passed = {k: v for k, v in response.getheaders() if k.lower() not in HOP_BY_HOP | {"content-length",
                                                                                          "content-type"}}
        with proxy.lock:  # recorded before the answer goes out: whoever got it finds the request recorded
            proxy.requests.append({"method": method, "path": self.path.split("?")[0], "start": started,
                                   "end": time.time()})
        self.send_bytes(response.status, payload, response.getheader("Content-Type") or "application/json", passed)


def waits_in_a_row(requests: list[dict]) -> int:
    """How many waits one after the other the recorded ``requests`` took: a request that starts before every
    request of the current wait has ended was made side by side with them (with the proxy's delay, a request
    made after another starts after its end). What an answer's "round trips" are."""
    waits, ends = 0, list[float]()
    for request in sorted(requests, key=lambda r: r["start"]):
        if not ends or request["start"] >= min(ends):
            waits, ends = waits + 1, []
        ends.append(request["end"])
    return waits


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--upstream", required=True, help="http://127.0.0.1:PORT of the server behind")
    parser.add_argument("--latency-ms", type=float, default=80.0)
    args = parser.parse_args(argv)
    if urlsplit(args.upstream).hostname not in ("127.0.0.1", "localhost"):
        parser.error("--upstream must be on loopback")
    proxy = Proxy(args.upstream, args.latency_ms / 1000)
    server = LoopbackServer((args.host, args.port), type("BoundHandler", (Handler,), {"proxy": proxy}))
    server.run("latency proxy", upstream=args.upstream, latency_ms=args.latency_ms)
    return 0


if __name__ == "__main__":
    sys.exit(main())
