"""A local stand-in for the official sources, serving saved samples on their official paths.

Test tool. ``SOURCE_BASE_URL=http://127.0.0.1:PORT`` points the bot here.
The disease portal flow is kept: ``GET /pot/is/st/ari.do`` sets a session
cookie and ``POST /pot/is/st/ariListAjax.do`` without it answers an HTML page,
as a session-bound portal does. Control paths:

- ``PUT /__content/NAME`` (NAME: kdca, mohw, portal): the body served from now on.
- ``POST /__mode``: ``{"delay": seconds, "status": code, "html_error": true}`` for failures;
  ``{"forget_sessions": true}`` expires every session cookie given so far;
  ``{"cookies": ["NAME=VALUE", ...]}`` adds these Set-Cookie headers to the portal page's answer;
  ``{"no_session": true}`` makes the portal page set no session cookie at all;
  ``{"ranges": true}`` answers the portal's POST with only the weeks its form asks for
  (``startYear/startWeek`` to ``endYear/endWeek``), as the portal does, out of the served content, and
  ``GET /__requests`` shows the range each POST asked for.
- GET answers carry an ``ETag`` and honour ``If-None-Match`` with 304.
- ``GET /__requests``: every request served so far (method, path, had_cookie).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import secrets
import sys
import threading
import time
from pathlib import Path
from urllib.parse import parse_qsl

from coronabot_dev.harness import LoopbackHandler, LoopbackServer

ROUTES = {
    ("GET", "/pot/is/st/ari.do"): "page",
    ("POST", "/pot/is/st/ariListAjax.do"): "kdca",
    ("GET", "/bdBoardList_Real.do"): "mohw",
    ("GET", "/openapi/service/rest/Covid19/getCovid19InfStateJson"): "portal",
}
CONTENT_TYPES = {"kdca": "application/json;charset=UTF-8", "mohw": "text/html;charset=UTF-8",
                 "portal": "application/xml;charset=UTF-8", "page": "text/html;charset=UTF-8"}
SESSION_EXPIRED_PAGE = b"<!DOCTYPE html><html><body>session expired</body></html>"
ERROR_PAGE = "<!DOCTYPE html><html><body><h1>서비스 점검 중</h1></body></html>".encode()


class State:
    def __init__(self, fixtures: Path):
        self.lock = threading.Lock()
        self.content = {"page": b"<!DOCTYPE html><html><body>ARI</body></html>"}
        for name, file in (("kdca", "kdca-dportal-ari-ListAjax-2026-w35-w39.json"),
                           ("mohw", "mohw-bdBoardList_Real-brdGubun11-2021-06-05.html"),
                           ("portal", "api-getCovid19InfStateJson-2021-07-22-pretty-extracted.xml")):
            path = fixtures / file
            if path.exists():
                self.content[name] = path.read_bytes()
        self.mode: dict = {}
        self.requests: list[dict] = []
        self.sessions: set[str] = set()


class Handler(LoopbackHandler):
    state: State

    def route(self, verb: str):
        path = self.path.partition("?")[0]
        body = self.read_body()
        state = self.state
        if path.startswith("/__content/") and verb == "PUT":
            with state.lock:
                state.content[path[len("/__content/"):]] = body
            return self.send_bytes(200, b"{}")
        if path == "/__mode" and verb == "POST":
            with state.lock:
                state.mode = json.loads(body or b"{}")
                if state.mode.pop("forget_sessions", False):
                    state.sessions.clear()
            return self.send_bytes(200, b"{}")
        if path == "/__requests":
            with state.lock:
                return self.send_bytes(200, json.dumps(state.requests).encode())
        name = ROUTES.get((verb, path))
        cookie = self.headers.get("Cookie", "")
        session = cookie.partition("JSESSIONID=")[2].split(";")[0]
        content = state.content.get(name or "", b"")
        etag = '"' + hashlib.sha1(content).hexdigest()[:16] + '"'
        conditional = self.headers.get("If-None-Match") == etag
        with state.lock:
            ranged = name == "kdca" and state.mode.get("ranges") and weeks_asked(body)
            state.requests.append({"method": verb, "path": path, "had_cookie": bool(session),
                                   **({"weeks": weeks_asked(body)} if ranged else {}),
                                   **({"not_modified": True} if conditional else {})})
            mode = dict(state.mode)
        if name is None:
            return self.send_bytes(404, b"not found", "text/plain")
        if mode.get("delay"):
            time.sleep(float(mode["delay"]))
        if mode.get("status"):
            return self.send_bytes(int(mode["status"]), ERROR_PAGE, "text/html;charset=UTF-8")
        if mode.get("html_error") and name != "page":
            return self.send_bytes(200, ERROR_PAGE, "text/html;charset=UTF-8")
        if name == "page":
            token = secrets.token_hex(8)
            with state.lock:
                state.sessions.add(token)
            session_cookie = [] if mode.get("no_session") else [f"JSESSIONID={token}; Path=/; HttpOnly"]
            cookies = [*session_cookie, *mode.get("cookies", [])]
            return self.send_bytes(200, state.content["page"], CONTENT_TYPES["page"], {"Set-Cookie": cookies})
        if name == "kdca" and session not in state.sessions:
            return self.send_bytes(200, SESSION_EXPIRED_PAGE, CONTENT_TYPES["page"])
        asked = weeks_asked(body) if name == "kdca" and mode.get("ranges") else None
        if asked:
            content = in_range(content, asked)
        if verb == "GET" and conditional:
            return self.send_bytes(304, b"", headers={"ETag": etag})
        return self.send_bytes(200, content, CONTENT_TYPES[name], {"ETag": etag} if verb == "GET" else None)


def weeks_asked(form: bytes) -> tuple[tuple[int, int], tuple[int, int]] | None:
    """The (year, week) range a portal POST asks for, or None when its form does not say."""
    fields = dict(parse_qsl(form.decode("utf-8", "replace")))
    try:
        return ((int(fields["startYear"]), int(fields["startWeek"])), (int(fields["endYear"]), int(fields["endWeek"])))
    except (KeyError, ValueError):
        return None


def in_range(content: bytes, asked: tuple[tuple[int, int], tuple[int, int]]) -> bytes:
    """The portal's answer cut to the asked weeks, with its paramMap saying what was asked."""
    data = json.loads(content)
    (start_year, start_week), (end_year, end_week) = asked
    data["value"]["data"] = [row for row in data["value"]["data"]
                             if asked[0] <= (int(row["TITLE"]), int(row["SUBTITLE"])) <= asked[1]]
    data["value"]["paramMap"] = {"startYear": str(start_year), "startWeek": f"{start_week:02d}",
                                 "endYear": str(end_year), "endWeek": f"{end_week:02d}", "dayCheck": "1"}
    return json.dumps(data, ensure_ascii=False).encode()


class SourceServer(LoopbackServer):
    """The server, with the answers it serves."""

    state: State


def make_server(host: str, port: int, fixtures: Path) -> SourceServer:
    state = State(fixtures)
    server = SourceServer((host, port), type("BoundHandler", (Handler,), {"state": state}))
    server.state = state
    return server


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8123)
    parser.add_argument("--fixtures", default=str(Path(__file__).resolve().parents[2] / "tests" / "fixtures"))
    args = parser.parse_args(argv)
    server = make_server(args.host, args.port, Path(args.fixtures))
    server.run("official sources stand-in")
    return 0


if __name__ == "__main__":
    sys.exit(main())
