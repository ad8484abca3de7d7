"""The development command line, ``python -m coronabot_dev COMMAND``: the whole bot on this machine (``make run``,
``make serve``), the offline demo (``make demo``) and a message to it. Commands run as the operator's do
(:func:`coronabot.cli.execute`): one line for a user's mistake, an exit code."""

from __future__ import annotations

import argparse
from collections.abc import Callable

from coronabot import config
from coronabot.cli import add_command, execute

from . import settings as development


def run(settings: config.Settings, args: argparse.Namespace) -> int:
    """The whole bot on this machine: local database, long polling and the schedule."""
    from .local import run_local

    return run_local(settings, run_schedule_now=args.now)


def serve(settings: config.Settings, args: argparse.Namespace) -> int:
    """The functions under functions-framework against the local database (FANOUT=on: with deliver and the
    Cloud Tasks emulator)."""
    from .local import serve_functions

    return serve_functions(settings)


def demo(settings: config.Settings, args: argparse.Namespace) -> int:
    """The whole bot offline, against the fake Bot API and the source stand-in."""
    from .demo import run_demo

    return run_demo()


def demo_say(settings: config.Settings, args: argparse.Namespace) -> int:
    """One message to the running demo; prints the bot's answer."""
    from .demo import demo_say as say

    return say(args.text, group=args.group)


# name: (handler, help, the readers of the variables it reads)
COMMANDS: dict[str, tuple[Callable[[config.Settings, argparse.Namespace], int], str, tuple[str, ...]]] = {
    "run": (run, "run the whole bot locally (make run)", ("run",)),
    "serve": (serve, "serve the functions locally (make serve)", ("serve",)),
    "demo": (demo, "the whole bot offline with a scripted conversation, no token needed (make demo)", ("demo",)),
    "demo-say": (demo_say, "send a message to the running demo and print the answer", ("demo",)),
}


def parser() -> argparse.ArgumentParser:
    main = argparse.ArgumentParser(prog="python -m coronabot_dev", description="coronabot development tools")
    commands = main.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (_, help_text, readers) in COMMANDS.items():
        sub = add_command(commands, name, help_text, [*config.reading(*readers), *development.reading(*readers)])
        if name == "demo-say":
            sub.add_argument("text", help='what to say, for example "/now" or "알림 등록"')
            sub.add_argument("--group", action="store_true", help="say it in the demo's group, as its admin")
        if name == "run":
            sub.add_argument("--now", action="store_true", default=None,
                             help="also run one scrape tick at start (or RUN_SCHEDULE_NOW=1)")
    return main


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the process exit code."""
    args = parser().parse_args(argv)
    handler, _, readers = COMMANDS[args.command]
    return execute(handler, args, readers)
