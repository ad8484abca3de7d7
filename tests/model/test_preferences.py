"""Per-chat choices as pure functions: the stored form, the buttons' data, the decision for one chat, and
alerts held for the morning (coronabot.model.preferences, coronabot.alerts.held, their texts)."""

from __future__ import annotations

import json
from datetime import datetime

import pytest

from coronabot import texts
from coronabot.alerts import held
from coronabot.model import preferences
from coronabot.model.preferences import DEFAULTS, STALE, Comparison, Preferences, Press, condition_holds, plan
from coronabot.sources import REGISTRY, data_portal, kdca_sentinel, mohw_daily
from support import FIXTURES


@pytest.mark.parametrize("record, expected", [
    (None, DEFAULTS),
    ({"since": "x"}, DEFAULTS),
    ({"prefs": "rose"}, DEFAULTS),
    ({"prefs": {"when": "rose"}}, Preferences(when="rose")),
    ({"prefs": {"when": "always", "night": "hold", "format": 3}}, Preferences(night="hold")),
    ({"prefs": {"when": "rise50", "night": "normal", "format": "text"}}, Preferences("rise50", "normal", "text")),
])
def test_stored_choices_are_read_leniently(record, expected):
    assert preferences.from_subscription(record) == expected


def test_every_button_the_bot_draws_parses_back_to_its_choice():
    keyboard = texts.ko.settings_keyboard(Preferences("change20", "hold", "text"), (22, 8))
    buttons = [b for row in keyboard["inline_keyboard"] for b in row]
    presses = [preferences.parse_callback(b["callback_data"]) for b in buttons]
    assert all(len(b["callback_data"].encode()) <= 64 for b in buttons)
    assert {(p.field, p.value) for p in presses if p.action == "set"} == {
        (field, value) for field, values in preferences.BUTTON_CHOICES.items() for value in values}
    assert Press("close") in presses
    ticked = [b["text"] for b in buttons if b["text"].startswith("✅")]
    assert ticked == ["✅ ±20% 이상 변할 때", "✅ 아침 8시에", "✅ 글만", "✅ 한국어"]
    assert preferences.parse_callback(texts.ko.unsubscribed_view()[1]["inline_keyboard"][0][0]["callback_data"]) == \
        Press("subscribe")


def test_without_quiet_hours_there_is_no_night_row():
    keyboard = texts.ko.settings_keyboard(DEFAULTS, None)
    fields = {preferences.parse_callback(b["callback_data"]).field for row in keyboard["inline_keyboard"] for b in row}
    assert "night" not in fields and "when" in fields


@pytest.mark.parametrize("data", ["s0:set:when:rose", "s2:set:when:every", "s9:close"])
def test_data_from_another_keyboard_version_is_stale(data):
    assert preferences.parse_callback(data) is STALE


@pytest.mark.parametrize("data", [None, 7, "", "x", "s1", "s1:", "s1:set", "s1:set:when", "s1:set:when:always",
                                  "s1:set:chat:-100123", "s1:set:when:rose:extra", "s1:SET:when:rose",
                                  "s1:subscribe:now", "sx:set:when:rose", "s1:set:when:" + "r" * 60, "s1:close\n",
                                  "s1:set:format:chart\u0000"])
def test_data_the_bot_never_sent_is_refused(data):
    assert preferences.parse_callback(data) is None


@pytest.mark.parametrize("when, rising, falling, flat, small_rise, doubled", [
    ("every", True, True, True, True, True),
    ("rose", True, False, False, True, True),
    ("change20", True, True, False, False, True),
    ("rise50", False, False, False, False, True),
])
def test_each_condition_on_rising_falling_and_flat_figures(when, rising, falling, flat, small_rise, doubled):
    assert condition_holds(when, Comparison(337, 248)) is rising  # +35.9%
    assert condition_holds(when, Comparison(248, 337)) is falling  # -26.4%
    assert condition_holds(when, Comparison(248, 248)) is flat
    assert condition_holds(when, Comparison(260, 248)) is small_rise  # +4.8%
    assert condition_holds(when, Comparison(496, 248)) is doubled


def test_thresholds_are_inclusive_and_zero_is_handled():
    assert condition_holds("change20", Comparison(120, 100)) and condition_holds("change20", Comparison(80, 100))
    assert not condition_holds("change20", Comparison(119, 100))
    assert condition_holds("rise50", Comparison(150, 100)) and not condition_holds("rise50", Comparison(149, 100))
    assert condition_holds("rise50", Comparison(1, 0)) and not condition_holds("rise50", Comparison(0, 0))
    assert not condition_holds("rose", Comparison(0, 0))


def test_without_a_published_comparison_every_chat_gets_the_announcement():
    assert all(condition_holds(when, None) for when in preferences.CHOICES["when"])


def test_the_comparison_is_the_one_the_alert_shows():
    sample = json.loads((FIXTURES / "kdca-dportal-ari-ListAjax-2026-w35-w39.json").read_text())
    announcement = kdca_sentinel.parse(sample)
    figures = preferences.comparison(announcement)
    assert figures == Comparison(248, 337)
    alert = texts.ko.alert(announcement, kdca_sentinel.SOURCE)
    assert "248명" in alert and "337명" in alert and "89명 감소" in alert


