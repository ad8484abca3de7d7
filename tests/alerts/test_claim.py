"""A claimed broadcast's record read as the letters and a resumed run ask of it (coronabot.alerts.claim), whatever
version wrote it and however damaged."""

from __future__ import annotations

from coronabot import texts
from coronabot.alerts.claim import Claim
from coronabot.model.preferences import Comparison


def test_a_claim_of_this_version_reads_its_messages_chart_and_comparisons():
    claim = Claim({"kind": "alert", "announcement": "2026-W39", "order": "2026-W39", "attempts": 2,
                   "wording": texts.WORDING, "text": "알림", "text_en": "Alert", "photo": "file-ko",
                   "photo_wording": texts.WORDING, "compare": [248, 337]})
    assert (claim.kind, claim.announcement, claim.order, claim.attempts, claim.resumed) == \
        ("alert", "2026-W39", "2026-W39", 2, True)
    assert claim.in_these_words and claim.text("en") == "Alert" and claim.photo("ko") == "file-ko"
    assert claim.photo("en") is None, "no chart uploaded in English yet"
    assert claim.comparisons() == [Comparison(248, 337)]
    assert claim.changed({"text_en": "Alert 2"}).text("en") == "Alert 2" and claim.text("en") == "Alert"


def test_a_claim_of_an_older_version_or_a_damaged_one_reads_safely():
    older = Claim({"kind": "alert", "announcement": "2026-W39", "text": "옛 알림", "photo": "old",
                   "photo_wording": 1})
    assert not older.in_these_words and older.order == "2026-W39", "an older record has its id, not its order"
    assert older.photo("ko") is None, "a chart drawn in older words is drawn again"
    assert (older.attempts, older.resumed, older.comparisons()) == (1, False, [])
    damaged = Claim({"attempts": "two", "compare": "x", "wording": texts.WORDING})
    assert (damaged.attempts, damaged.kind, damaged.announcement, damaged.order) == (1, "", "", "")
    assert damaged.comparisons() == [None] and not damaged.in_these_words
