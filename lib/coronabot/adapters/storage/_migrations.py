"""Changes of the database's layout, each run once, resumable and idempotent (``state/migrations/{name}``)."""

from __future__ import annotations

from typing import Any

from coronabot.model.language import KOREAN

from . import layout
from ._records import key_span

PAGE_SIZE = 500
LANGUAGES = "languages"  # every subscriber has its language stored (those of before languages: Korean)


class Migrations:
    """The part of ``Database`` that moves older records to this version's layout."""

    pages: Any  # Database.pages
    languages: Any  # Subscriptions.languages
    update: Any  # Database.update

    def mark_languages(self, after: str | None, pages: int, at: str, size: int = PAGE_SIZE) -> tuple[bool, int]:
        """Store Korean as the language of every subscriber without one (chats that subscribed before
        languages existed read Korean; ``language.py``), up to ``pages`` pages of subscribers in key order
        from the key after ``after``. Each page's marks and the key it reached are one write, so a run cut
        short goes on where it stopped, and a chat that has a language keeps it. (whether every page is
        done, chats marked)."""
        marked = 0
        for number, page in enumerate(self.pages(layout.SUBSCRIBERS, size, after=after)):
            if number >= pages:
                return False, marked
            first, last = key_span(page)
            chosen = self.languages(first, last)
            changes: dict[str, Any] = {layout.language(chat): KOREAN for chat in page if chat not in chosen}
            changes[layout.state("migrations", LANGUAGES)] = {"after": last}
            self.update(changes)
            marked += len(changes) - 1
        self.update({layout.state("migrations", LANGUAGES): {"done_at": at}})
        return True, marked
