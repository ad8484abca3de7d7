"""Korean and English: the same texts in both (a text in one language only fails here), English without
Hangul, every source's words in both, and the rules that give a chat its language. Pure: no server."""

from __future__ import annotations

import json
import re
import string
from collections.abc import Mapping
from datetime import UTC, datetime

import pytest

from coronabot import texts
from coronabot.model import language, preferences
from coronabot.model.history import Direction, Point
from coronabot.model.weeks import Week
from coronabot.sources import REGISTRY, data_portal, kdca_sentinel, mohw_daily
from support import FIXTURES, hangul

# The fields each template may name: what its layout (texts/_layouts.py) fills.
TEMPLATES = {"UNKNOWN_COMMAND": {"commands"}, "UNKNOWN_COMMAND_TO": {"name", "commands"},
             "SHARED_LINK": {"link", "username"}, "CORRECTION": {"period"}, "SEEN_AT": {"time"},
             "PENDING_NOW": {"line"}, "EXPECTED": {"window"}, "ABOUT": {"description", "expected"},
             "HISTORY_HEAD": {"title", "count", "unit", "source"},
             "CHART_CAPTION": {"title", "period", "note", "source"},
             "STATUS_ACTIVE": {"since"}, "STATUS_SINCE": {"time"}, "HELD_ONE": {"period", "hour"},
             "HELD_MANY": {"count", "periods", "hour"}}


def _fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}


def test_both_languages_have_the_same_choices_and_templates_that_name_what_their_layout_fills():
    """The type checker proves each language has every word (``Words`` has no optional field); this checks
    what it cannot see: the same keys in every mapping, the same commands, and each template naming exactly
    the fields its layout fills (a plain text names none, so a stray brace fails here, not in a chat)."""
    korean, english = texts.korean.WORDS, texts.english.WORDS
    for name in texts.Words._fields:
        ours, theirs = getattr(korean, name), getattr(english, name)
        if isinstance(ours, Mapping):
            assert set(ours) == set(theirs), name
        for words in (korean, english):
            value = getattr(words, name)
            if isinstance(value, str):
                assert _fields(value) == TEMPLATES.get(name, set()), (words.LANGUAGE, name)
    assert [command for command, _ in korean.BOT_COMMANDS] == [command for command, _ in english.BOT_COMMANDS]
    phrases = {"PENDING": {"period"}, "WHEN_LABELS": {"prev"}, "NIGHT_LABELS": {"end"}, "NIGHT_BUTTONS": {"end"},
               "CHOICE_LINES": {"choice"}}
    for words in (korean, english):
        for name, allowed in phrases.items():
            assert all(_fields(text) <= allowed for text in getattr(words, name).values()), (words.LANGUAGE, name)


def test_the_language_module_knows_every_language_the_bot_speaks():
    assert set(texts.BY_LANGUAGE) == set(language.LANGUAGES) == set(texts.LANGUAGE_NAMES)
    assert all(texts.of(lang).LANGUAGE == lang for lang in language.LANGUAGES)
    assert texts.of("fr") is texts.ko and texts.of(None) is texts.ko


def test_every_source_has_its_words_in_every_language():
    for source in REGISTRY.values():
        assert set(source.texts) == set(language.LANGUAGES), source.name
        for lang in language.LANGUAGES:
            words = source.words(lang)
            assert words.name and words.description and words.trend_title, (source.name, lang)
        english = source.words("en")
        said = (english.name, english.description, english.trend_title, english.trend_note, english.comparison_note,
                english.headline, english.note, *english.figures.values())
        assert not hangul(" ".join(said)), source.name


def samples():
    """One real announcement of each source, parsed from the saved pages."""
    kdca = kdca_sentinel.parse(json.loads((FIXTURES / "kdca-dportal-ari-ListAjax-2026-w35-w39.json").read_text()))
    mohw = mohw_daily.parse((FIXTURES / "mohw-bdBoardList_Real-brdGubun11-2021-06-05.html").read_bytes(),
                            datetime(2021, 6, 5, 9, tzinfo=UTC))
    portal = data_portal.parse((FIXTURES / "api-getCovid19InfStateJson-2021-07-22-pretty-extracted.xml").read_bytes())
    return [kdca, mohw, portal]


@pytest.mark.parametrize("announcement", samples(), ids=lambda a: a.source)
def test_an_announcement_reads_in_english_without_korean_and_with_the_published_figures(announcement):
    source = REGISTRY[announcement.source]
    assert {f.key for f in announcement.figures} <= set(source.words("en").figures), "every figure has a label"
    for text in (texts.en.alert(announcement, source), texts.en.correction(announcement, source),
                 texts.en.current_figures(announcement, source, datetime(2026, 9, 30, 5, 5, tzinfo=UTC))):
        assert not hangul(text), text
        for figure in announcement.figures:
            assert texts.number(figure.value) in text
    korean = texts.ko.alert(announcement, source)
    assert korean.startswith(f"🦠 <b>{announcement.headline}</b>"), "Korean is as the source words it"


