"""The value types everything else is built on: addresses, colors, recorded times, shown values.

Pure and small: every layer may import it, it imports nothing of bluegreen.
"""

from __future__ import annotations

import re
import time
from typing import NamedTuple

COLORS = ("blue", "green")


def other(color: str) -> str:
    """The other half of a stage."""
    return "green" if color == "blue" else "blue"


class Address(NamedTuple):
    """host:port of a Varnish admin port, a Varnish front or an app server."""

    host: str
    port: int

    def __str__(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"

    @property
    def url(self) -> str:
        return f"http://{self}"


def now_iso() -> str:
    """UTC now as 2026-11-29T10:00:00.123Z, the form of every time bluegreen records."""
    now = time.time()
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + f".{int(now % 1 * 1000):03d}Z"


MOMENT = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,6})?Z?")  # ASCII digits


def show(value, limit: int = 60) -> str:
    """A value as it may appear in a one-line message: control characters escaped, shortened."""
    text = str(value)
    text = "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in text)
    return text if len(text) <= limit else text[:limit - 3] + "..."


# user:password@ in a URL, up to the last '@' of the line (a password may hold a space or an
# '@' that should have been escaped); password=... in a query string or a libpq conninfo.
_USERINFO = re.compile(r"(\b[A-Za-z][\w+.-]{0,30}://[^:/@\s]*):(?:(?!://)[^\n])*@")
_PASSWORD_KEY = re.compile(r"(\b(?:password|passwd|pwd|sslpassword)=)[^&\s]*", re.IGNORECASE)


def hide_passwords(text: str) -> str:
    """The text with the password of every URL in it left out (user:***@host), as the
    password= of a query string or conninfo; it may hide more than the password, never less."""
    return _PASSWORD_KEY.sub(r"\1***", _USERINFO.sub(r"\1:***@", text))


def shown_url(url: str) -> str:
    """One URL as a message shows it: everything between its scheme and its last '@' but the
    user left out (user:***@host), control characters escaped."""
    scheme, sep, rest = url.partition("://")
    userinfo, at, host = (rest if sep else url).rpartition("@")
    if sep and at:
        url = f"{scheme}{sep}{userinfo.partition(':')[0]}:***@{host}"
    elif at:  # no scheme: user:password@host is no URL, and shows none of what precedes '@'
        url = f"***@{host}"
    return show(hide_passwords(url), 200)
