"""The release a version endpoint names, and the cheap HTTP/1.0 reader switch uses."""

from __future__ import annotations

import socket

from bluegreen.checks.release import parse_release, running_release
from bluegreen.model import Address


class TestParse:
    """Plain text or JSON {"version": ...}; nothing from a failed answer."""

    def test_plain_and_json(self):
        assert parse_release(200, "1.5.0\n") == "1.5.0"
        assert parse_release(200, '{"version": "1.5.0", "commit": "abc"}') == "1.5.0"
        assert parse_release(200, '{"version": 7}') == "7"

    def test_not_a_release(self):
        assert parse_release(500, "1.5.0") is None
        assert parse_release(None, "") is None
        assert parse_release(200, "{broken json") is None
        assert parse_release(200, "") is None


class TestRead:
    """Against nothing listening."""

    def test_refused(self):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
            release, seen = running_release(Address("127.0.0.1", port), "/version", 1)
        assert release is None and "refused" in seen.lower()