def test_only_the_sources_whose_alerts_compare_are_listed_as_comparing():
    """Source.compared (read by /settings) matches what each source's parser gives the alert."""
    kdca = kdca_sentinel.parse(json.loads((FIXTURES / "kdca-dportal-ari-ListAjax-2026-w35-w39.json").read_text()))
    mohw = mohw_daily.parse((FIXTURES / "mohw-bdBoardList_Real-brdGubun11-2021-06-05.html").read_bytes(),
                            datetime(2021, 6, 5, 10, 0, tzinfo=texts.KST))
    portal = data_portal.parse((FIXTURES / "api-getCovid19InfStateJson-2021-07-22-pretty-extracted.xml").read_bytes())
    compares = {a.source for a in (kdca, mohw, portal) if preferences.comparison(a) is not None}
    assert compares == {s.name for s in REGISTRY.values() if s.compared} == {"kdca-sentinel"}


@pytest.mark.parametrize("prefs, night, expected", [
    (DEFAULTS, False, ("send", False, True)),
    (DEFAULTS, True, ("send", True, True)),
    (Preferences(night="normal"), True, ("send", False, True)),
    (Preferences(night="hold"), True, ("hold", False, True)),
    (Preferences(night="hold"), False, ("send", False, True)),
    (Preferences(format="text"), False, ("send", False, False)),
    (Preferences(when="rose", night="hold"), True, ("skipped:rose", False, True)),
])
def test_the_plan_for_one_chat(prefs, night, expected):
    assert tuple(plan(prefs, [Comparison(248, 337)], night)) == expected


def test_a_correction_reaches_chats_for_which_the_original_or_the_corrected_figures_qualify():
    rose = Preferences(when="rose")
    assert plan(rose, [Comparison(300, 337), Comparison(400, 337)], False).outcome == "send"
    assert plan(rose, [Comparison(400, 337), Comparison(300, 337)], False).outcome == "send"
    assert plan(rose, [Comparison(300, 337), Comparison(310, 337)], False).outcome == "skipped:rose"


# -- held alerts -----------------------------------------------------------------------------------------
def _entry(week: int, kind: str = "alert") -> dict:
    return held.entry(f"2026-W{week}", f"2026-W{week}", kind, "2026-09-30T23:00:00+09:00")


def test_two_held_announcements_collapse_into_the_newest_naming_both():
    entries = {"kdca-sentinel_2026-W40": _entry(40), "kdca-sentinel_2026-W39": _entry(39)}
    owed = held.collapse("15", entries)
    assert owed.broadcast == "kdca-sentinel_2026-W40" and owed.announcement == "2026-W40" and owed.kind == "alert"
    assert owed.periods == ((2026, 39, 0), (2026, 40, 0))
    assert "(2026년 39주, 2026년 40주)" in texts.ko.held_line(owed.periods, 8)
    assert "(2026 week 39, 2026 week 40)" in texts.en.held_line(owed.periods, 8)
    assert sorted(owed.paths) == ["held/15/kdca-sentinel_2026-W39", "held/15/kdca-sentinel_2026-W40"]
    line = texts.ko.held_line(owed.periods, 8)
    assert "2건" in line and "2026년 39주, 2026년 40주" in line and "아침 8시" in line


def test_a_correction_held_with_its_alert_is_the_alert_and_alone_it_is_a_correction():
    both = held.collapse("15", {"k_2026-W39": _entry(39), "k_2026-W39_fix_ab": _entry(39, "correction")})
    assert (both.broadcast, both.kind, both.periods) == ("k_2026-W39_fix_ab", "alert", ((2026, 39, 0),))
    alone = held.collapse("15", {"k_2026-W39_fix_ab": _entry(39, "correction")})
    assert alone.kind == "correction"
    assert "밤사이 나온 발표(2026년 39주)" in texts.ko.held_line(alone.periods, 8)


def test_damaged_held_entries_are_listed_for_deletion_with_the_readable_ones():
    owed = held.collapse("15", {"a": _entry(39), "b": "junk", "c": {"announcement": 3}})
    assert owed.announcement == "2026-W39" and len(owed.paths) == 3
    assert held.collapse("15", {"b": "junk"}) is None and held.collapse("15", ["x"]) is None


def test_status_and_settings_texts_escape_nothing_they_should_not_and_say_each_choice():
    prefs = Preferences("rise50", "normal", "text")
    status = texts.ko.status(REGISTRY["kdca-sentinel"], {"since": "2026-09-30T09:00:00+09:00"}, prefs, (22, 8))
    assert "2026년 9월 30일 09:00 (KST)부터" in status and "전주 대비 50% 이상 늘었을 때만" in status
    assert "밤 22시~다음 날 8시: <b>평소처럼 소리 내어 받기</b>" in status and "형식: <b>글만</b>" in status
    assert "받지 않음" in texts.ko.status(REGISTRY["kdca-sentinel"], None, DEFAULTS, (22, 8))
    view, _ = texts.ko.settings_view(REGISTRY["mohw-daily"], DEFAULTS, (12, 14))
    assert "12시~14시" in view and "모든 발표를 보내 드립니다" in view


@pytest.mark.parametrize("zone", ["UTC", "America/Los_Angeles", "Asia/Seoul", "Pacific/Kiritimati"])
def test_held_alerts_are_due_from_eight_o_clock_korean_time_whatever_the_hosts_zone(monkeypatch, zone):
    import time as time_module
    monkeypatch.setenv("TZ", zone)
    time_module.tzset()
    try:
        before, at = datetime(2026, 10, 1, 7, 59, tzinfo=texts.KST), datetime(2026, 10, 1, 8, 0, tzinfo=texts.KST)
        assert not held.due(True, before, (22, 8)) and held.due(True, at, (22, 8))
        assert held.due(True, at.astimezone(), (22, 8)), "an aware time in the host's zone is the same moment"
        assert not held.due(True, datetime(2026, 9, 30, 23, 0, tzinfo=texts.KST), (22, 8))
        assert not held.due(None, at, (22, 8)) and held.due(True, before, None)
    finally:
        monkeypatch.undo()
        time_module.tzset()
