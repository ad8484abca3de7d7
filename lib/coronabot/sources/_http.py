"""HTTP for sources: timeouts, a browser-like User-Agent, conditional GETs, typed errors."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit, urlunsplit

import requests

from ._errors import FetchError, UnexpectedPageError

USER_AGENT = ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
              "Chrome/124.0 Safari/537.36 coronabot/1.0")


def rebase_url(url: str, base: str) -> str:
    """Replace scheme, host and port of an official URL with ``base``; path and query stay."""
    if not base:
        return url
    official, new = urlsplit(url), urlsplit(base)
    return urlunsplit((new.scheme, new.netloc, official.path, official.query, ""))


class SourceHttp:
    """One session per process, kept warm between ticks (the portal's cookie lives in it)."""

    def __init__(self, base_url: str = "", timeout: float = 15.0):
        self.base_url = base_url
        self.timeout = timeout
        self.session = requests.Session()
        self.session.headers.update({"User-Agent": USER_AGENT, "Accept-Language": "ko-KR,ko;q=0.9"})

    def url(self, official: str) -> str:
        return rebase_url(official, self.base_url)

    def request(self, method: str, official_url: str, *, expect: str, **kwargs: Any) -> requests.Response | None:
        """Send one request; None for 304; FetchError for anything that is not the expected data.

        ``expect`` is "json", "xml" or "html": an HTML error page where JSON or
        XML was expected is a FetchError, not a parse attempt.
        """
        url = self.url(official_url)
        try:
            response = self.session.request(method, url, timeout=self.timeout, allow_redirects=True, **kwargs)
        except requests.Timeout:
            raise FetchError(f"{method} {official_url}: no answer within {self.timeout:g} s") from None
        except requests.RequestException as exc:
            raise FetchError(f"{method} {official_url}: {type(exc).__name__}") from None
        if response.status_code == 304:
            return None
        if response.status_code >= 400:
            raise FetchError(f"{method} {official_url}: HTTP {response.status_code}")
        content_type = response.headers.get("Content-Type", "").lower()
        head = response.content[:200].lstrip().lower()
        looks_html = "html" in content_type or head.startswith((b"<!doctype html", b"<html"))
        if expect in ("json", "xml") and looks_html:
            raise UnexpectedPageError(f"{method} {official_url}: an HTML page came back instead of {expect.upper()}")
        return response
