"""Where each record lives in the Realtime Database: the one place that spells a path, and the one place that
says what each record holds and how long it lives (``RECORDS``).

Every other module asks here (``layout.broadcast(key, "done")``) instead of writing ``"broadcasts/..."``, so
the layout can be read, and changed, in one file. docs/architecture.md ("Realtime Database layout") shows
``RECORDS`` as a table, written there by ``python -m coronabot_dev.docs``.
"""

from __future__ import annotations

from typing import NamedTuple

SUBSCRIBERS = "subscribers"
HELD = "held"
STATE = "state"
BROADCASTS = "broadcasts"
LANGUAGES = "languages"
POLLING_OFFSET = "polling/offset"


def _join(*parts: object) -> str:
    return "/".join(str(part) for part in parts if part is not None and part != "")


def subscriber(chat_id: object, *fields: str) -> str:
    """``subscribers/{chat_id}``."""
    return _join(SUBSCRIBERS, chat_id, *fields)


def state(section: str, *rest: object) -> str:
    """``state/{section}``."""
    return _join(STATE, section, *rest)


def history(source: str, period: str | None = None, *fields: str) -> str:
    """``history/{source}/{period id}``."""
    return _join("history", source, period, *fields)


def broadcast(key: str, *fields: str) -> str:
    """``broadcasts/{key}``."""
    return _join(BROADCASTS, key, *fields)


def deliveries(key: str, chat_id: object = None) -> str:
    """``deliveries/{key}/{chat_id}``."""
    return _join("deliveries", key, chat_id)


def held(chat_id: object = None, key: str | None = None) -> str:
    """``held/{chat_id}/{broadcast key}``."""
    return _join(HELD, chat_id, key)


def chart(source: str, lang: str = "ko") -> str:
    """``charts/{source}`` and ``charts_{lang}/{source}``."""
    return _join("charts" if lang == "ko" else f"charts_{lang}", source)


def pending() -> str:
    """``state/latest/pending``."""
    return state("latest", "pending")


def shared_chart(lang: str) -> str:
    """``state/latest/charts/{lang}``."""
    return state("latest", "charts", lang)


def language(chat_id: object = None) -> str:
    """``languages/{chat_id}``."""
    return _join(LANGUAGES, chat_id)


def fanout(key: str, *parts: object) -> str:
    """``fanout/{key}/...``."""
    return _join("fanout", key, *parts)


def unsubscribed(chat_id: object, *fields: str) -> str:
    """``unsubscribed/{chat_id}``."""
    return _join("unsubscribed", chat_id, *fields)


def handled_update(update_id: int) -> str:
    """``handled_updates/{update_id}``."""
    return _join("handled_updates", update_id)


class Record(NamedTuple):
    """One record of the layout: where it lives, what it holds, how long it is kept."""

    path: str
    content: str
    lifetime: str


