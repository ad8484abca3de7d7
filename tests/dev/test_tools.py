"""The fake Telegram server understands every body shape a Bot API client sends."""

from __future__ import annotations

from urllib.parse import urlencode

from coronabot_dev.harness import http
from support import PRIVATE_CHAT


def test_json_urlencoded_and_multipart_bodies(servers, token):
    _, telegram, _ = servers
    url = f"{telegram.url}/bot{token}/sendMessage"
    status, body, _ = http("POST", url, {"chat_id": PRIVATE_CHAT, "text": "json 본문"})
    assert status == 200 and body["ok"] is True
    form = urlencode({"chat_id": PRIVATE_CHAT, "text": "폼 본문"}).encode()
    status, _, _ = http("POST", url, raw=form, headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert status == 200
    boundary = "XyZ123"
    multipart = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"chat_id\"\r\n\r\n{PRIVATE_CHAT}\r\n"
                 f"--{boundary}\r\nContent-Disposition: form-data; name=\"text\"\r\n\r\n멀티파트 본문\r\n"
                 f"--{boundary}\r\nContent-Disposition: form-data; name=\"disable_notification\"\r\n\r\nTrue\r\n"
                 f"--{boundary}--\r\n").encode()
    content_type = f"multipart/form-data; boundary={boundary}"
    status, _, _ = http("POST", url, raw=multipart, headers={"Content-Type": content_type})
    assert status == 200
    calls = telegram.calls("sendMessage")
    assert [c["params"]["text"] for c in calls] == ["json 본문", "폼 본문", "멀티파트 본문"]
    assert calls[2]["params"]["disable_notification"] is True
    assert str(calls[2]["params"]["chat_id"]) == str(PRIVATE_CHAT)


def test_a_wrong_token_is_unauthorized(servers):
    _, telegram, _ = servers
    status, body, _ = http("POST", f"{telegram.url}/bot123:nope/getMe", {})
    assert status == 401 and body["ok"] is False


def test_the_quick_multipart_reader_reads_what_urllib3_encodes_as_the_email_parser_does():
    import email.parser
    import email.policy

    from urllib3.filepost import encode_multipart_formdata

    from coronabot_dev.fake_telegram import Upload, parse_multipart

    png = bytes(range(256)) * 40 + b"\r\n--not-a-boundary\r\n"
    body, content_type = encode_multipart_formdata({
        "chat_id": "-1001234567890", "caption": "🦠 <b>주간</b>\r\n둘째 줄 \"따옴표\"", "parse_mode": "HTML",
        "photo": ("chart.png", png, "image/png")})
    quick = parse_multipart(content_type, body)
    reference = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body)
    expected = {part.get_param("name", header="content-disposition"): part.get_payload(decode=True)
                for part in reference.iter_parts()}
    assert set(quick) == set(expected) == {"chat_id", "caption", "parse_mode", "photo"}
    assert isinstance(quick["photo"], Upload) and quick["photo"].content == expected["photo"] == png
    assert quick["photo"].filename == "chart.png"
    assert all(quick[name] == expected[name].decode() for name in ("chat_id", "caption", "parse_mode"))


def test_the_tasks_emulator_retries_with_backoff_refuses_repeated_names_and_sends_the_headers(tasks, monkeypatch):
    """coronabot_dev.tasks_emulator through the product's own client (coronabot.adapters.tasks): a task answered 503 is
    retried after the queue's back-off with the X-CloudTasks headers and the OIDC bearer token; a name that
    exists, or whose task already ran, is refused."""
    import base64
    import json
    import threading
    import time
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from coronabot import config
    from coronabot.adapters.tasks import TaskQueue, task_id
    from support import QUEUE

    seen: list[tuple[float, dict, bytes]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            seen.append((time.monotonic(), dict(self.headers), body))
            self.send_response(503 if len(seen) < 3 else 200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    began = time.time()  # a dispatch an earlier test left on its way may still be recorded after the reset
    try:
        tasks.configure(concurrency=1, min_backoff=0.3, max_backoff=0.6)
        for name, value in {"BROADCAST_QUEUE": QUEUE, "DELIVER_URL": f"http://127.0.0.1:{server.server_port}/",
                            "CLOUD_TASKS_EMULATOR_HOST": tasks.host,
                            "TASKS_SERVICE_ACCOUNT": "coronabot-tasks@p.iam.gserviceaccount.com"}.items():
            monkeypatch.setenv(name, value)
        queue = TaskQueue(config.load())
        assert queue.enqueue("kdca-sentinel_2026-W39", 4) is True
        assert queue.enqueue("kdca-sentinel_2026-W39", 4) is False, "the name exists"
        ends = time.monotonic() + 10
        while len(seen) < 3:
            assert time.monotonic() < ends, seen
            time.sleep(0.05)
        assert queue.enqueue("kdca-sentinel_2026-W39", 4) is False, "the task ran within the hour"
        assert queue.enqueue("kdca-sentinel_2026-W39", 4, generation=1) is True
    finally:
        server.shutdown()
        statuses = [d["status"] for d in tasks.dispatches() if d["started"] >= began]
        tasks.reset()  # the last task would be retried against the stopped server
    (first, headers, body), (second, retried, _), (third, last, _) = seen[:3]
    assert json.loads(body) == {"broadcast": "kdca-sentinel_2026-W39", "chunk": 4, "generation": 0}
    assert second - first >= 0.25 and third - second >= 0.5, "back-off doubling from min_backoff"
    assert [h["X-Cloudtasks-Taskretrycount"] for h in (headers, retried, last)] == ["0", "1", "2"]
    assert headers["X-Cloudtasks-Taskname"] == task_id("kdca-sentinel_2026-W39", 4)
    assert headers["X-Cloudtasks-Queuename"] == "coronabot-broadcast"
    claims = headers["Authorization"].removeprefix("Bearer ").split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(claims + "=" * (-len(claims) % 4)))
    assert claims["email"] == "coronabot-tasks@p.iam.gserviceaccount.com"
    assert claims["aud"] == f"http://127.0.0.1:{server.server_port}/"
    assert statuses[:3] == [503, 503, 200]
