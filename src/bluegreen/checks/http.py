"""HTTP checks against servers, directly or through Varnish (standard library only)."""

from __future__ import annotations

import http.client
import io
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from bluegreen.checks.release import parse_release
from bluegreen.model import Address


@dataclass
class Answer:
    status: int | None
    body: str = ""
    headers: dict = field(default_factory=dict)
    error: str | None = None
    data: bytes = b""  # the raw body (up to the read limit)
    unreachable: bool = False  # the connection itself failed: nothing listens there
    truncated: bool = False  # the answer was longer than the read limit: `data` is its start

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


def get(address: Address, path: str, timeout: float, headers: dict | None = None,
        tls: bool = False, limit: int = 65536) -> Answer:
    """GET `path`; `timeout` bounds the whole exchange, the answer read up to `limit` bytes
    (`truncated` says when there was more)."""
    kind = http.client.HTTPSConnection if tls else http.client.HTTPConnection
    conn = kind(address.host, address.port, timeout=timeout)
    with _Deadline(conn, timeout) as deadline:
        try:
            deadline.connect()
            return deadline.exchange("GET", path, headers, limit)
        except (OSError, http.client.HTTPException) as exc:
            return Answer(None, error=_describe_error(exc, timeout, deadline.passed))


def get_url(url: str, timeout: float, headers: dict | None = None, limit: int = 65536) -> Answer:
    """GET an absolute http(s) URL (a metrics API, say); credentials are the caller's to send
    as a header, never taken from the URL."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    tls = parts.scheme == "https"
    address = Address(parts.hostname or "", parts.port or (443 if tls else 80))
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return get(address, path, timeout, headers, tls=tls, limit=limit)


def release_of(answer: Answer) -> str | None:
    """The release a version endpoint names: plain text, or JSON {"version": ...}."""
    return parse_release(answer.status, answer.body)


def describe(answer: Answer) -> str:
    if answer.error:
        return answer.error
    return f"HTTP {answer.status}"


class Deadline:
    """One deadline shared by every poll of a step: the step as a whole waits at most wait_s."""

    def __init__(self, wait_s: float, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep):
        self.end, self.clock, self.sleep = clock() + wait_s, clock, sleep

    def poll(self, attempt: Callable[[], tuple[bool, str]]) -> tuple[bool, str, float]:
        return Poll(max(0.0, self.end - self.clock()), self.sleep, self.clock).until(attempt)


@dataclass
class Poll:
    """Retry a check with backoff until it passes or the deadline passes; keep the last result."""

    wait_s: float
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic

    def until(self, attempt: Callable[[], tuple[bool, str]]) -> tuple[bool, str, float]:
        start = self.clock()
        delay = 0.05
        while True:
            passed, seen = attempt()
            elapsed = self.clock() - start
            if passed or elapsed >= self.wait_s:
                return passed, seen, elapsed
            self.sleep(min(delay, max(0.0, self.wait_s - elapsed)))
            delay = min(delay * 2, 1.0)


def host_header(config) -> dict:
    """The Host header every check sends when `checks.host` is set (name-based virtual hosts)."""
    return {"Host": config.checks.host} if config.checks.host else {}


def request(address: Address, method: str, path: str, timeout: float, headers: dict | None = None,
            limit: int = 65536) -> Answer:
    """Any method, the raw body kept (up to `limit` bytes), and whether the connection itself
    failed (compare). A Host in `headers` replaces the address's own. `timeout` bounds the whole
    exchange, connection and answer."""
    conn = http.client.HTTPConnection(address.host, address.port, timeout=timeout)
    with _Deadline(conn, timeout) as deadline:
        try:
            deadline.connect()
        except OSError as exc:
            return Answer(None, error=_describe_error(exc, timeout, deadline.passed), unreachable=True)
        try:
            return deadline.exchange(method, path, headers, limit)
        except (OSError, http.client.HTTPException) as exc:
            return Answer(None, error=_describe_error(exc, timeout, deadline.passed))


class _Deadline:
    """One deadline for a whole exchange. Each read's own timeout is not enough: a server that
    trickles its answer a byte at a time satisfies every read and never finishes. Here every
    read of the answer waits only what is left, and none starts once the deadline passed."""

    def __init__(self, conn: http.client.HTTPConnection, timeout: float):
        self.conn, self.end = conn, time.monotonic() + timeout

    @property
    def passed(self) -> bool:
        return time.monotonic() >= self.end

    def __enter__(self) -> _Deadline:
        return self

    def __exit__(self, *exc) -> None:
        self.conn.close()

    def connect(self) -> None:
        self.conn.connect()
        self._check()
        self.conn.sock = _Bounded(self.conn.sock, self.end)

    def exchange(self, method: str, path: str, headers: dict | None, limit: int) -> Answer:
        self.conn.request(method, path, headers={"Connection": "close", **(headers or {})})
        resp = self.conn.getresponse()
        data = resp.read(limit + 1)
        self._check()  # an answer cut at the deadline may look like a short, whole one
        kept = data[:limit]
        return Answer(resp.status, kept.decode("utf-8", "replace"),
                      {k.lower(): v for k, v in resp.getheaders()}, data=kept,
                      truncated=len(data) > limit)

    def _check(self) -> None:
        if self.passed:
            raise TimeoutError


class _Bounded:
    """A connected socket whose answer is read against a deadline (what http.client reads the
    answer through is its makefile); everything else goes to the socket itself."""

    def __init__(self, sock, end: float):
        self._sock, self._end = sock, end

    def makefile(self, *args, **kwargs):
        return io.BufferedReader(_BoundedReader(self._sock, self._end))

    def __getattr__(self, name):
        return getattr(self._sock, name)


class _BoundedReader(io.RawIOBase):
    def __init__(self, sock, end: float):
        self._raw, self._sock, self._end = sock.makefile("rb", buffering=0), sock, end

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int | None:
        left = self._end - time.monotonic()
        if left <= 0:
            raise TimeoutError
        self._sock.settimeout(left)
        return self._raw.readinto(buffer)

    def close(self) -> None:
        self._raw.close()
        super().close()


def _describe_error(exc: Exception, timeout: float, passed: bool = False) -> str:
    if passed or isinstance(exc, TimeoutError):
        return f"no answer within {timeout:g} s"
    return getattr(exc, "strerror", None) or exc.__class__.__name__
