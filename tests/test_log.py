"""Every output path is redacted: log lines, tracebacks of any thread, URL-encoded secrets."""

from __future__ import annotations

import json
import re
import secrets
import subprocess
import sys
from urllib.parse import quote, quote_plus

import pytest

from coronabot import log
from coronabot_dev.harness import ROOT

TOKEN = f"{secrets.randbelow(9 * 10**9) + 10**9}:AA{secrets.token_urlsafe(30)}"  # made for this run only
KEY = "Ab+cd/ef==gh%ij kl"  # pragma: allowlist secret (made up, with every character URLs encode)


@pytest.fixture
def secrets_in_env(monkeypatch):
    monkeypatch.setenv("TELEGRAM_TOKEN", TOKEN)
    monkeypatch.setenv("DATA_PORTAL_SERVICE_KEY", KEY)


def lower_hex(encoded: str) -> str:
    return re.sub(r"%[0-9A-F]{2}", lambda m: m.group(0).lower(), encoded)


@pytest.mark.parametrize("form", [
    TOKEN, quote(TOKEN, safe=""), lower_hex(quote(TOKEN, safe="")), KEY, quote(KEY, safe=""), quote_plus(KEY),
    lower_hex(quote(KEY, safe="")), quote(KEY, safe="/:"),
])
def test_every_encoding_of_a_secret_is_redacted(secrets_in_env, form):
    line = log.redact(f"GET /x?serviceKey={form}&next=1 and /bot{form}/sendMessage")
    assert form not in line and "<redacted>" in line


def test_token_shapes_are_redacted_without_configuration(monkeypatch):
    monkeypatch.delenv("TELEGRAM_TOKEN", raising=False)
    line = log.redact(f"url /bot{TOKEN}/getMe and {quote(TOKEN, safe='')}")
    assert TOKEN.split(":")[1] not in line


def test_uncaught_exceptions_in_threads_and_the_main_thread_are_redacted_json_lines():
    code = (
        "import threading\n"
        "from coronabot import log\n"
        "log.setup()\n"
        "def fail():\n"
        f"    raise RuntimeError('echo https://api.telegram.org/bot{TOKEN}/sendMessage')\n"
        "t = threading.Thread(target=fail, name='sender-1'); t.start(); t.join()\n"
        f"raise ValueError('serviceKey={quote(KEY, safe='')}')\n"
    )
    env = {"PATH": "/usr/bin:/bin", "TELEGRAM_TOKEN": TOKEN, "DATA_PORTAL_SERVICE_KEY": KEY,
           "PYTHONPATH": str(ROOT / "lib")}
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    output = result.stdout + result.stderr
    assert result.returncode == 1
    for secret in (TOKEN, TOKEN.split(":")[1], KEY, quote(KEY, safe="")):
        assert secret not in output
    lines = [json.loads(line) for line in output.splitlines() if line.strip()]
    assert [line["severity"] for line in lines] == ["CRITICAL", "CRITICAL"], output
    assert "sender-1" in lines[0]["message"] and "RuntimeError" in lines[0]["exception"]
    assert "ValueError" in lines[1]["exception"] and "<redacted>" in lines[1]["exception"]
