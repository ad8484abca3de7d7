"""The secret scan in `make test` (detect-secrets over the tracked files) fails on a committed key."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from coronabot_dev.harness import ROOT

HOOK = Path(sys.executable).with_name("detect-secrets-hook")


def scan(path: Path) -> int:
    return subprocess.run([str(HOOK), str(path)], cwd=ROOT, capture_output=True, text=True).returncode


FAKE_TOKEN = "5544332211:" + "AA" + "Fq3kLmNoPqRsTuVwXyZ0123456789abcd"  # pragma: allowlist secret
FAKE_KEY = "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC"  # pragma: allowlist secret


@pytest.mark.parametrize("content", [
    f"TELEGRAM_TOKEN = '{FAKE_TOKEN}'\n",
    "-----BEGIN " + f"PRIVATE KEY-----\n{FAKE_KEY}\n-----END " + "PRIVATE KEY-----\n",
])
def test_a_committed_key_fails_the_scan(tmp_path, content):
    leaked = tmp_path / "settings.py"
    leaked.write_text(content)
    assert scan(leaked) != 0


# The scan's one exclusion (the Makefile's secret-scan): a database snapshot made of hex digests and ids.
SNAPSHOT = "tests/fixtures/database-before-inpatients.json"


def test_the_tracked_files_pass_the_scan():
    files = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    result = subprocess.run([str(HOOK), *[f for f in files if f != SNAPSHOT]], cwd=ROOT, capture_output=True,
                            text=True)
    assert result.returncode == 0, result.stdout


def test_the_file_the_scan_leaves_out_holds_no_token_or_key():
    text = (ROOT / SNAPSHOT).read_text(encoding="utf-8")
    assert not re.search(r"\d{8,10}:[A-Za-z0-9_-]{30,}", text), "a Telegram token"
    assert "PRIVATE KEY" not in text and "private_key" not in text and "TELEGRAM_TOKEN" not in text
