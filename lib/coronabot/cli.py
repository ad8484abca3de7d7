"""The operator's command line: ``python -m coronabot COMMAND``.

Every command reads the same environment as the functions (see the README).
Results go to stdout; JSON log lines go to stderr. A user mistake (missing
configuration, an unreachable service, a refused token) is one clear line and
a non-zero exit code, never a traceback. The Telegram commands need only
telepot (the deployment's registration step installs nothing else); the
database client is imported by the commands that use it.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from coronabot import config, log, sources, texts
from coronabot.adapters.telegram import Telegram, TelegramError
from coronabot.errors import DatabaseError
from coronabot.model import preferences, publication

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def _telegram(settings: config.Settings) -> Telegram:
    return Telegram(settings.require_token(), settings.api_base)


def _print(value: object) -> None:
    print(json.dumps(value, ensure_ascii=False, indent=2))


def set_webhook(settings: config.Settings, args: argparse.Namespace) -> int:
    """Register the webhook URL with the secret token and the update kinds the bot handles."""
    from coronabot.chat.updates import ALLOWED_UPDATES

    if not settings.webhook_secret:
        raise config.ConfigError("TELEGRAM_WEBHOOK_SECRET is not set: generate one with "
                                 "`python -c 'import secrets; print(secrets.token_urlsafe(32))'`")
    if not args.url.startswith("https://") and not args.allow_http:
        raise config.ConfigError(f"the webhook URL must be https:// (got {args.url!r})")
    _telegram(settings).set_webhook(args.url, settings.webhook_secret, ALLOWED_UPDATES,
                                    drop_pending_updates=args.drop_pending_updates)
    print(f"webhook set: {args.url} (updates: {', '.join(ALLOWED_UPDATES)})")
    return EXIT_OK


def webhook_info(settings: config.Settings, args: argparse.Namespace) -> int:
    """Print Telegram's view of the webhook: URL, pending updates, last error."""
    _print(_telegram(settings).get_webhook_info())
    return EXIT_OK


def delete_webhook(settings: config.Settings, args: argparse.Namespace) -> int:
    _telegram(settings).delete_webhook(drop_pending_updates=args.drop_pending_updates)
    print("webhook deleted")
    return EXIT_OK


# Where each language's menu and descriptions go: English for every user by default, Korean for users whose
# Telegram is set to Korean (the Bot API picks by the user's language_code).
MENU_LANGUAGES = (("en", None), ("ko", "ko"))


def set_commands(settings: config.Settings, args: argparse.Namespace) -> int:
    """Publish the command menu and the bot's descriptions, in English by default and in Korean for Korean
    users, and warn when inline mode is off (only @BotFather's /setinline turns it on)."""
    telegram = _telegram(settings)
    for lang, language_code in MENU_LANGUAGES:
        words = texts.of(lang)
        scope = {"language_code": language_code} if language_code else {}
        commands = [{"command": c, "description": d} for c, d in words.BOT_COMMANDS]
        telegram.call("setMyCommands", commands=commands, **scope)
        telegram.call("setMyDescription", description=words.BOT_DESCRIPTION, **scope)
        telegram.call("setMyShortDescription", short_description=words.BOT_SHORT_DESCRIPTION, **scope)
        print(f"commands and descriptions set ({language_code or 'default'}, {lang}): "
              + ", ".join("/" + c["command"] for c in commands))
    if not telegram.get_me().get("supports_inline_queries"):
        print("warning: inline mode is off, so @-mentions of the bot in other chats offer nothing. Turn it on in "
              "@BotFather: /setinline, choose the bot, and give a placeholder such as \"figures / 수치\".",
              file=sys.stderr)
    return EXIT_OK


def scrape_once(settings: config.Settings, args: argparse.Namespace) -> int:
    """Run one scrape tick here and print its summary."""
    from coronabot.tick.ticker import Ticker

    summary = Ticker(settings).tick(force=True).as_dict()
    _print(summary)
    return EXIT_FAILED if summary["status"] == "error" else EXIT_OK


def backfill(settings: config.Settings, args: argparse.Namespace) -> int:
    """Fetch the past weeks in one request and store them in history, without alerting anyone."""
    from coronabot.sources import SourceError
    from coronabot.tick.ticker import Ticker

    try:
        periods = Ticker(settings).backfill(args.weeks)
    except SourceError as exc:
        print(f"source error ({exc.kind}): {exc}", file=sys.stderr)
        return EXIT_FAILED
    print(f"history: {periods} periods of {settings.source} stored (asked for {args.weeks} weeks); nobody alerted")
    return EXIT_OK


