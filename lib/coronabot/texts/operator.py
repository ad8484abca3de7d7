"""The operator's texts: notices to the admin chats (ADMIN_CHAT_IDS) and the test message, in Korean.

They go to the people who run this deployment, never to subscribers, so they have one language; the texts a
chat reads are in ``ko`` and ``en``.
"""

from __future__ import annotations

from datetime import datetime
from html import escape
from typing import TYPE_CHECKING

from ._common import MAX_QUOTED_ERROR_CHARS
from .korean import kst

if TYPE_CHECKING:
    from coronabot.model.source import Source


def _name(source: Source) -> str:
    return escape(source.words("ko").name)


def source_failing(source: Source, error: str) -> str:
    """Admin notice: the source started failing. A long error (a layout error quoting the source's captions)
    is cut so the notice always fits in one message; the log line keeps it whole."""
    if len(error) > MAX_QUOTED_ERROR_CHARS:
        error = error[:MAX_QUOTED_ERROR_CHARS] + f" … (총 {len(error):,}자 중 일부, 전체는 로그에 있습니다)"
    return (f"🚨 <b>출처 확인 실패</b>: {_name(source)}\n"
            f"{escape(error)}\n복구되면 다시 알려 드립니다. 구독자에게는 아무것도 보내지 않았습니다.")


def late_notice(source: Source, window_text: str, last_period: str) -> str:
    """Admin notice: the expected announcement has not come (never sent to subscribers)."""
    last = f"\n마지막으로 확인한 발표: {escape(last_period)}" if last_period else ""
    return (f"⏰ 이번 주 발표가 예상 시각보다 늦어지고 있습니다: {_name(source)}\n"
            f"예상 시각: {escape(window_text)}{last}\n"
            "계속 확인하고 있으며, 발표가 나오면 다시 알려 드립니다.")


def late_recovered(source: Source, announcement: str, lateness: str) -> str:
    """Admin notice: the late announcement came, and how late it was."""
    return (f"✅ 늦어진 발표가 나왔습니다: {_name(source)} {escape(announcement)}\n"
            f"예상 시각보다 {escape(lateness)} 늦었습니다. 구독자에게 알림을 보냈습니다.")


def source_recovered(source: Source) -> str:
    """Admin notice: the source works again."""
    return f"✅ <b>출처 복구</b>: {_name(source)} 확인이 다시 정상입니다."


def test_message(moment: datetime) -> str:
    """The operator's test message (python -m coronabot send-test)."""
    return f"🔔 코로나19 알림 봇 테스트 메시지입니다. ({kst(moment)})"
