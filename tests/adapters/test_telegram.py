"""The Bot API client (coronabot.adapters.telegram) against two fake Bot API servers on loopback: each client
sends through its own pool to its own address, so telepot's module state is never what decides."""

from __future__ import annotations

import sys

import pytest

from coronabot.adapters.telegram import Telegram, TelegramError
from coronabot_dev.harness import Process, free_port
from support import PRIVATE_CHAT, FakeTelegram


@pytest.fixture
def second_server(logs_dir, token):
    port = free_port()
    process = Process([sys.executable, "-m", "coronabot_dev.fake_telegram", "--port", str(port), "--token", token,
                       "--username", "SecondTestBot"], port, logs_dir / "telegram-second.log")
    yield FakeTelegram(process.url, token)
    process.stop()


def test_two_clients_in_one_process_each_reach_their_own_bot_api(telegram_server, second_server, token):
    telegram_server.reset()
    first = Telegram(token, telegram_server.url, pool_size=2)
    second = Telegram(token, second_server.url, pool_size=8, timeout=5)
    first.send_message(PRIVATE_CHAT, "첫째")
    second.send_message(PRIVATE_CHAT, "둘째")
    first.send_message(PRIVATE_CHAT, "다시 첫째")
    assert [c["text"] for c in telegram_server.sent()] == ["첫째", "다시 첫째"]
    assert [c["text"] for c in second_server.sent()] == ["둘째"]
    assert first.username() != second.username() == "SecondTestBot"


def test_a_client_whose_server_is_gone_fails_alone(telegram_server, token):
    telegram_server.reset()
    gone = Telegram(token, f"http://127.0.0.1:{free_port()}", timeout=2)
    working = Telegram(token, telegram_server.url)
    with pytest.raises(TelegramError) as failed:
        gone.send_message(PRIVATE_CHAT, "닿지 않음")
    assert failed.value.code == 0 and token not in str(failed.value)
    assert working.send_message(PRIVATE_CHAT, "닿음").chat_id == PRIVATE_CHAT
