"""The fake Telegram server understands every body shape a Bot API client sends."""

from __future__ import annotations

from urllib.parse import urlencode

from conftest import PRIVATE_CHAT
from harness import http


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
    import sys

    from urllib3.filepost import encode_multipart_formdata

    from harness import ROOT
    sys.path.insert(0, str(ROOT / "tools"))
    from fake_telegram import Upload, parse_multipart
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
