"""A fake Telegram Bot API server that records every call.

Development and test tool. It answers ``/bot<TOKEN>/<method>`` like the real
API for the methods the bot uses, parses JSON, urlencoded and multipart bodies
(telepot sends multipart), and records each call. Control paths:

- ``GET /__calls`` (optionally ``?method=sendMessage``): the recorded calls, each with the HTTP status it
  was answered with (and the ``message_id`` of a message it sent or edited); ``GET /__stats``: only their
  counts per method
  (``calls`` and ``accepted``, answered 200), cheap to poll;
  ``DELETE /__calls`` forgets them.
- ``POST /__updates``: a JSON list of Update objects queued for ``getUpdates``.
- ``POST /__control``: behaviour switches, a JSON object with any of
  ``latency_ms``, ``blocked`` (chat ids answered 403), ``deactivated``,
  ``not_found`` (400 chat not found), ``flood`` (``{"every": N, "retry_after": S}``:
  every Nth sendMessage answers 429), ``fail_5xx`` (the next N calls answer 502),
  ``migrated`` (``{old_chat_id: new_chat_id}``: the group became a supergroup),
  ``chat_members`` (``{chat_id: {user_id: status}}`` for ``getChatMember``; anyone not listed is a
  ``member``), ``raw`` (``{method: {"status": S, "body": "..."}}``: answer that method with exactly this
  body, for answers that are not in the Bot API's format), ``inline`` (true: ``getMe`` says inline mode is
  on, as after @BotFather's ``/setinline``; off by default, as for a new bot).
  Each ``POST /__control`` replaces all switches.
- ``setMyCommands``, ``setMyDescription`` and ``setMyShortDescription`` keep one value per ``language_code``
  (checked against the Bot API's limits); ``getMyCommands`` and the others answer it.
  ``answerInlineQuery`` checks its results as Telegram does (at most 50, unique ids of at most 64 bytes,
  the fields of an article and of a cached photo).
- ``sendPhoto`` takes an uploaded file (recorded as ``{"upload", "bytes", "sha256"}``; the answer gives it a
  ``file_id``) or a ``file_id`` this server gave before (any other is refused, as Telegram does);
  ``GET /__files/FILE_ID`` answers the uploaded bytes.
- Text messages are kept with their inline keyboard: ``editMessageText`` and ``editMessageReplyMarkup``
  change them (an unknown message, or an edit that changes nothing, is refused as Telegram does);
  ``GET /__messages/CHAT_ID/MESSAGE_ID`` answers one. ``answerCallbackQuery`` refuses a query id it already
  answered.
"""

from __future__ import annotations

import argparse
import hashlib
import html
import json
import os
import re
import sys
import threading
import time
from collections import Counter
from urllib.parse import parse_qsl

from coronabot_dev.harness import LoopbackHandler, LoopbackServer


def parse_body(content_type: str, body: bytes) -> dict:
    """Decode a Bot API request body into a flat dict of parameters."""
    if not body:
        return {}
    if content_type.startswith("application/json"):
        data = json.loads(body.decode("utf-8"))
        return data if isinstance(data, dict) else {}
    if content_type.startswith("application/x-www-form-urlencoded"):
        return dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
    if content_type.startswith("multipart/form-data"):
        return parse_multipart(content_type, body)
    return {}


_BOUNDARY = re.compile(r'boundary="?([^";]+)"?')
_DISPOSITION = re.compile(rb'\bname="([^"]*)"(?:;\s*filename="([^"]*)")?', re.IGNORECASE)


def parse_multipart(content_type: str, body: bytes) -> dict:
    """The fields of a multipart/form-data body (what telepot and urllib3 send): split on the boundary,
    each part's name and filename read from its Content-Disposition. A fraction of the email parser's cost
    per message, so the fake is not what limits a broadcast at hundreds of messages a second."""
    found = _BOUNDARY.search(content_type)
    if not found:
        raise ValueError("multipart body without a boundary")
    fields: dict = {}
    for part in body.split(b"--" + found.group(1).encode("latin-1"))[1:]:
        if part.startswith(b"--"):
            break
        head, separator, payload = part.partition(b"\r\n\r\n")
        disposition = _DISPOSITION.search(head)
        if not separator or not disposition:
            continue
        payload = payload[:-2] if payload.endswith(b"\r\n") else payload
        name = disposition.group(1).decode("utf-8", errors="replace")
        filename = disposition.group(2)
        fields[name] = Upload(filename.decode("utf-8", errors="replace"), payload) if filename is not None \
            else payload.decode("utf-8", errors="replace")
    return fields