def test_the_english_alert_of_the_default_source_says_what_the_figure_is():
    announcement = kdca_sentinel.announcement(Week(2027, 1), 460, 377)
    text = texts.en.alert(announcement, REGISTRY["kdca-sentinel"])
    assert "2027 week 1 (27 Dec – 2 Jan)" in text
    assert "• COVID-19 inpatients: <b>460</b>" in text
    assert "• Week before (week 52, 20–26 Dec): 377 → 83 more this week" in text
    assert "sentinel" in text and "provisional" in text and "not the number of patients in the whole country" in text
    fewer = texts.en.alert(kdca_sentinel.announcement(Week(2026, 40), 300, 377), REGISTRY["kdca-sentinel"])
    assert "77 fewer this week" in fewer and "2026 week 40 (27 Sep – 3 Oct)" in fewer


def test_english_dates_weeks_and_times():
    assert texts.en.week_dates(Week(2026, 39)) == "20–26 Sep"
    assert texts.en.week_period(Week(2027, 1)) == "2027 week 1 (27 Dec – 2 Jan)"
    assert texts.en.kst(datetime(2026, 9, 30, 5, 5, tzinfo=UTC)) == "30 Sep 2026, 14:05 KST"
    assert texts.en.period_label((2026, 39, 0), short=True) == "W39 ’26"
    assert texts.en.period_label((2021, 6, 5)) == "2021-06-05"


def test_every_english_view_and_keyboard_is_english():
    source = REGISTRY["kdca-sentinel"]
    series = [Point(f"2026-W{w}", (2026, w, 0), 300 + w, "weekly", "명") for w in range(20, 40)]
    views = [texts.en.HELP, texts.en.about(source), texts.en.about(source, "Thu 8 Oct, 09:00–11:30 KST"),
             texts.en.history(source, series, Direction("rising", 4, 0, series[-5], series[-1])),
             texts.en.history(REGISTRY["data-portal"], [Point("2021-07-21", (2021, 7, 21), 5, "cumulative", "명")],
                              None),
             texts.en.chart_caption(source, {"order": "2026-W39"}),
             texts.en.status(source, {"since": "2026-09-30T09:00:00+09:00"}, preferences.DEFAULTS, (22, 8)),
             texts.en.unknown_command("Jimin"), texts.en.held_line([(2026, 39, 0), (2026, 40, 0)], 8),
             *texts.en.chart_labels(source, series[-1]).values()]
    for text, markup in (texts.en.settings_view(source, preferences.DEFAULTS, (22, 8)), texts.en.unsubscribed_view(),
                         texts.en.language_prompt()):
        views += [text, json.dumps(markup, ensure_ascii=False)]
    views += [str(v) for name, v in texts.en._asdict().items()
              if name.isupper() and isinstance(v, (str, Mapping, tuple))]
    for view in views:
        assert not hangul(view), view
    assert "▲" in views[3] and "<pre>" in views[3]


def test_the_command_menu_fits_telegrams_limits_in_both_languages():
    for words in texts.BY_LANGUAGE.values():
        assert all(re.fullmatch(r"[a-z0-9_]{1,32}", c) and 1 <= len(d) <= 256 for c, d in words.BOT_COMMANDS)
        assert len(words.BOT_DESCRIPTION) <= 512 and len(words.BOT_SHORT_DESCRIPTION) <= 120


@pytest.mark.parametrize("chat_type, code, expected", [
    ("private", "ko", "ko"), ("private", "ko-KR", "ko"), ("private", "en", "en"), ("private", "ja", "en"),
    ("private", None, "en"), ("private", 7, "en"), ("group", "en", "ko"), ("supergroup", None, "ko"),
    ("channel", "en", "ko"),
])
def test_where_a_chat_starts(chat_type, code, expected):
    assert language.default_for(chat_type, code) == expected


@pytest.mark.parametrize("text, expected", [
    ("en", "en"), ("English", "en"), (" ENGLISH ", "en"), ("영어", "en"), ("ko", "ko"), ("한국어", "ko"),
    ("Korean", "ko"), ("fr", None), ("", None), (None, None), ("english please, if you could", None),
])
def test_the_words_that_choose_a_language(text, expected):
    assert language.chosen(text) == expected


def test_stored_fields_keep_korean_where_records_of_earlier_versions_have_it():
    assert language.field("text", "ko") == "text" and language.field("photo", "en") == "photo_en"
    assert language.valid("en") == "en" and language.valid("fr") is None and language.valid(["en"]) is None
