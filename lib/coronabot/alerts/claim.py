"""A broadcast as a run claimed it (``broadcasts/{key}``), whatever version began it: the record as stored
and what the letters, the photo and a resumed run ask of it."""

from __future__ import annotations

from typing import Any, NamedTuple

from coronabot import texts
from coronabot.model import preferences
from coronabot.model.language import field


class Claim(NamedTuple):
    record: dict[str, Any]

    @property
    def attempts(self) -> int:
        attempts = self.record.get("attempts")
        return attempts if isinstance(attempts, int) and not isinstance(attempts, bool) else 1

    @property
    def resumed(self) -> bool:
        """Claimed before: only then can its ledger hold chats already settled."""
        return self.attempts > 1

    @property
    def kind(self) -> str:
        """``alert``, ``correction`` or ``held`` (the morning delivery)."""
        return str(self.record.get("kind") or "")

    @property
    def announcement(self) -> str:
        return str(self.record.get("announcement") or "")

    @property
    def order(self) -> str:
        """The announcement's order (an older record has only its id, which is the same)."""
        return str(self.record.get("order") or self.record.get("announcement") or "")

    @property
    def in_these_words(self) -> bool:
        """Begun by this version of the words, with a message in every language."""
        return self.record.get("wording") == texts.WORDING and all(
            isinstance(self.record.get(field("text", lang)), str) for lang in texts.BY_LANGUAGE)

    def text(self, lang: str) -> object:
        """The message in ``lang`` as stored (``texts.sendable`` says whether Telegram accepts it)."""
        return self.record.get(field("text", lang))

    def photo(self, lang: str) -> str | None:
        """The file_id of the chart an earlier run uploaded in ``lang``, if drawn in these words."""
        stored = self.record.get(field("photo", lang))
        fresh = self.record.get(field("photo_wording", lang)) == texts.WORDING
        return stored if isinstance(stored, str) and stored and fresh else None

    def comparisons(self) -> list[preferences.Comparison | None]:
        """What the chats' conditions are decided on: the figures compared, and a correction's original."""
        return [preferences.stored_comparison(self.record.get(name)) for name in ("compare", "compare_before")
                if name in self.record]

    def changed(self, changes: dict[str, Any]) -> Claim:
        return Claim({**self.record, **changes})
