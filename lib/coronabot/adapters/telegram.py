"""All Telegram Bot API I/O, through telepot.

telepot 12.7 has no setting for the API address and lacks newer methods and
parameters; this module is the only one that imports it. Each client's bot sends
through its own connection pool to its own ``TELEGRAM_API_BASE`` (telepot's module
state is left as it is), calls raw methods for what telepot lacks, and turns its
exceptions into :class:`TelegramError` with a message that never contains the token.
"""

from __future__ import annotations

import io
import json
from typing import Any, NamedTuple

import telepot
import telepot.api
import telepot.exception
import urllib3

from coronabot.adapters.botapi import TelegramError, json_number, message_params, photo_params
from coronabot.log import redact

__all__ = ["SentMessage", "SentPhoto", "Telegram", "TelegramError", "message_params", "photo_params"]

def _parse_answer(response: urllib3.BaseHTTPResponse) -> Any:
    """telepot's answer parser, made total: any body that is not a Bot API answer (not JSON, not UTF-8,
    no boolean ``ok``, an error without a numeric ``error_code`` and a text ``description``, ``parameters``
    that is not an object) raises BadHTTPResponse instead of a KeyError, TypeError or UnicodeDecodeError."""
    try:
        data = json.loads(response.data.decode("utf-8"))
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise telepot.exception.BadHTTPResponse(response.status, "", response) from None
    if not isinstance(data, dict) or not isinstance(data.get("ok"), bool):
        raise telepot.exception.BadHTTPResponse(response.status, "", response)
    if data["ok"]:
        return data.get("result")
    code, description = json_number(data.get("error_code")), data.get("description")
    parameters = data.get("parameters", {})
    if code is None or not isinstance(description, str) or not isinstance(parameters, dict):
        raise telepot.exception.BadHTTPResponse(response.status, "", response)
    clean = {"error_code": int(code), "description": description[:1000],
             "parameters": {key: value for key, value in parameters.items()
                            if key in ("retry_after", "migrate_to_chat_id") and json_number(value) is not None}}
    raise telepot.exception.TelegramError(clean["description"], clean["error_code"], clean)


class _Bot(telepot.Bot):  # type: ignore[misc]  # telepot has no type hints
    """telepot's bot, sending through a pool and to a base URL of its own: nothing of telepot's module state
    is changed, so two clients in one process (another base, another pool size) never meet."""

    def __init__(self, token: str, api_base: str, pool: urllib3.PoolManager, timeout: float):
        super().__init__(token)
        self._base, self._pool, self._timeout = api_base, pool, timeout

    def _api_request(self, method: str, params: dict[str, Any] | None = None, files: dict[str, Any] | None = None,
                     **kwargs: Any) -> Any:
        """What ``telepot.api.request`` does (telepot composes the fields), with this bot's pool and base."""
        options: dict[str, Any] = {} if params or files else {"encode_multipart": False}
        if method == "getUpdates" and params and "timeout" in params:
            options["timeout"] = params["timeout"] + self._timeout  # longer than the long poll
        options.update(kwargs)
        fields = telepot.api._compose_fields((self._token, method, params, files))
        url = f"{self._base}/bot{self._token}/{method}"
        return _parse_answer(self._pool.request_encode_body("POST", url, fields, **options))


class SentMessage(NamedTuple):
    message_id: int
    chat_id: int


class SentPhoto(NamedTuple):
    message_id: int
    chat_id: int
    file_id: str  # of the largest size Telegram made: send it again by this id, without uploading


UPLOAD_TIMEOUT_SECONDS = 60.0


def _sent_message(method: str, result: object) -> SentMessage:
    """The Message a send method answered, or a malformed-answer error when the result is not one."""
    chat = result.get("chat") if isinstance(result, dict) else None
    message_id = result.get("message_id") if isinstance(result, dict) else None
    chat_id = chat.get("id") if isinstance(chat, dict) else None
    message_number, chat_number = json_number(message_id), json_number(chat_id)
    if message_number is None or chat_number is None:
        raise TelegramError.malformed_answer(method, "the result is not a Message")
    return SentMessage(message_id=int(message_number), chat_id=int(chat_number))


def _jsonable(params: dict[str, Any]) -> dict[str, Any]:
    """Drop None values and JSON-encode structured ones, as the Bot API's form encoding expects."""
    out = {}
    for key, value in params.items():
        if value is None:
            continue
        if isinstance(value, (dict, list, tuple)):
            value = json.dumps(value, ensure_ascii=False)
        elif isinstance(value, bool):
            value = "true" if value else "false"
        out[key] = value
    return out


