"""What a broadcast does when Telegram refuses one delivery: a pure decision, the way urllib3's ``Retry`` is.

Given the error and what was already tried for this chat, :meth:`DeliveryPolicy.decide` answers one step:
send the text without its picture, pause every sender (429), follow a group that became a supergroup, retry
after a back-off, settle the chat as removed (it blocked the bot, or is gone) or failed for good, leave it
pending for the next run, or stop the whole run (no message can succeed). No I/O, no clock, no threads.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import NamedTuple

from coronabot.adapters.botapi import TelegramError


class Step(Enum):
    AS_TEXT = "as_text"  # the picture was refused: send the same text as a message
    PAUSE = "pause"  # flood control: every sender waits ``seconds``, then this chat is tried again
    MOVE = "move"  # the group became a supergroup: send to ``to`` and move the subscription
    RETRY = "retry"  # transient trouble: wait ``seconds`` (this sender only), then try again
    REMOVED = "removed"  # the chat can never receive messages: settle it and drop its subscription
    FAILED = "failed"  # refused for good for this chat: settle it as failed
    PENDING = "pending"  # not known to be delivered: leave it for the next run
    STOP = "stop"  # no message can succeed (bad token, bad text): stop the run


class Tries(NamedTuple):
    """What was already tried for one chat in this run."""

    floods: int = 0
    transient: int = 0
    moved: bool = False


FIRST_TRY = Tries()


class Decision(NamedTuple):
    """One step, and the chat's tries counting it."""

    step: Step
    tries: Tries
    seconds: float = 0.0
    to: str | None = None


@dataclass(frozen=True)
class DeliveryPolicy:
    """The limits of retrying one chat: ``max_flood_waits`` pauses on 429, ``transient_retries`` retries on
    network trouble or 5xx, backing off ``backoff`` × 2^n seconds."""

    max_flood_waits: int = 5
    transient_retries: int = 3
    backoff: float = 0.5

    def decide(self, error: TelegramError, tries: Tries = FIRST_TRY, with_photo: bool = False) -> Decision:
        """The next step after ``error``; ``with_photo`` says the failed call carried the picture."""
        if with_photo and error.photo_refused:
            return Decision(Step.AS_TEXT, tries)
        if error.malformed:  # the call may have taken effect: never repeat it in this run
            return Decision(Step.PENDING, tries)
        if error.code == 429 and tries.floods < self.max_flood_waits:
            return Decision(Step.PAUSE, tries._replace(floods=tries.floods + 1), error.retry_after or 1.0)
        if error.migrate_to is not None and not tries.moved:
            return Decision(Step.MOVE, tries._replace(moved=True), to=str(error.migrate_to))
        if error.stops_everything:
            return Decision(Step.STOP, tries)
        if error.chat_gone:
            return Decision(Step.REMOVED, tries)
        if error.transient and tries.transient < self.transient_retries:
            return Decision(Step.RETRY, tries._replace(transient=tries.transient + 1),
                            self.backoff * 2 ** tries.transient)
        if error.transient:
            return Decision(Step.PENDING, tries)
        return Decision(Step.FAILED, tries)
