"""Every user-facing text, as Telegram HTML with interpolated values escaped.

Each language is one typed ``Words`` value (``korean``, ``english``) and the layouts that put words together
are written once (``_layouts.Texts``): ``texts.ko`` and ``texts.en`` are the same ``Texts`` in two languages,
so a chat's texts are ``texts.of(lang)``. ``operator`` holds the admins' notices; what every language shares
(Telegram's limits, numbers, splitting, the version of the words) is here too."""

from __future__ import annotations

from coronabot.model.language import DEFAULT
from coronabot.model.seoul import KST

from . import english, korean, operator
from ._common import (
    LANGUAGE_NAMES,
    MAX_CAPTION_CHARS,
    MAX_MESSAGE_CHARS,
    WORDING,
    caption_length,
    number,
    sendable,
    split,
)
from ._layouts import Texts
from ._words import Words

ko = Texts.speaking(korean.WORDS)
en = Texts.speaking(english.WORDS)
BY_LANGUAGE: dict[str, Texts] = {"ko": ko, "en": en}

__all__ = ["BY_LANGUAGE", "KST", "LANGUAGE_NAMES", "MAX_CAPTION_CHARS", "MAX_MESSAGE_CHARS", "WORDING", "Texts",
           "Words", "caption_length", "en", "ko", "number", "of", "operator", "sendable", "split"]


def of(lang: str | None) -> Texts:
    """The texts of ``lang`` (the default language's for anything else)."""
    return BY_LANGUAGE.get(lang or DEFAULT) or BY_LANGUAGE[DEFAULT]
