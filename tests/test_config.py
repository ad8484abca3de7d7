"""The one declaration of every setting (config.VARIABLES) against everything made from it: Settings, the
commands' --help, the deploy's env lists and the README's configuration table; a drift fails here."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import types
import typing

import pytest

from coronabot import config
from coronabot_dev.harness import ROOT


def test_every_setting_is_read_by_the_product():
    """A field of Settings that no code reads is a setting that does nothing: each is read somewhere in the
    product or the local tools (LOG_LEVEL is checked by config.load and applied by log.setup, which runs before
    any configuration is loaded, from the environment)."""
    code = "\n".join(path.read_text(encoding="utf-8") for folder in ("coronabot", "coronabot_dev")
                     for path in (ROOT / "lib" / folder).rglob("*.py") if path.name != "config.py")
    unread = [v.name for v in config.VARIABLES if v.field and not re.search(rf"\.{v.field}\b", code)]
    assert unread == ["LOG_LEVEL"], unread
    assert 'os.environ.get("LOG_LEVEL"' in (ROOT / "lib" / "coronabot" / "log.py").read_text()
    assert config.load({}) == config.Settings(), "an empty environment is every default"


def test_settings_has_one_typed_field_per_declared_variable_with_its_default():
    """Settings is written out for the type checker; here it is held to the declarations, field by field."""
    declared = [(v.field, v.default) for v in config.VARIABLES if v.field]
    assert [(name, config.Settings._field_defaults[name]) for name in config.Settings._fields] == declared
    hints = typing.get_type_hints(config.Settings)
    assert all(_accepts(hints[name], default) for name, default in declared)


def _accepts(hint: object, value: object) -> bool:
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        return any(_accepts(arg, value) for arg in typing.get_args(hint))
    return isinstance(value, origin or hint)  # type: ignore[arg-type]


def _read_in(folder: str) -> set[str]:
    read = set()
    for path in (ROOT / "lib" / folder).rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        read |= set(re.findall(r'environ(?:\.get\(|\[)"([A-Z][A-Z0-9_]+)"', text))
        read |= set(re.findall(r'BY_NAME\["([A-Z][A-Z0-9_]+)"\]', text))
        read |= set(re.findall(r'verbose_env = "([A-Z][A-Z0-9_]+)"', text))
    return read


def test_every_variable_the_product_reads_is_declared():
    """A name read from the environment anywhere in the product is one of VARIABLES (or what a library reads),
    and none of the development tools' settings."""
    from coronabot_dev import settings as development

    read = _read_in("coronabot") - {"MPLCONFIGDIR"}  # matplotlib's cache folder, set by chart.py
    assert read and read <= set(config.BY_NAME), read - set(config.BY_NAME)
    assert not set(config.BY_NAME) & set(development.BY_NAME), "a setting is the product's or a tool's, not both"


def test_every_variable_the_development_tools_read_is_declared():
    from coronabot_dev import settings as development

    read = _read_in("coronabot_dev")
    assert read and read <= set(config.BY_NAME) | set(development.BY_NAME), \
        read - set(config.BY_NAME) - set(development.BY_NAME)


@pytest.mark.parametrize("raw, error", [
    ({"SOURCE": "KDCA!"}, "SOURCE must be a source's name"),
    ({"BACKFILL_WEEKS": "521"}, "BACKFILL_WEEKS must be from 0"),
    ({"LEDGER_BATCH": "1.5"}, "LEDGER_BATCH must be a whole number"), ({"POLLING": "sometimes"}, "POLLING must be"),
    ({"QUIET_HOURS": "8-8"}, "QUIET_HOURS must be START-END"), ({"BROADCAST_QUEUE": "q"}, "BROADCAST_QUEUE must be"),
])
def test_every_setting_is_checked_once_where_it_is_read(raw, error):
    with pytest.raises(config.ConfigError, match=re.escape(error)):
        config.load(raw)


def test_the_tables_the_docs_show_are_made_from_the_code():
    """The README's essentials, docs/configuration.md's two tables and docs/architecture.md's records, each as
    ``python -m coronabot_dev.docs`` makes it from its one declaration."""
    from coronabot_dev import docs

    assert len(docs.TABLES) == 4
    for table in docs.TABLES:
        assert docs.shown(table) == table.make(), f"{table.document}: {table.name} (python -m coronabot_dev.docs)"
    assert docs.shown(docs.TABLES[0]).count("\n| `") == len(config.ESSENTIAL) == 10


@pytest.mark.parametrize("function", config.FUNCTIONS)
def test_each_function_is_deployed_with_the_variables_declared_for_it(function):
    env = dict(os.environ, DRY_RUN="1", PROJECT_ID="coronabot-test", ADMIN_CHAT_IDS="1700000001",
               TELEGRAM_BOT_USERNAME="CoronaAlertTestBot", LOG_LEVEL="DEBUG", K_SERVICE="not-deployed",
               TELEGRAM_API_BASE="http://127.0.0.1:1")
    subprocess.run(["make", "--no-print-directory", "vendor"], cwd=ROOT, check=True, capture_output=True)
    printed = subprocess.run(["bash", "deploy/functions.sh"], cwd=ROOT, env=env, capture_output=True, text=True,
                             check=True).stdout
    deploy = next(line for line in printed.splitlines() if f"functions deploy {function} " in line)
    env_vars = re.search(r"--set-env-vars=\^\|\^([^'\"]*)['\"]", deploy).group(1)
    names = {pair.split("=", 1)[0] for pair in env_vars.split("|")}
    expected = {v.name for v in config.VARIABLES if function in v.functions and v.deployed and not v.secret}
    assert names == expected
    assert not any(v.secret and v.name in env_vars for v in config.VARIABLES), "secrets go through --set-secrets"


def test_each_commands_help_lists_what_it_reads():
    from coronabot_dev import settings as development

    for tool, command, readers in (("coronabot", "scrape-once", ("tick",)), ("coronabot", "stats", ("database",)),
                                   ("coronabot_dev", "serve", ("serve",)), ("coronabot_dev", "demo", ("demo",))):
        shown = subprocess.run([sys.executable, "-m", tool, command, "--help"], cwd=ROOT, capture_output=True,
                               text=True, check=True).stdout
        wanted = [*config.reading(*readers), *(development.reading(*readers) if tool == "coronabot_dev" else ())]
        assert wanted and all(v.name in shown for v in wanted), command


def test_a_source_the_registry_does_not_have_is_refused_by_every_command_alike():
    for command in ("stats", "scrape-once", "backfill"):
        env = dict(os.environ, SOURCE="kdca", FIREBASE_DATABASE_EMULATOR_HOST="127.0.0.1:1")
        result = subprocess.run([sys.executable, "-m", "coronabot", command], cwd=ROOT, capture_output=True,
                                text=True, env=env)
        assert result.returncode == 2, (command, result.stderr)
        assert result.stderr.strip() == "error: SOURCE='kdca' is not one of kdca-sentinel, mohw-daily, data-portal"