RECORDS = (
    Record("`/subscribers/{chat_id}`",
           "`{since (KST ISO), chat_type, update_id, prefs: {when, night, format}}` (`prefs` once a choice was "
           'made; a missing or unknown value is the default); chat ids are string keys such as `"1544010213"`, '
           '`"-1001234567890"`',
           "until unsubscribed, blocked or gone"),
    Record("`/languages/{chat_id}`",
           '`"ko"` or `"en"`: the language the chat chose or subscribed in; every subscriber has one (those of '
           "before languages were given `\"ko\"` by the migration below); none: the chat's default, see "
           "`language.py`",
           "kept"),
    Record("`/state/migrations/{name}`",
           "a layout migration's progress: `{after: the last subscriber key done}` while it runs, `{done_at}` "
           'once done (`languages`: see "Every answer in one round trip")',
           "kept"),
    Record("`/state/latest`",
           "the newest recorded announcement, as in history (what `/now` shows), with `charts/{lang}` once that "
           "announcement's "
           "chart is uploaded in that language (what inline mode offers, in the same read), and `pending: {id, "
           "counting}` while the source lists a later period it has not published (what `/now` and `/about` say "
           "is being counted)",
           "replaced by the next"),
    Record("`/state/broadcast`",
           "pointer to a broadcast not finished yet",
           "until it finishes"),
    Record("`/state/health`",
           "the source's failure streak and whether admins were told",
           "cleared on recovery"),
    Record("`/state/source_cache/{source}`",
           "session cookies as a list of `{name, value}` (a cookie name from the network is never a key) / HTTP "
           "validators for the next fetch",
           "replaced"),
    Record("`/state/last_tick`, `/state/pruned_at`",
           "the last fetching tick's summary; when old data was last pruned",
           "replaced"),
    Record("`/state/last_fetch_at`",
           "when a tick last fetched the source (KST)",
           "replaced"),
    Record("`/state/seen/{source}`",
           "when the bot first saw each of the 12 newest announcements (KST), what the publication model learns "
           "from",
           "replaced"),
    Record("`/state/late_notice/{source}`",
           "the expected window the admins were told is late (`window_start`, `window_end`, `notified_at`) and, "
           "once it came, `arrived_at`",
           "replaced by the next late window"),
    Record("`/history/{source}/{announcement_id}`",
           "every recorded announcement, and every earlier period the source showed, as values: `{source, id, "
           "order, figures: {key: value}, url, digest, first_seen, recorded_at}` (the words, period and labels are "
           "the source's, given when it is read, `sources.restore`; a record of an earlier version also holds the "
           "words of its time, not read, and dropped when it is rewritten); the backfill and revisions write it "
           "field by field with `synced_at`, so an alerted period keeps its `first_seen`; ids sort in time, so "
           '`/history` is one `orderBy="$key"&limitToLast=13` query',
           "kept (one a week)"),
    Record("`/charts/{source}`, `/charts_en/{source}`",
           "the newest chart drawn in Korean, in English: `{file_id, announcement, order (of the last period "
           "it shows), uploaded_at, wording}` (what `/chart` sends in the chat's language; a chart of older words "
           "is never shown)",
           "replaced by the next"),
    Record("`/state/backfill/{source}`",
           "`{at, weeks, periods}` once the past weeks were stored, or `{failed_at, error}`",
           "kept"),
    Record("`/state/history_digest/{source}`",
           "a fingerprint of the earlier periods the last answer showed: an unchanged answer writes nothing to "
           "history",
           "replaced"),
    Record("`/broadcasts/{key}`",
           "`{lease: {owner, expires}, kind, announcement, order, compare ([figure, previous figure] the"
           " conditions are decided on; `compare_before` for a correction), text and text_en (the message in "
           "each language), wording, photo and photo_en (each language's chart file_id once uploaded) with "
           "photo_wording(_en), attempts, done, finished_at}`; the morning delivery of held alerts is `held_{KST"
           " date}`",
           "30 days after it finished"),
    Record("`/fanout/{key}`",
           "a broadcast fanned out on Cloud Tasks: `chunks/{i}` `{after, until, generation, queued_at}` "
           "(subscriber keys after `after` up to `until`; the last chunk is open-ended), `planned` (how many, "
           "once every subscriber is in one), `leases/{i}` (`{lease: {owner, expires}, attempts}` of the "
           "invocation sending it), `done/{i}`, `finished` (set once)",
           "with its broadcast"),
    Record("`/deliveries/{key}/{chat_id}`",
           "the ledger: `sent`, `removed`, `failed:<code>`, `skipped:<condition>` (the chat's condition did not "
           "hold; `skipped:unsubscribed` in the morning) or `held`",
           "with its broadcast"),
    Record("`/held/{chat_id}/{broadcast_key}`",
           "an alert held for the morning: `{announcement, order, kind, at}`; `/state/held` is `true` "
           "while any waits",
           "until its morning delivery settles the chat"),
    Record("`/handled_updates/{update_id}`",
           "`{at}`: an update answered through `sendMessage` (multi-part replies only)",
           "2 days"),
    Record("`/unsubscribed/{chat_id}`",
           "`{update_id, at}`: the `/unsubscribe` that removed the chat, so its redelivery gets the same answer",
           "2 days"),
    Record("`/polling/offset`",
           "`getUpdates` offset of `make run`",
           "replaced"),
)


def markdown_table() -> str:
    """docs/architecture.md's table of the records."""
    rows = ["| path | content | lifetime |", "|---|---|---|"]
    rows += [f"| {r.path} | {r.content} | {r.lifetime} |" for r in RECORDS]
    return "\n".join(rows)
