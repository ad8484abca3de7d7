"""What the bot answers to one update: replies, or one Bot API call that rides the webhook's response."""

from __future__ import annotations

from typing import Any, NamedTuple

from coronabot.adapters.botapi import message_params


class Reply(NamedTuple):
    chat_id: int
    text: str
    reply_to: int | None = None
    markup: dict[str, Any] | None = None  # an inline keyboard

    def params(self) -> dict[str, Any]:
        """sendMessage parameters, for the response body or a direct call."""
        return message_params(self.chat_id, self.text, self.reply_to, markup=self.markup)


class Answer(NamedTuple):
    """The bot's answer to one update: replies, or one raw method call, and what happened.
    ``direct_calls`` are Bot API calls made before the answer, as they cannot ride the webhook's response
    (it carries one method): the answer to a button press whose message is edited in the response."""

    replies: tuple[Reply, ...] = ()
    method_call: dict[str, Any] | None = None
    action: str = "ignored"
    direct_calls: tuple[dict[str, Any], ...] = ()
