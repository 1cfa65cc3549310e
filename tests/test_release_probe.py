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
    """Against a real sample app server, and against nothing."""

    def test_reads_the_sample_app(self, site):
        site.deploy_by_hand(site.blue[0], "2.3.4", "blue")
        assert running_release(site.blue[0], "/version", 2) == ("2.3.4", "2.3.4")
        site.deploy_by_hand(site.blue[0], "2.3.5-broken", "blue")
        assert running_release(site.blue[0], "/health", 2) == (None, "HTTP 500")

    def test_refused(self):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
            release, seen = running_release(Address("127.0.0.1", port), "/version", 1)
        assert release is None and "refused" in seen.lower()
