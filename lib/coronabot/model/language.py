"""Which language a chat reads: Korean or English, where a chat starts, and the words that choose one. Pure.

A chat that chose keeps its choice (``/languages/{chat_id}``, see storage); a chat that never chose reads
its default: a private chat Korean when its user's Telegram is set to Korean (``language_code`` ``ko``) and
English otherwise, a group or a channel Korean. A chat subscribed before languages existed has no choice
stored and keeps Korean, whatever its user's Telegram says.
"""

from __future__ import annotations

KOREAN, ENGLISH = "ko", "en"
LANGUAGES = (KOREAN, ENGLISH)
DEFAULT = KOREAN

# What a person types to choose: "/lang en", "/lang 한국어", or "English" / "한국어" alone in a private chat.
_CHOOSING_WORDS = {
    "en": ENGLISH, "eng": ENGLISH, "english": ENGLISH, "영어": ENGLISH, "영문": ENGLISH,
    "ko": KOREAN, "kr": KOREAN, "kor": KOREAN, "korean": KOREAN, "한국어": KOREAN, "한글": KOREAN, "국어": KOREAN,
}
MAX_CHOOSING_CHARS = 16


def valid(value: object) -> str | None:
    """``value`` when it is a language the bot speaks, else None (a stored value is never trusted)."""
    return value if isinstance(value, str) and value in LANGUAGES else None


def default_for(chat_type: str | None, language_code: object) -> str:
    """Where a chat that never chose starts: a private chat follows its user's Telegram (Korean for ``ko``,
    ``ko-KR``; English for anything else, or nothing), a group or a channel is Korean."""
    if chat_type != "private":
        return KOREAN
    code = language_code.strip().lower() if isinstance(language_code, str) else ""
    return KOREAN if code.split("-")[0].split("_")[0] == "ko" else ENGLISH


def chosen(text: object) -> str | None:
    """The language a short text names ("en", "English", "한국어"...), or None."""
    if not isinstance(text, str) or len(text) > MAX_CHOOSING_CHARS:
        return None
    return _CHOOSING_WORDS.get(text.strip().strip(".!").lower())


def field(name: str, lang: str) -> str:
    """The record field holding ``name`` in ``lang``: Korean keeps the name (records written before English
    existed stay readable: ``text``, ``photo``), another language adds its code (``text_en``)."""
    return name if lang == KOREAN else f"{name}_{lang}"
