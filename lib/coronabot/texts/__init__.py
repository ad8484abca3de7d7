"""Every user-facing text, as Telegram HTML with interpolated values escaped: ``ko`` (Korean, the default)
and ``en`` (English) have the same names, so a chat's texts are ``texts.of(lang)``; ``operator`` holds the
admins' notices; what every language shares (Telegram's limits, numbers, splitting, the version of the
words) is here too."""

from __future__ import annotations

from types import ModuleType

from coronabot.model.language import DEFAULT

from . import en, ko, operator
from ._common import (
    KST,
    LANGUAGE_NAMES,
    MAX_CAPTION_CHARS,
    MAX_MESSAGE_CHARS,
    WORDING,
    caption_length,
    number,
    sendable,
    split,
)

BY_LANGUAGE: dict[str, ModuleType] = {"ko": ko, "en": en}

__all__ = ["BY_LANGUAGE", "KST", "LANGUAGE_NAMES", "MAX_CAPTION_CHARS", "MAX_MESSAGE_CHARS", "WORDING",
           "caption_length", "en", "ko", "number", "of", "operator", "sendable", "split"]


def of(lang: str | None) -> ModuleType:
    """The texts of ``lang`` (the default language's for anything else)."""
    return BY_LANGUAGE.get(lang or DEFAULT) or BY_LANGUAGE[DEFAULT]