def send_test(settings: config.Settings, args: argparse.Namespace) -> int:
    """Send a test message to one chat."""
    sent = _telegram(settings).send_message(args.chat_id, texts.operator.test_message(datetime.now(UTC)))
    print(f"sent message {sent.message_id} to chat {sent.chat_id}")
    return EXIT_OK


def stats(settings: config.Settings, args: argparse.Namespace) -> int:
    """Subscribers, the last announcement, the last tick's outcome."""
    from coronabot.adapters.storage import Database, child_items, child_keys, key_span, layout
    from coronabot.alerts import fanout

    database = Database(settings)
    state = database.state()
    pages = list(database.pages(layout.SUBSCRIBERS))
    subscribers = [record for page in pages for record in page.values()]
    chosen = {chat: lang for page in pages if page for chat, lang in database.languages(*key_span(page)).items()
              if chat in page}
    latest = state["latest"] if isinstance(state.get("latest"), dict) else {}
    seen = state["seen"] if isinstance(state.get("seen"), dict) else {}
    model = publication.stored_model(seen.get(settings.source), sources.get(settings.source).cadence)
    _print({
        "subscribers": len(subscribers),
        "choices": preferences.counts(subscribers),
        "languages": {lang: sum(1 for page in pages for chat in page if chosen.get(chat, "ko") == lang)
                      for lang in texts.BY_LANGUAGE},
        "held_for_the_morning": len(child_items(database.ref(layout.HELD).get(shallow=True))),
        "last_announcement": _last_announcement(latest) if latest else None,
        "not_published_yet": latest.get("pending"),  # a later period the source lists while it counts it
        "last_tick": state.get("last_tick"),
        "broadcast_in_progress": fanout.progress(database, str(state["broadcast"].get("key")))
        if isinstance(state.get("broadcast"), dict) else None,
        "source_health": state.get("health") or "ok",
        "next_announcement_expected": texts.ko.window_text(model.upcoming(datetime.now(UTC))) if model else
        "unknown until the bot has seen three announcements (polling on the fixed schedule meanwhile)",
        "late_notice": state.get("late_notice"),
        "history_periods": len(child_keys(database.ref(layout.history(settings.source)).get(shallow=True))),
        "backfill": (state.get("backfill") or {}).get(settings.source) if isinstance(state.get("backfill"), dict)
        else None,
        "chart": database.chart(settings.source),
    })
    return EXIT_OK


def _last_announcement(record: dict[str, Any]) -> dict[str, Any]:
    """A stored announcement as the alert names it: its period and figures ('코로나19 입원환자: 248명')."""
    shown = {key: record.get(key) for key in ("source", "id", "recorded_at")}
    try:
        announcement = sources.restore(record)
    except ValueError:
        return dict(shown, period=None, figures=["(damaged record)"])
    return dict(shown, period=announcement.period,
                figures=[f"{f.label}: {texts.number(f.value)}{f.unit}" for f in announcement.figures])


COMMANDS: dict[str, tuple[Callable[[config.Settings, argparse.Namespace], int], str]] = {
    "set-webhook": (set_webhook, "register the webhook URL with Telegram"),
    "webhook-info": (webhook_info, "show Telegram's webhook status"),
    "delete-webhook": (delete_webhook, "remove the webhook"),
    "set-commands": (set_commands, "publish the command menu and descriptions (English and Korean); check inline mode"),
    "scrape-once": (scrape_once, "run one scrape tick and print the summary"),
    "backfill": (backfill, "store the past weeks of figures in history without alerting (default 52)"),
    "send-test": (send_test, "send a test message to a chat"),
    "stats": (stats, "subscribers, last announcement, last tick, next expected announcement"),
}

# What each command reads, by the readers of config.VARIABLES (its --help lists those variables).
READERS: dict[str, tuple[str, ...]] = {
    "set-webhook": ("telegram", "secret"),
    "webhook-info": ("telegram",),
    "delete-webhook": ("telegram",),
    "set-commands": ("telegram",),
    "scrape-once": ("telegram", "database", "source", "tick"),
    "backfill": ("database", "source"),
    "send-test": ("telegram",),
    "stats": ("database", "source"),
}


def add_command(commands: argparse._SubParsersAction[argparse.ArgumentParser], name: str, help_text: str,
                variables: list[config.Variable]) -> argparse.ArgumentParser:
    """A command of a command line (the operator's or the development one), its ``--help`` ending with the
    variables it reads."""
    return commands.add_parser(name, help=help_text, description=help_text,
                               epilog=f"environment:\n{environment_help(variables)}",
                               formatter_class=argparse.RawDescriptionHelpFormatter)


def environment_help(variables: list[config.Variable]) -> str:
    """A command's ``--help`` epilog: the variables it reads, each with what it means."""
    lines = []
    for v in variables:
        notes = ["secret"] if v.secret else []
        if v.shown_default.startswith("required"):
            notes.append(v.shown_default)
        said = f" ({', '.join(notes)})" if notes else ""
        lines.append(f"  {v.name}{said}: {v.help}".replace("`", ""))
    return "\n".join(lines)