def coerce(params: dict) -> dict:
    """Turn telepot's string forms ('True', JSON lists) back into values."""
    out = {}
    for key, value in params.items():
        if isinstance(value, str):
            if value in ("True", "true"):
                value = True
            elif value in ("False", "false"):
                value = False
            elif value[:1] in ("[", "{"):
                try:
                    value = json.loads(value)
                except ValueError:
                    pass
        out[key] = value
    return out


class Upload:
    """A file sent in a multipart body."""

    def __init__(self, filename: str, content: bytes):
        self.filename, self.content = filename, content


MAX_CAPTION_CHARS = 1024


def caption_length(caption: str) -> int:
    """What Telegram counts of an HTML caption: the text without tags, in UTF-16 code units."""
    return len(html.unescape(re.sub(r"<[^>]*>", "", caption)).encode("utf-16-le")) // 2


class RawBody(bytes):
    """An answer sent exactly as given, not as JSON."""


class FakeTelegram:
    """State shared by the handler threads."""

    def __init__(self, token: str, username: str):
        self.token = token
        self.username = username
        self.lock = threading.Lock()
        self.calls: list[dict] = []
        self.updates: list[dict] = []
        self.updates_ready = threading.Condition(self.lock)
        self.next_message_id = 1000
        self.send_count = 0
        self.control: dict = {}
        self.webhook: dict = {}
        self.commands: dict[str, list] = {}  # language_code ("" for the default) -> the command menu
        self.descriptions: dict[tuple[str, str], str] = {}  # (short or long, language_code) -> text
        self.files: dict[str, bytes] = {}  # file_id -> uploaded content
        self.messages: dict[tuple[str, int], dict] = {}  # (chat_id, message_id) -> text and reply_markup
        self.answered_queries: set[str] = set()

    def keep_uploads(self, params: dict) -> dict:
        """Store uploaded files and record them by size and hash (the call log stays JSON)."""
        out = {}
        for key, value in params.items():
            if isinstance(value, Upload):
                digest = hashlib.sha256(value.content).hexdigest()
                with self.lock:
                    self.files[f"upload-{digest[:16]}"] = value.content
                value = {"upload": value.filename, "bytes": len(value.content), "sha256": digest}
            out[key] = value
        return out

    def answer(self, method: str, params: dict) -> tuple[int, dict | RawBody]:
        latency = self.control.get("latency_ms", 0)
        if latency:
            time.sleep(latency / 1000)
        call = {"method": method, "params": params, "time": time.time()}
        with self.lock:
            self.calls.append(call)
            failing = self.control.get("fail_5xx", 0) > 0
            if failing:
                self.control["fail_5xx"] -= 1
        raw = (self.control.get("raw") or {}).get(method)
        if failing:
            answer: dict[str, object] | RawBody
            status, answer = 502, {"ok": False, "error_code": 502, "description": "Bad Gateway"}
        elif raw is not None:
            body = str(raw.get("body", "")).encode("utf-8", "surrogateescape")
            status, answer = int(raw.get("status", 200)), RawBody(body)
        else:
            handler = getattr(self, "m_" + method, None)
            if handler is None:
                status, answer = 404, {"ok": False, "error_code": 404, "description": "Not Found: method not found"}
            else:
                status, answer = handler(params)
        call["status"] = status
        result = answer.get("result") if isinstance(answer, dict) else None
        if isinstance(result, dict) and "message_id" in result:
            call["message_id"] = result["message_id"]  # of the message sent or edited
        return status, answer

    @staticmethod
    def ok(result):
        return 200, {"ok": True, "result": result}

    def m_getMe(self, params):
        return self.ok({"id": 7000000001, "is_bot": True, "first_name": "코로나봇",
                        "username": self.username, "can_join_groups": True,
                        "supports_inline_queries": bool(self.control.get("inline"))})

    def refusal(self, chat_id: str) -> tuple[int, dict] | None:
        """The error Telegram would answer for a delivery to this chat (blocked, gone, migrated, flood)."""
        control = self.control
        if chat_id in map(str, control.get("blocked", [])):
            return 403, {"ok": False, "error_code": 403, "description": "Forbidden: bot was blocked by the user"}
        if chat_id in map(str, control.get("deactivated", [])):
            return 403, {"ok": False, "error_code": 403, "description": "Forbidden: user is deactivated"}
        if chat_id in map(str, control.get("not_found", [])):
            return 400, {"ok": False, "error_code": 400, "description": "Bad Request: chat not found"}
        migrated = {str(k): v for k, v in control.get("migrated", {}).items()}
        if chat_id in migrated:
            return 400, {"ok": False, "error_code": 400,
                         "description": "Bad Request: group chat was upgraded to a supergroup chat",
                         "parameters": {"migrate_to_chat_id": int(migrated[chat_id])}}
        with self.lock:
            self.send_count += 1
            flood = control.get("flood")
            if flood and self.send_count % int(flood["every"]) == 0:
                retry_after = int(flood.get("retry_after", 1))
                return 429, {"ok": False, "error_code": 429,
                             "description": f"Too Many Requests: retry after {retry_after}",
                             "parameters": {"retry_after": retry_after}}
        return None

    def message(self, chat_id: str, **content) -> tuple[int, dict]:
        with self.lock:
            self.next_message_id += 1
            message_id = self.next_message_id
            if "text" in content:
                self.messages[(chat_id, message_id)] = {"text": content["text"],
                                                        "reply_markup": content.get("reply_markup")}
        return self.ok({"message_id": message_id, "date": int(time.time()),
                        "chat": {"id": int(chat_id) if chat_id.lstrip("-").isdigit() else chat_id}, **content})

    def m_sendMessage(self, params):
        chat_id = str(params.get("chat_id", ""))
        text = params.get("text")
        if not chat_id or not text:
            return 400, {"ok": False, "error_code": 400, "description": "Bad Request: message text is empty"}
        if len(str(text)) > 4096:
            return 400, {"ok": False, "error_code": 400, "description": "Bad Request: message is too long"}
        markup = {"reply_markup": params["reply_markup"]} if params.get("reply_markup") else {}
        return self.refusal(chat_id) or self.message(chat_id, text=text, **markup)

    def edit(self, params: dict, change: dict) -> tuple[int, dict]:
        """Change a message the bot sent, as Telegram does: unknown messages and edits that change nothing
        are refused."""
        chat_id, message_id = str(params.get("chat_id", "")), params.get("message_id")
        with self.lock:
            current = self.messages.get((chat_id, int(str(message_id)))) if str(message_id).isdigit() else None
            if current is None:
                return 400, {"ok": False, "error_code": 400, "description": "Bad Request: message to edit not found"}
            updated = dict(current, **change)
            if updated == current:
                return 400, {"ok": False, "error_code": 400, "description": (
                    "Bad Request: message is not modified: specified new message content and reply markup are "
                    "exactly the same as a current content and reply markup of the message")}
            self.messages[(chat_id, int(str(message_id)))] = updated
        return self.ok({"message_id": int(str(message_id)), "date": int(time.time()), "chat": {"id": int(chat_id)},
                        **updated})

    def m_editMessageText(self, params):
        if not params.get("text"):
            return 400, {"ok": False, "error_code": 400, "description": "Bad Request: message text is empty"}
        return self.edit(params, {"text": params["text"], "reply_markup": params.get("reply_markup") or None})

    def m_editMessageReplyMarkup(self, params):
        return self.edit(params, {"reply_markup": params.get("reply_markup") or None})

    def message_state(self, chat_id: str, message_id: int) -> dict | None:
        with self.lock:
            return self.messages.get((chat_id, message_id))

    def m_sendPhoto(self, params):
        chat_id, photo = str(params.get("chat_id", "")), params.get("photo")
        caption = str(params.get("caption") or "")
        if isinstance(photo, dict) and photo.get("sha256"):
            file_id = f"upload-{photo['sha256'][:16]}"
        elif isinstance(photo, str) and photo in self.files:
            file_id = photo
        else:
            return 400, {"ok": False, "error_code": 400,
                         "description": "Bad Request: wrong file identifier/HTTP URL specified"}
        if not chat_id:
            return 400, {"ok": False, "error_code": 400, "description": "Bad Request: chat_id is empty"}
        if caption_length(caption) > MAX_CAPTION_CHARS:
            return 400, {"ok": False, "error_code": 400, "description": "Bad Request: message caption is too long"}
        refused = self.refusal(chat_id)
        if refused:
            return refused
        sizes = [{"file_id": f"{file_id}-small", "file_unique_id": file_id[-8:] + "s", "width": 320, "height": 180},
                 {"file_id": file_id, "file_unique_id": file_id[-8:], "width": 1280, "height": 720,
                  "file_size": len(self.files.get(file_id, b""))}]
        return self.message(chat_id, photo=sizes, caption=caption)

    def m_getUpdates(self, params):
        offset = int(params.get("offset") or 0)
        timeout = min(float(params.get("timeout") or 0), 5.0)
        deadline = time.time() + timeout
        with self.updates_ready:
            if offset:
                self.updates = [u for u in self.updates if u["update_id"] >= offset]
            while not self.updates and time.time() < deadline:
                self.updates_ready.wait(deadline - time.time())
            limit = int(params.get("limit") or 100)
            return self.ok(self.updates[:limit])

    def m_setWebhook(self, params):
        self.webhook = {"url": params.get("url", ""), "secret_token": params.get("secret_token"),
                        "allowed_updates": params.get("allowed_updates")}
        return self.ok(True)

    def m_deleteWebhook(self, params):
        self.webhook = {}
        return self.ok(True)

    def m_getWebhookInfo(self, params):
        info = {"url": self.webhook.get("url", ""), "has_custom_certificate": False, "pending_update_count": 0}
        if self.webhook.get("allowed_updates"):
            info["allowed_updates"] = self.webhook["allowed_updates"]
        return self.ok(info)

    @staticmethod
    def bad(description: str) -> tuple[int, dict]:
        return 400, {"ok": False, "error_code": 400, "description": f"Bad Request: {description}"}

    def m_setMyCommands(self, params):
        commands = params.get("commands") or []
        for command in commands:
            name, description = command.get("command", ""), command.get("description", "")
            if not re.fullmatch(r"[a-z0-9_]{1,32}", name) or not 1 <= len(description) <= 256:
                return self.bad("BOT_COMMAND_INVALID")
        self.commands[params.get("language_code") or ""] = commands
        return self.ok(True)

    def m_getMyCommands(self, params):
        return self.ok(self.commands.get(params.get("language_code") or "", []))

    def _describe(self, kind: str, params: dict, limit: int):
        text = params.get(kind) or ""
        if len(text) > limit:
            return self.bad(f"bot {kind.replace('_', ' ')} is too long")
        self.descriptions[(kind, params.get("language_code") or "")] = text
        return self.ok(True)

    def m_setMyDescription(self, params):
        return self._describe("description", params, 512)

    def m_setMyShortDescription(self, params):
        return self._describe("short_description", params, 120)

    def m_getMyDescription(self, params):
        return self.ok({"description": self.descriptions.get(("description", params.get("language_code") or ""), "")})

    def m_getMyShortDescription(self, params):
        key = ("short_description", params.get("language_code") or "")
        return self.ok({"short_description": self.descriptions.get(key, "")})

    def m_answerInlineQuery(self, params):
        results = params.get("results")
        if not isinstance(results, list) or len(results) > 50:
            return self.bad("RESULTS_TOO_MUCH")
        ids = [r.get("id") for r in results if isinstance(r, dict)]
        if len(ids) != len(results) or len(set(ids)) != len(ids) or \
                not all(isinstance(i, str) and 0 < len(i.encode()) <= 64 for i in ids):
            return self.bad("RESULT_ID_INVALID")
        for result in results:
            if result.get("type") == "article":
                text = (result.get("input_message_content") or {}).get("message_text") or ""
                if not result.get("title") or not 1 <= len(text) <= 4096:
                    return self.bad("MESSAGE_EMPTY")
            elif result.get("type") == "photo":
                if result.get("photo_file_id") not in self.files:
                    return self.bad("wrong file identifier")
                if caption_length(result.get("caption") or "") > 1024:
                    return self.bad("MEDIA_CAPTION_TOO_LONG")
            else:
                return self.bad("RESULT_TYPE_INVALID")
        return self.ok(True)

    def m_answerCallbackQuery(self, params):
        query_id = str(params.get("callback_query_id") or "")
        with self.lock:
            fresh = query_id and query_id not in self.answered_queries
            self.answered_queries.add(query_id)
        if not fresh:
            return 400, {"ok": False, "error_code": 400, "description": (
                "Bad Request: query is too old and response timeout expired or query ID is invalid")}
        return self.ok(True)

    def m_getChatMember(self, params):
        chat_id, user_id = str(params.get("chat_id", "")), str(params.get("user_id", ""))
        if not chat_id or not user_id.isdigit():
            return 400, {"ok": False, "error_code": 400, "description": "Bad Request: invalid user_id specified"}
        status = (self.control.get("chat_members") or {}).get(chat_id, {}).get(user_id, "member")
        return self.ok({"status": status, "user": {"id": int(user_id), "is_bot": False, "first_name": "사용자"}})