class Telegram:
    """A Bot API client for one token; thread-safe, with a connection pool sized for broadcasts."""

    def __init__(self, token: str, api_base: str = "https://api.telegram.org", pool_size: int = 10,
                 timeout: float = 15.0):
        pool = urllib3.PoolManager(num_pools=3, maxsize=pool_size, timeout=timeout,
                                   retries=urllib3.util.Retry(total=1, connect=1, read=0, redirect=0, status=0))
        self._bot = _Bot(token, api_base.rstrip("/"), pool, timeout)
        self._username: str | None = None

    def call(self, method: str, **params: Any) -> Any:
        """Call any Bot API method with the given parameters; raises TelegramError."""
        return self._request(method, params)

    def _request(self, method: str, params: dict[str, Any], files: dict[str, Any] | None = None) -> Any:
        try:
            if files:  # telepot would wait for an upload's answer without a time limit
                return self._bot._api_request(method, _jsonable(params), files, timeout=UPLOAD_TIMEOUT_SECONDS)
            return self._bot._api_request(method, _jsonable(params))
        except telepot.exception.TelegramError as exc:
            data = exc.json if isinstance(exc.json, dict) else {}
            parameters = data["parameters"] if isinstance(data.get("parameters"), dict) else {}
            retry_after = json_number(parameters.get("retry_after"))
            migrate_to = json_number(parameters.get("migrate_to_chat_id"))
            code = json_number(exc.error_code)
            raise TelegramError(int(code) if code is not None else 0, redact(str(exc.description)),
                                float(retry_after) if retry_after is not None else None,
                                int(migrate_to) if migrate_to is not None else None) from None
        except telepot.exception.BadHTTPResponse as exc:
            status = exc.status if isinstance(exc.status, int) else 0
            if status >= 500 or status == 429:
                raise TelegramError(status, "non-JSON answer from the Bot API") from None
            raise TelegramError.malformed_answer(method, f"HTTP {status}, not a Bot API answer") from None
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise TelegramError(0, redact(f"network error: {type(exc).__name__}: {exc}")) from None

    def send_message(self, chat_id: int | str, text: str, silent: bool = False) -> SentMessage:
        """Send an HTML message without link previews."""
        result = self.call("sendMessage", **message_params(chat_id, text, silent=silent))
        return _sent_message("sendMessage", result)

    def send_photo(self, chat_id: int | str, photo: str | bytes, caption: str, silent: bool = False) -> SentPhoto:
        """Send a picture with an HTML caption: ``photo`` is a ``file_id`` Telegram gave before, or PNG bytes
        to upload (multipart)."""
        if isinstance(photo, bytes):
            result = self._request("sendPhoto", photo_params(chat_id, None, caption, silent=silent),
                                   files={"photo": ("chart.png", io.BytesIO(photo))})
        else:
            result = self.call("sendPhoto", **photo_params(chat_id, photo, caption, silent=silent))
        sent = _sent_message("sendPhoto", result)
        sizes = result.get("photo")
        largest = sizes[-1] if isinstance(sizes, list) and sizes and isinstance(sizes[-1], dict) else {}
        file_id = largest.get("file_id")
        if not isinstance(file_id, str) or not file_id:
            raise TelegramError.malformed_answer("sendPhoto", "the result is not a Message with a photo")
        return SentPhoto(sent.message_id, sent.chat_id, file_id)

    def _object(self, method: str, **params: Any) -> dict[str, Any]:
        """Call a method whose result is an object; a result of another shape is a malformed answer."""
        result = self.call(method, **params)
        if not isinstance(result, dict):
            raise TelegramError.malformed_answer(method, "the result is not an object")
        return result

    def get_me(self) -> dict[str, Any]:
        return self._object("getMe")

    def username(self) -> str:
        """The bot's @username from getMe, asked once per client."""
        if self._username is None:
            username = self.get_me().get("username")
            self._username = username if isinstance(username, str) else ""
        return self._username

    def chat_member_status(self, chat_id: int, user_id: int) -> str:
        """The user's status in the chat (creator, administrator, member, restricted, left, kicked)."""
        status = self._object("getChatMember", chat_id=chat_id, user_id=user_id).get("status")
        if not isinstance(status, str):
            raise TelegramError.malformed_answer("getChatMember", "the result has no status")
        return status

    def get_updates(self, offset: int | None, timeout: int, allowed_updates: list[str]) -> list[dict[str, Any]]:
        updates = self.call("getUpdates", offset=offset, timeout=timeout, allowed_updates=allowed_updates)
        if not isinstance(updates, list):
            raise TelegramError.malformed_answer("getUpdates", "the result is not a list")
        return updates

    def set_webhook(self, url: str, secret_token: str, allowed_updates: list[str],
                    drop_pending_updates: bool = False) -> bool:
        return bool(self.call("setWebhook", url=url, secret_token=secret_token, allowed_updates=allowed_updates,
                         drop_pending_updates=drop_pending_updates, max_connections=40))

    def delete_webhook(self, drop_pending_updates: bool = False) -> bool:
        return bool(self.call("deleteWebhook", drop_pending_updates=drop_pending_updates))

    def get_webhook_info(self) -> dict[str, Any]:
        return self._object("getWebhookInfo")