def parser() -> argparse.ArgumentParser:
    main = argparse.ArgumentParser(prog="python -m coronabot", description="coronabot operator tools")
    commands = main.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (_, help_text) in COMMANDS.items():
        sub = add_command(commands, name, help_text, config.reading(*READERS[name]))
        if name == "set-webhook":
            sub.add_argument("url", help="the webhook function's https URL")
            sub.add_argument("--allow-http", action="store_true", help="accept http:// (local tests only)")
        if name in ("set-webhook", "delete-webhook"):
            sub.add_argument("--drop-pending-updates", action="store_true")
        if name == "backfill":
            sub.add_argument("--weeks", type=_weeks, default=52, help="how many weeks back (1–520, default 52)")
        if name == "send-test":
            sub.add_argument("chat_id", type=int, help="numeric chat id, for example 1544010213")
    return main


def _weeks(raw: str) -> int:
    if not raw.isdigit() or not 1 <= int(raw) <= config.MAX_BACKFILL_WEEKS:
        raise argparse.ArgumentTypeError(f"a whole number of weeks from 1 to {config.MAX_BACKFILL_WEEKS}")
    return int(raw)


def _with_a_database(settings: config.Settings) -> config.Settings:
    """The settings of a command that reads the database: the configured one, else the local one a development
    tool started (``make run``, ``make serve``), found through the development package's entry point
    (``coronabot.development``: absent where only the product is installed), else one line saying there is none."""
    if settings.database_url or settings.emulator_host:
        return settings
    host, where = _local_database()
    if not host:
        raise config.ConfigError(f"FIREBASE_DATABASE_URL is not set{where}: "
                                 f"{'start one, or ' if where else ''}set FIREBASE_DATABASE_URL (https://PROJECT-default-rtdb.REGION."
                                 "firebasedatabase.app, or https://PROJECT-default-rtdb.firebaseio.com for a "
                                 "database in the United States; the Firebase console shows yours)")
    os.environ["FIREBASE_DATABASE_EMULATOR_HOST"] = host  # firebase-admin reads it from here
    return settings._replace(emulator_host=host)


def _local_database() -> tuple[str, str]:
    """The local database a development tool runs (its host, or ""), and where it was looked for."""
    from importlib.metadata import entry_points

    for point in entry_points(group="coronabot.development", name="local_database"):
        host, where = point.load()()
        return str(host), str(where)
    return "", ""


DEVELOPMENT_COMMANDS = ("run", "serve", "demo", "demo-say")  # python -m coronabot_dev, with the make targets


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the process exit code."""
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] and argv[0] in DEVELOPMENT_COMMANDS:
        print(f"error: {argv[0]} is a development command: `python -m coronabot_dev {argv[0]}` (or `make "
              f"{argv[0].split('-')[0]}`)", file=sys.stderr)
        return EXIT_USAGE
    args = parser().parse_args(argv)
    return execute(COMMANDS[args.command][0], args, READERS[args.command])


def execute(handler: Callable[[config.Settings, argparse.Namespace], int], args: argparse.Namespace,
            readers: tuple[str, ...]) -> int:
    """Run one command with the checked settings; a user's mistake is one line on stderr and an exit code, an
    unexpected failure one logged traceback (shared by ``python -m coronabot_dev``)."""
    log.setup(sys.stderr)
    logging.getLogger("urllib3").setLevel(logging.ERROR)  # a retried connection is the one error line below
    settings = config.Settings()
    try:
        settings = config.load()
        sources.get(settings.source)  # the one check of SOURCE's name, the same for every command
        if "database" in readers:
            settings = _with_a_database(settings)
        return handler(settings, args)
    except config.ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except TelegramError as exc:
        if exc.code == 0 and not exc.malformed:
            print(f"Telegram error: Telegram cannot be reached at {settings.api_base} (no network here?); "
                  "`make demo` runs the bot without one", file=sys.stderr)
            return EXIT_FAILED
        hint = " (is TELEGRAM_TOKEN right?)" if exc.code in (401, 404) else ""
        print(f"Telegram error: {exc}{hint}", file=sys.stderr)
        return EXIT_FAILED
    except DatabaseError as exc:
        print(f"database error: {log.redact(str(exc))}", file=sys.stderr)
        return EXIT_FAILED
    except Exception as exc:
        log.get("coronabot.cli").exception("%s failed unexpectedly", args.command)
        print(f"error: {args.command} failed unexpectedly: {log.redact(f'{type(exc).__name__}: {exc}')}",
              file=sys.stderr)
        return EXIT_FAILED
