"""The tables the docs show that are made from the code: the settings (README, docs/configuration.md) and the
database's records (docs/architecture.md). ``python -m coronabot_dev.docs`` writes them in place;
``--check`` only says which differ (tests/test_config.py runs the same comparison)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import NamedTuple

from coronabot import config
from coronabot.adapters.storage import layout

from . import settings as development
from .harness import ROOT


class Table(NamedTuple):
    document: str  # relative to the repository
    name: str  # the marker's name: <!-- NAME: python -m coronabot_dev.docs -->
    make: Callable[[], str]


TABLES = (
    Table("README.md", "essential settings",
          lambda: config.markdown_table([config.BY_NAME[name] for name in config.ESSENTIAL])),
    Table("docs/configuration.md", "settings", config.markdown_table),
    Table("docs/configuration.md", "development settings", lambda: config.markdown_table(development.VARIABLES)),
    Table("docs/architecture.md", "database records", layout.markdown_table),
)


def marker(table: Table) -> str:
    return f"<!-- {table.name}: python -m coronabot_dev.docs -->\n"


def shown(table: Table) -> str:
    """The table as the document shows it now (between its marker and the next blank line)."""
    text = (ROOT / table.document).read_text(encoding="utf-8")
    return text.split(marker(table), 1)[1].split("\n\n", 1)[0].rstrip("\n")


def write(table: Table) -> bool:
    """Put the table made from the code in its document; whether it changed."""
    path = ROOT / table.document
    text = path.read_text(encoding="utf-8")
    before, _, rest = text.partition(marker(table))
    old, blank, after = rest.partition("\n\n")
    new = table.make()
    path.write_text(before + marker(table) + new + ("\n" if not blank else "") + blank + after, encoding="utf-8")
    return old.rstrip("\n") != new


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m coronabot_dev.docs", description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only say which tables differ from the code")
    args = parser.parse_args(argv)
    stale = [t for t in TABLES if shown(t) != t.make()]
    for table in stale:
        print(f"{table.document}: {table.name} {'differs from the code' if args.check else 'written'}")
        if not args.check:
            write(table)
    return 1 if args.check and stale else 0


if __name__ == "__main__":
    sys.exit(main())
