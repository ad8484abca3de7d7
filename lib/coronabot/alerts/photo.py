"""The picture that goes with a broadcast: uploaded once, with the first delivery, then sent by its file_id."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from coronabot import log
from coronabot.adapters.botapi import TelegramError

if TYPE_CHECKING:
    from coronabot.adapters.telegram import Telegram

logger = log.get("coronabot.broadcast")


class Photo:
    """A picture that goes with a broadcast, its text as the caption: uploaded with the first delivery, then
    sent by the ``file_id`` Telegram gave it, so the picture costs no extra message and one upload.

    Senders wait for the upload (the first chat's delivery) before sending by ``file_id``; ``on_upload``
    stores the id at once, so a resumed run never uploads again. If Telegram refuses the picture, every
    chat left gets the text as a message instead.
    """

    def __init__(self, file_id: str | None = None, png: bytes | None = None,
                 on_upload: Callable[[str], None] | None = None,
                 uploaded_elsewhere: Callable[[], str | None] | None = None):
        """``uploaded_elsewhere``, called once before uploading, returns the ``file_id`` another process
        of the broadcast uploaded (waiting for it), or None to upload here."""
        if file_id is None and png is None:
            raise ValueError("a Photo needs a file_id or the PNG to upload")
        self.file_id, self._png, self._on_upload = file_id, png, on_upload
        self._elsewhere = uploaded_elsewhere
        self.refused = False
        self.uploads = 0
        self._lock = threading.Lock()

    def send(self, telegram: Telegram, chat_id: str, caption: str, silent: bool) -> None:
        """Deliver the picture with its caption to one chat; raises TelegramError."""
        if self.file_id is None:
            with self._lock:
                if self.file_id is None and self._elsewhere is not None:
                    self.file_id, self._elsewhere = self._elsewhere(), None
                    self._png = None if self.file_id else self._png
                if self.file_id is None:
                    assert self._png is not None, "a picture keeps its PNG until it has a file_id"
                    sent = telegram.send_photo(chat_id, self._png, caption, silent=silent)
                    self.uploads += 1
                    self.file_id, self._png = sent.file_id, None
                    self._remember(sent.file_id)
                    return
        telegram.send_photo(chat_id, self.file_id, caption, silent=silent)

    def _remember(self, file_id: str) -> None:
        """Store the new file_id; the chat already has its picture, so a failure here is only logged (a
        resumed run would upload once more)."""
        if self._on_upload is None:
            return
        try:
            self._on_upload(file_id)
        except Exception:
            logger.exception("the uploaded picture's file_id could not be stored")

    def refuse(self, exc: TelegramError) -> None:
        if not self.refused:
            logger.error("Telegram refused the broadcast's picture; sending text messages instead: %s", exc)
        self.refused = True
