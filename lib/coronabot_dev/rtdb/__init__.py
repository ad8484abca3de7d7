"""The embedded Firebase Realtime Database: a local server speaking Realtime Database's REST protocol.

``make run``, ``make serve`` and ``make demo`` start it (``python -m coronabot_dev.rtdb``), and the tests and
benchmarks run against it; firebase-admin and the bot's REST client talk to it exactly as to Google's
emulator, through ``FIREBASE_DATABASE_EMULATOR_HOST``; tests/dev/test_rtdb_emulator.py drives it through
firebase-admin's ``db`` module (docs/testing.md says what it serves). The modules follow its sections:
``values`` (normalising, server values, keys, ETags, order and queries), ``rules`` (what database.rules.json
uses), ``store`` (the data and its listeners) and ``server`` (HTTP). It is a development tool: never vendored
into a function, never deployed.
"""

from .server import main, make_server

__all__ = ["main", "make_server"]
