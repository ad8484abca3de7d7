"""The Telegram error policy of a broadcast, without servers: every refusal Telegram gives, and the limits."""

from __future__ import annotations

import pytest

from coronabot.adapters.botapi import TelegramError
from coronabot.alerts.policy import DeliveryPolicy, Step, Tries

POLICY = DeliveryPolicy()


@pytest.mark.parametrize("error, step", [
    (TelegramError(403, "Forbidden: bot was blocked by the user"), Step.REMOVED),
    (TelegramError(403, "Forbidden: user is deactivated"), Step.REMOVED),
    (TelegramError(400, "Bad Request: chat not found"), Step.REMOVED),
    (TelegramError(401, "Unauthorized"), Step.STOP),
    (TelegramError(400, "Bad Request: can't parse entities: unsupported start tag"), Step.STOP),
    (TelegramError(400, "Bad Request: message is too long"), Step.STOP),
    (TelegramError(400, "Bad Request: wrong type of the web page content"), Step.FAILED),
    (TelegramError(0, "network error: connection reset"), Step.RETRY),
    (TelegramError(502, "Bad Gateway"), Step.RETRY),
    (TelegramError.malformed_answer("sendMessage", "not JSON"), Step.PENDING),
])
def test_each_refusal_has_its_step(error, step):
    assert POLICY.decide(error).step is step


def test_flood_control_pauses_every_sender_for_retry_after_then_gives_up():
    flood = TelegramError(429, "Too Many Requests: retry after 7", retry_after=7)
    decision = POLICY.decide(flood)
    assert (decision.step, decision.seconds, decision.tries.floods) == (Step.PAUSE, 7, 1)
    assert POLICY.decide(TelegramError(429, "Too Many Requests")).seconds == 1.0, "no retry_after: a second"
    tries = Tries(floods=5)
    assert POLICY.decide(flood, tries).step is Step.RETRY, "past the flood waits: retried as transient"
    assert POLICY.decide(flood, Tries(floods=5, transient=3)).step is Step.PENDING


def test_transient_trouble_backs_off_then_leaves_the_chat_pending():
    error, tries, waits = TelegramError(0, "timeout"), Tries(), []
    while (decision := POLICY.decide(error, tries)).step is Step.RETRY:
        waits.append(decision.seconds)
        tries = decision.tries
    assert waits == [0.5, 1.0, 2.0] and decision.step is Step.PENDING
    assert DeliveryPolicy(transient_retries=0).decide(error).step is Step.PENDING


def test_a_migrated_group_is_followed_once():
    moved = TelegramError(400, "Bad Request: group chat was upgraded to a supergroup chat", migrate_to=-100777)
    decision = POLICY.decide(moved)
    assert (decision.step, decision.to, decision.tries.moved) == (Step.MOVE, "-100777", True)
    assert POLICY.decide(moved, decision.tries).step is Step.FAILED, "never moved twice"


def test_a_refused_picture_goes_as_text_only_when_the_call_carried_it():
    refused = TelegramError(400, "Bad Request: wrong file identifier/HTTP URL specified")
    assert POLICY.decide(refused, with_photo=True).step is Step.AS_TEXT
    assert POLICY.decide(refused, with_photo=False).step is Step.FAILED
