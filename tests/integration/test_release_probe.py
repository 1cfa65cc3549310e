"""The cheap HTTP/1.0 reader switch uses, against a real sample app server (the rest:
tests/unit/test_release_probe.py)."""

from __future__ import annotations

from bluegreen.checks.release import running_release


class TestRead:
    """Against a real sample app server."""

    def test_reads_the_sample_app(self, site):
        site.deploy_by_hand(site.blue[0], "2.3.4", "blue")
        assert running_release(site.blue[0], "/version", 2) == ("2.3.4", "2.3.4")
        site.deploy_by_hand(site.blue[0], "2.3.5-broken", "blue")
        assert running_release(site.blue[0], "/health", 2) == (None, "HTTP 500")
