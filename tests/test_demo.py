"""`make demo` as a person runs it: no token, no network, a scripted conversation, then demo-say."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

from coronabot_dev.harness import ROOT, free_port
from support import all_ended, descendants, wait_until


def test_the_demo_plays_the_script_answers_demo_say_and_stops_cleanly(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "FIREBASE_", "SOURCE"))}
    env.update({"LOCAL_DATA_DIR": str(tmp_path), "DEMO_TELEGRAM_PORT": str(free_port()),
                "DEMO_SOURCES_PORT": str(free_port()), "RTDB_PORT": str(free_port()), "MAKEFLAGS": "",
                "PYTHONUNBUFFERED": "1"})
    log = tmp_path / "demo-out.txt"
    with open(log, "wb") as out:
        demo = subprocess.Popen(["make", "--no-print-directory", "demo"], cwd=ROOT, env=env, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)
        try:
            wait_until(lambda: "Ctrl-C stops the demo." in log.read_text(), 120, "the scripted conversation")
            shown = log.read_text()
            assert "no token, no network" in shown and "fake Telegram Bot API" in shown
            assert "[1:1] 지민: /subscribe" in shown and "알림을 등록했습니다" in shown
            assert "[우리 동네] 민수: /subscribe@CoronaDemoBot" in shown
            assert "2026년 39주 (9월 20일~26일)" in shown and "코로나19 입원환자: 248명" in shown
            assert "KDCA is still counting 2026-W40." in shown
            assert "2026년 40주 (9월 27일~10월 3일)는 질병관리청이 집계 중입니다." in shown, "the real 집계 중 row"
            assert "scrape tick: alerted 2026-W40, sent 3" in shown
            assert shown.count("(broadcast)") == 3 and "<b>" not in shown, "as a person reads it"
            assert "[1:1] Alex: /subscribe" in shown and "Subscribed." in shown
            assert "[봇 → Alex] (broadcast)" in shown and "COVID-19 inpatients: 301" in shown
            assert "Alex types: @CoronaDemoBot" in shown and "offered (사진): The last year as a chart" in shown
            assert "최근 4주: 📈 증가 추세" in shown and "2026년 39주 9.20~9.26  248명  ▼89" in shown, \
                "the trend table, each week with its days"
            assert shown.count("[그래프 사진]") == 4, "the three alerts carry the chart, and /chart shows it"
            said = subprocess.run([sys.executable, "-m", "coronabot_dev", "demo-say", "/now"], cwd=ROOT, env=env,
                                  capture_output=True, text=True, timeout=60)
            assert said.returncode == 0 and "[1:1] 지민: /now" in said.stdout
            assert "2026년 40주 (9월 27일~10월 3일)" in said.stdout
            children = descendants(demo.pid)
            assert len(children) >= 4, "the bot, its database, the fake Bot API and the source stand-in"
            os.killpg(demo.pid, signal.SIGINT)
            demo.wait(30)
            wait_until(lambda: all_ended(children), 15, "every part of the demo to stop")
        finally:
            if demo.poll() is None:
                os.killpg(demo.pid, signal.SIGKILL)
    assert "demo stopped." in log.read_text() and "Interrupt" not in log.read_text()
    after = subprocess.run([sys.executable, "-m", "coronabot_dev", "demo-say", "/now"], cwd=ROOT, env=env,
                           capture_output=True, text=True, timeout=60)
    assert after.returncode == 2 and "no demo is running: start one with `make demo`" in after.stderr