class Handler(LoopbackHandler):
    fake: FakeTelegram

    def route(self, verb: str) -> None:
        path, _, query = self.path.partition("?")
        body = self.read_body()
        fake = self.fake
        try:
            if path == "/__calls":
                if verb == "DELETE":
                    with fake.lock:
                        fake.calls.clear()
                        fake.send_count = 0
                    return self.send_json(200, {"ok": True})
                wanted = dict(parse_qsl(query)).get("method")
                with fake.lock:
                    calls = [c for c in fake.calls if not wanted or c["method"] == wanted]
                return self.send_json(200, calls)
            if path.startswith("/__messages/"):
                chat_id, _, message_id = path[len("/__messages/"):].partition("/")
                state = fake.message_state(chat_id, int(str(message_id))) if message_id.isdigit() else None
                return self.send_json(200 if state else 404, state or {"ok": False})
            if path.startswith("/__files/"):
                with fake.lock:
                    content = fake.files.get(path[len("/__files/"):])
                if content is None:
                    return self.send_json(404, {"ok": False})
                return self.send_bytes(200, content, "image/png")
            if path == "/__stats":
                with fake.lock:
                    counted, accepted = Counter(c["method"] for c in fake.calls), Counter(
                        c["method"] for c in fake.calls if c.get("status") == 200)
                return self.send_json(200, {"calls": dict(counted), "accepted": dict(accepted)})
            if path == "/__updates":
                with fake.updates_ready:
                    fake.updates.extend(json.loads(body))
                    fake.updates_ready.notify_all()
                return self.send_json(200, {"ok": True})
            if path == "/__control":
                with fake.lock:
                    fake.control = json.loads(body) if body else {}
                return self.send_json(200, {"ok": True})
            parts = path.strip("/").split("/")
            if len(parts) != 2 or not parts[0].startswith("bot"):
                return self.send_json(404, {"ok": False, "error_code": 404, "description": "Not Found"})
            if parts[0][3:] != fake.token:
                return self.send_json(401, {"ok": False, "error_code": 401, "description": "Unauthorized"})
            params = dict(parse_qsl(query))
            params.update(parse_body(self.headers.get("Content-Type", ""), body))
            status, answer = fake.answer(parts[1], coerce(fake.keep_uploads(params)))
            if isinstance(answer, RawBody):
                return self.send_bytes(status, bytes(answer))
            self.send_json(status, answer)
        except (ValueError, KeyError) as exc:
            self.send_json(400, {"ok": False, "error_code": 400, "description": f"Bad Request: {exc}"})


class FakeServer(LoopbackServer):
    """The server, with the fake it answers from."""

    fake: FakeTelegram


def make_server(host: str, port: int, token: str, username: str) -> FakeServer:
    fake = FakeTelegram(token, username)
    handler = type("BoundHandler", (Handler,), {"fake": fake})
    server = FakeServer((host, port), handler)
    server.fake = fake
    return server


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=int(os.environ.get("FAKE_TELEGRAM_PORT", "8081")))
    parser.add_argument("--token", default=os.environ.get("TELEGRAM_TOKEN", ""))
    parser.add_argument("--username", default=os.environ.get("TELEGRAM_BOT_USERNAME", "coronabot_test_bot"))
    parser.add_argument("--latency-ms", type=int, default=0)
    args = parser.parse_args(argv)
    if not args.token:
        parser.error("--token (or TELEGRAM_TOKEN) is required")
    server = make_server(args.host, args.port, args.token, args.username)
    server.fake.control = {"latency_ms": args.latency_ms}
    server.run("fake Telegram Bot API")
    return 0


if __name__ == "__main__":
    sys.exit(main())
