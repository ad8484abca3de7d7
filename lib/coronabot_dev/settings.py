"""The development tools' own settings: their ports and data folder, declared as the product's are
(:class:`coronabot.config.Variable`), so their ``--help`` and docs/configuration.md's second table
(``python -m coronabot_dev.docs``) come from here. None of them is read by a function or deployed."""

from __future__ import annotations

from coronabot.config import ConfigError, Variable, one_of, plain


def port(name: str, raw: str) -> str:
    """A TCP port on this machine, 1–65535."""
    if not raw.isdigit() or not 1 <= int(raw) <= 65535:
        raise ConfigError(f"{name} must be a port number from 1 to 65535; got {raw!r}")
    return raw


_ALL = ("run", "serve", "demo")
VARIABLES: tuple[Variable, ...] = (
    Variable("RUN_SCHEDULE_NOW", None, plain, "", "`1`: also run one tick at start", (), ("run",)),
    Variable("RTDB_PORT", None, port, "9000", "the embedded database's port", (), _ALL),
    Variable("LOCAL_DATA_DIR", None, plain, ".data", "the folder of the local data", (), _ALL),
    Variable("WEBHOOK_PORT", None, port, "8080", "`make serve`: the webhook's port", (), ("serve",)),
    Variable("SCRAPE_PORT", None, port, "8090", "`make serve`: the scrape's port", (), ("serve",)),
    Variable("FANOUT", None, one_of("off", "on"), "off",
             "`make serve`: `on` also serves deliver and the Cloud Tasks emulator", (), ("serve",)),
    Variable("DELIVER_PORT", None, port, "8091", "`FANOUT=on make serve`: the deliver function's port", (),
             ("serve",)),
    Variable("TASKS_PORT", None, port, "8123", "`FANOUT=on make serve`: the Cloud Tasks emulator's port", (),
             ("serve",)),
    Variable("TASKS_STATUS_PORT", None, port, "8124", "`FANOUT=on make serve`: the emulator's status port", (),
             ("serve",)),
    Variable("DEMO_TELEGRAM_PORT", None, port, "8481", "`make demo`: the fake Bot API's port", (), ("demo",)),
    Variable("DEMO_SOURCES_PORT", None, port, "8482", "`make demo`: the source stand-in's port", (), ("demo",)),
    # The fakes' own knobs, read when they start on their own (`make emulator`, `python -m coronabot_dev.X`).
    Variable("RTDB_DATA_FILE", None, plain, "", "`make emulator`: the JSON file the embedded database keeps its "
             "data in (unset: memory only)", (), ("emulator",)),
    Variable("RTDB_KEEPALIVE_SECONDS", None, plain, "30", "seconds between the embedded database's `keep-alive` "
             "events to a listener", (), ("emulator",)),
    Variable("RTDB_EMULATOR_VERBOSE", None, plain, "", "`1`: the embedded database logs every request", (),
             ("emulator",)),
    Variable("FAKE_TELEGRAM_PORT", None, port, "8081", "the fake Bot API's port when started alone", (),
             ("fakes",)),
)
BY_NAME = {v.name: v for v in VARIABLES}


def reading(*readers: str) -> list[Variable]:
    """The development variables any of ``readers`` reads, in declaration order."""
    return [v for v in VARIABLES if set(v.readers) & set(readers)]
