"""A polite JSON-over-POST client: paced requests, bounded retries, no secrets in logs.

Pacing: every request starts at least a random 3-5 s (configurable) after the previous one ended;
the jitter comes from the ``random.Random`` the caller hands in, so tests can seed it. Retries
with exponential backoff happen for network errors (including timeouts) and 5xx only; HTTP
451/452 raise :class:`RateLimited` at once, other 4xx raise :class:`BadResponse`.
"""

from __future__ import annotations

import http.client
import ipaddress
import json
import logging
import random
import socket
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from yomitori.comments.auth import Secret
from yomitori.comments.model import BadResponse, FetchFailed, NotFound, RateLimited, RawResponse

log = logging.getLogger("yomitori.comments")

RATE_LIMIT_STATUSES = frozenset({451, 452})
NETWORK_ERRORS = (
    urllib.error.URLError,
    http.client.HTTPException,  # RemoteDisconnected, IncompleteRead, BadStatusLine
    ConnectionError,
    TimeoutError,
    socket.timeout,
    OSError,
)


@dataclass(frozen=True)
class HttpConfig:
    base_url: str = "https://time.geekbang.org"
    pace_s: tuple[float, float] = (3.0, 5.0)  # (min, max) seconds between requests
    timeout_s: float = 20.0
    max_retries: int = 3  # extra attempts after the first, network errors and 5xx only
    backoff_s: float = 5.0  # first backoff; doubles per attempt, plus up to 50 % jitter
    backoff_max_s: float = 120.0
    max_requests: int = 5000  # per run; beyond it the run stops as partial and resumes later
    user_agent: str = "Mozilla/5.0 (compatible; yomitori-comments/0.1; personal course reader)"


def check_base_url(base_url: str) -> str:
    """https, or plain http to a loopback address only (the cookie must not cross a network bare)."""
    parts = urllib.parse.urlsplit(base_url)
    if parts.scheme == "https" and parts.hostname:
        return base_url.rstrip("/")
    if parts.scheme == "http" and parts.hostname:
        host = parts.hostname
        try:
            loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
        except ValueError:
            loopback = False
        if loopback:
            return base_url.rstrip("/")
    raise ValueError(f"base URL must be https:// (or http:// to 127.0.0.1): {base_url!r}")


class HttpClient:
    """POSTs JSON to one site with the user's cookie; returns the raw exchange."""

    def __init__(
        self,
        config: HttpConfig,
        cookie: Secret,
        rng: random.Random,
        *,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.config = config
        self.base_url = check_base_url(config.base_url)
        self._cookie = cookie
        self._rng = rng
        self._sleep = sleep
        self._monotonic = monotonic
        self._last_end: float | None = None
        self.requests_sent = 0
        # No redirects: a redirect to a login page would turn into a confusing HTML response.
        self._opener = urllib.request.build_opener(_NoRedirect)

    def __repr__(self) -> str:
        return f"HttpClient(base_url={self.base_url!r}, cookie=***)"

    def _pace(self) -> None:
        low, high = self.config.pace_s
        delay = self._rng.uniform(low, high) if high > 0 else 0.0
        if self._last_end is not None and delay > 0:
            wait = self._last_end + delay - self._monotonic()
            if wait > 0:
                self._sleep(wait)

    def _backoff(self, attempt: int) -> float:
        base = min(self.config.backoff_s * (2**attempt), self.config.backoff_max_s)
        return base * (1.0 + 0.5 * self._rng.random())

    def post_json(self, path: str, payload: Mapping[str, Any], referer: str) -> RawResponse:
        """One request, with retries. Returns the 2xx response; raises the errors in the docstring."""
        body = json.dumps(dict(payload), ensure_ascii=False).encode("utf-8")
        last_error = ""
        for attempt in range(self.config.max_retries + 1):
            if self.requests_sent >= self.config.max_requests:
                raise RateLimited(
                    f"request budget of {self.config.max_requests} spent for this run"
                )
            self._pace()
            self.requests_sent += 1
            log.debug("POST %s %s (attempt %d)", path, dict(payload), attempt + 1)
            try:
                status, data = self._send(path, body, referer)
            except NETWORK_ERRORS as exc:
                last_error = f"{type(exc).__name__}: {_describe(exc)}"
                status, data = None, b""
            finally:
                self._last_end = self._monotonic()
            if status is not None:
                raw = RawResponse(path, dict(payload), status, data)
                if 200 <= status < 300:
                    return raw
                if status in RATE_LIMIT_STATUSES:
                    raise RateLimited(f"HTTP {status} from {path}: rate limited", raw)
                if status == 404:
                    raise NotFound(f"HTTP 404 from {path}", raw)
                if status < 500:
                    raise BadResponse(f"HTTP {status} from {path}", raw)
                last_error = f"HTTP {status}"
            if attempt < self.config.max_retries:
                wait = self._backoff(attempt)
                log.info("%s on %s; retrying in %.1f s", last_error, path, wait)
                if wait > 0:
                    self._sleep(wait)
        raise FetchFailed(f"{path}: {last_error} (after {self.config.max_retries + 1} attempts)")

    def _send(self, path: str, body: bytes, referer: str) -> tuple[int, bytes]:
        request = urllib.request.Request(
            self.base_url + path,
            data=body,
            method="POST",
            headers={
                "Content-Type": "application/json",
                "Accept": "application/json, text/plain, */*",
                "Origin": self.base_url,
                "Referer": referer,
                "User-Agent": self.config.user_agent,
                "Cookie": self._cookie.reveal(),
            },
        )
        try:
            with self._opener.open(request, timeout=self.config.timeout_s) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as exc:
            try:
                data = exc.read()
            except NETWORK_ERRORS:
                data = b""
            return exc.code, data


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def _describe(exc: BaseException) -> str:
    # URLError wraps the real cause in .reason; neither ever contains the request headers.
    reason = getattr(exc, "reason", None)
    return str(reason if reason is not None else exc) or type(exc).__name__
