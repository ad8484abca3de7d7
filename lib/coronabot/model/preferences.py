"""What each chat chose to hear: when an alert is worth sending, what happens at night, in which format.

The choices live in the chat's subscription record (``/subscribers/{chat_id}/prefs``), so the one subscriber
read a broadcast makes already carries them. Pure functions only: the stored form read leniently (anything
unknown means the default, which is the bot's behaviour before choices existed), the buttons' callback data
(versioned, validated, never trusted), and the decision for one chat and one announcement.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, NamedTuple

from coronabot.model.announcement import Announcement
from coronabot.model.language import LANGUAGES

# field -> its choices, the default first. The order is the order of the buttons.
CHOICES: dict[str, tuple[str, ...]] = {
    "when": ("every", "rose", "change20", "rise50"),
    "night": ("silent", "hold", "normal"),
    "format": ("chart", "text"),
}
FIELDS = tuple(CHOICES)
# What a button may set: the choices above, and the chat's language (stored apart: see language.py).
BUTTON_CHOICES: dict[str, tuple[str, ...]] = {**CHOICES, "lang": LANGUAGES}

CALLBACK_VERSION = "s1"  # a keyboard drawn by an older version sends other data: answered as stale
MAX_CALLBACK_BYTES = 64  # Telegram's limit for callback_data


class Preferences(NamedTuple):
    when: str = "every"
    night: str = "silent"
    format: str = "chart"

    def record(self) -> dict[str, Any]:
        return self._asdict()


DEFAULTS = Preferences()


def from_subscription(record: object) -> Preferences:
    """A chat's choices from its stored subscription; a missing or damaged value is the default."""
    stored = record.get("prefs") if isinstance(record, dict) else None
    if not isinstance(stored, dict):
        return DEFAULTS
    return Preferences(**{field: stored[field] if stored.get(field) in CHOICES[field] else getattr(DEFAULTS, field)
                          for field in FIELDS})


# -- the buttons' data -------------------------------------------------------------------------------
class Press(NamedTuple):
    """A valid button press: ``action`` is set (``field`` = ``value``), subscribe or close."""

    action: str
    field: str = ""
    value: str = ""


STALE = Press("stale")


def callback_data(action: str, field: str = "", value: str = "") -> str:
    data = ":".join(part for part in (CALLBACK_VERSION, action, field, value) if part)
    assert len(data.encode()) <= MAX_CALLBACK_BYTES
    return data


def parse_callback(data: object) -> Press | None:
    """What a button's data asks for; STALE for a well-formed press from another keyboard version, None for
    anything the bot never sent (forged or damaged data)."""
    if not isinstance(data, str) or not 0 < len(data.encode("utf-8", "replace")) <= MAX_CALLBACK_BYTES:
        return None
    version, _, rest = data.partition(":")
    if not (len(version) == 2 and version[0] == "s" and version[1].isdigit()) or not rest:
        return None
    if version != CALLBACK_VERSION:
        return STALE
    parts = rest.split(":")
    if parts in (["subscribe"], ["close"]):
        return Press(parts[0])
    if len(parts) == 3 and parts[0] == "set" and parts[2] in BUTTON_CHOICES.get(parts[1], ()):
        return Press("set", parts[1], parts[2])
    return None


# -- the decision for one chat ------------------------------------------------------------------------
class Comparison(NamedTuple):
    """The announcement's published figure and the previous period's, as its alert shows them."""

    current: int
    previous: int


def comparison(announcement: Announcement) -> Comparison | None:
    """The first figure the alert shows side by side with its previous period's published figure."""
    for figure in announcement.figures:
        previous = announcement.figure(figure.compared_with) if figure.compared_with else None
        if previous is not None:
            return Comparison(figure.value, previous.value)
    return None


def stored_comparison(value: object) -> Comparison | None:
    """A Comparison from its stored form ``[current, previous]`` (a broadcast's record), else None."""
    if (isinstance(value, list) and len(value) == 2
            and all(isinstance(v, int) and not isinstance(v, bool) for v in value)):
        return Comparison(value[0], value[1])
    return None


def condition_holds(when: str, figures: Comparison | None) -> bool:
    """Whether an announcement with these figures is worth an alert for a chat that chose ``when``.
    Without a published comparison every announcement is (the condition cannot be read off the alert)."""
    if when == "every" or figures is None:
        return True
    current, previous = figures
    if when == "rose":
        return current > previous
    if previous == 0:  # from nothing to something is more than any percentage
        return current > 0
    ratio = (current - previous) / previous
    if when == "change20":
        return abs(ratio) >= 0.2
    if when == "rise50":
        return ratio >= 0.5
    return True


class Plan(NamedTuple):
    """What one chat gets from one broadcast: ``outcome`` is send, hold or ``skipped:<condition>``."""

    outcome: str
    silent: bool = False
    chart: bool = True


def plan(prefs: Preferences, figures: list[Comparison | None], night: bool) -> Plan:
    """The decision for one chat. ``figures`` holds the announcement's comparison (for a correction, the
    original's too: a chat that got or would now get the alert gets its correction); ``night`` says the
    broadcast runs in the quiet hours."""
    if not any(condition_holds(prefs.when, f) for f in figures or [None]):
        return Plan(f"skipped:{prefs.when}")
    if night and prefs.night == "hold":
        return Plan("hold")
    return Plan("send", silent=night and prefs.night == "silent", chart=prefs.format == "chart")


def counts(records: Iterable[object]) -> dict[str, dict[str, int]]:
    """How many chats chose each option (``stats``), every option listed, defaults counted as chosen."""
    tally = {field: dict.fromkeys(values, 0) for field, values in CHOICES.items()}
    for record in records:
        for field, value in from_subscription(record)._asdict().items():
            tally[field][value] += 1
    return tally
