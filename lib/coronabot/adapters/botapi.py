"""The Bot API's parameters and errors, without any I/O: what the webhook needs to answer in its response.

``telegram.py`` does the I/O through telepot; keeping these apart lets the webhook answer ``/help`` and
every reply that rides its response without loading telepot (a cold start is mostly imports).
"""

from __future__ import annotations

from typing import Any


def json_number(value: object) -> float | None:
    """A JSON number (not a bool), else None."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value:
        return None
    return value


class TelegramError(Exception):
    """A failed Bot API call: ``code`` is the HTTP-style error code (0 for network errors)."""

    def __init__(self, code: int, description: str, retry_after: float | None = None,
                 migrate_to: int | None = None, malformed: bool = False):
        super().__init__(f"{code} {description}")
        self.code = code
        self.description = description
        self.retry_after = retry_after
        self.migrate_to = migrate_to
        self.malformed = malformed

    @classmethod
    def malformed_answer(cls, method: str, what: str) -> TelegramError:
        """The Bot API answered, but not in its documented format: whether the call took effect is unknown."""
        return cls(0, f"malformed answer to {method}: {what}", malformed=True)

    @property
    def chat_gone(self) -> bool:
        """The chat can never receive messages again: the subscription should go."""
        text = self.description.lower()
        return (self.code == 403 and ("blocked" in text or "deactivated" in text or "kicked" in text
                                       or "not a member" in text or "chat not found" in text)) or (
            self.code == 400 and "chat not found" in text)

    @property
    def stops_everything(self) -> bool:
        """No message can succeed: the token was refused, the API address is wrong, or the text itself is bad."""
        text = self.description.lower()
        return self.code in (401, 404) or (self.code == 400 and any(
            phrase in text for phrase in ("can't parse entities", "message is too long", "text is empty")))

    @property
    def photo_refused(self) -> bool:
        """The picture or its caption was refused (an unknown file_id, an image Telegram cannot process, a
        caption too long): the same text can still go as a message."""
        text = self.description.lower()
        return self.code == 400 and any(phrase in text for phrase in (
            "file identifier", "caption is too long", "image_process_failed", "photo_invalid", "wrong type"))

    @property
    def transient(self) -> bool:
        """Worth retrying later: network trouble, 5xx or flood control (not a malformed answer, which may
        mean the call took effect)."""
        return not self.malformed and (self.code == 0 or self.code >= 500 or self.code == 429)


def message_params(chat_id: int | str, text: str, reply_to: int | None = None, silent: bool = False,
                   markup: dict[str, Any] | None = None) -> dict[str, Any]:
    """sendMessage parameters as the bot always sends them: HTML, no link preview, quoting in groups;
    ``silent`` delivers without a notification sound (quiet hours); ``markup`` is an inline keyboard."""
    params = {"chat_id": chat_id, "text": text, "parse_mode": "HTML", "link_preview_options": {"is_disabled": True}}
    if markup is not None:
        params["reply_markup"] = markup
    return _delivery_options(params, reply_to, silent)


def photo_params(chat_id: int | str, photo: str | None, caption: str, reply_to: int | None = None,
                 silent: bool = False) -> dict[str, Any]:
    """sendPhoto parameters: a ``file_id`` (None when the picture is uploaded with the call), an HTML
    caption, and the same quoting and sound options as a message."""
    params = {"chat_id": chat_id, "caption": caption, "parse_mode": "HTML"}
    if photo is not None:
        params["photo"] = photo
    return _delivery_options(params, reply_to, silent)


def _delivery_options(params: dict[str, Any], reply_to: int | None, silent: bool) -> dict[str, Any]:
    if reply_to is not None:
        params["reply_parameters"] = {"message_id": reply_to, "allow_sending_without_reply": True}
    if silent:
        params["disable_notification"] = True
    return params
