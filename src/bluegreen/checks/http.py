"""HTTP checks against servers, directly or through Varnish (standard library only)."""

from __future__ import annotations

import http.client
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

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


def get(address: Address, path: str, timeout: float, headers: dict | None = None,
        tls: bool = False) -> Answer:
    kind = http.client.HTTPSConnection if tls else http.client.HTTPConnection
    conn = kind(address.host, address.port, timeout=timeout)
    try:
        conn.request("GET", path, headers={"Connection": "close", **(headers or {})})
        resp = conn.getresponse()
        body = resp.read(65536).decode("utf-8", "replace")
        return Answer(resp.status, body, {k.lower(): v for k, v in resp.getheaders()})
    except TimeoutError:
        return Answer(None, error=f"no answer within {timeout:g} s")
    except (OSError, http.client.HTTPException) as exc:
        return Answer(None, error=getattr(exc, "strerror", None) or exc.__class__.__name__)
    finally:
        conn.close()


def get_url(url: str, timeout: float, headers: dict | None = None) -> Answer:
    """GET an absolute http(s) URL (a metrics API, say)."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    tls = parts.scheme == "https"
    address = Address(parts.hostname or "", parts.port or (443 if tls else 80))
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return get(address, path, timeout, headers, tls=tls)


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
    failed (compare). A Host in `headers` replaces the address's own."""
    conn = http.client.HTTPConnection(address.host, address.port, timeout=timeout)
    try:
        try:
            conn.connect()
        except OSError as exc:
            return Answer(None, error=_describe_error(exc, timeout), unreachable=True)
        conn.request(method, path, headers={"Connection": "close", **(headers or {})})
        resp = conn.getresponse()
        data = resp.read(limit)
        return Answer(resp.status, data.decode("utf-8", "replace"),
                      {k.lower(): v for k, v in resp.getheaders()}, data=data)
    except (OSError, http.client.HTTPException) as exc:
        return Answer(None, error=_describe_error(exc, timeout))
    finally:
        conn.close()


def _describe_error(exc: Exception, timeout: float) -> str:
    if isinstance(exc, TimeoutError):
        return f"no answer within {timeout:g} s"
    return getattr(exc, "strerror", None) or exc.__class__.__name__
