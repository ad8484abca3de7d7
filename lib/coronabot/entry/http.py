"""What both functions' entry points share with the web framework (Flask, under functions-framework).

functions-framework reads the whole request body after every response unless the response is streamed.
The entry points therefore cap the request size at the framework level (``MAX_CONTENT_LENGTH``) and
answer with a streamed response, so a refused or oversized body is never buffered, and an answer
such as a 403 leaves at once, without waiting for a slow body to arrive.
"""

from __future__ import annotations

import json
from typing import Any

import flask

MAX_REQUEST_BYTES = 256 * 1024


def limit_request_size(max_bytes: int = MAX_REQUEST_BYTES) -> None:
    """Cap request bodies for the app being set up; call at import of ``main.py`` (functions-framework
    imports it within the app's context; a plain import outside any app, as in the import-time benchmark,
    has nothing to configure)."""
    if flask.has_app_context():
        flask.current_app.config["MAX_CONTENT_LENGTH"] = max_bytes


def json_response(status: int, body: dict[str, Any]) -> flask.Response:
    """A JSON answer that functions-framework's after-request hook will not follow by reading the body."""
    payload = json.dumps(body, ensure_ascii=False).encode("utf-8")
    return flask.Response(iter((payload,)), status=status, content_type="application/json",
                          headers={"Content-Length": str(len(payload))})
