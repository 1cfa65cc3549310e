"""The log helper: a varnishncsa log (default format) becomes a requests file compare accepts
(against a real Varnish's log: tests/integration/test_requests_from_log.py)."""

from __future__ import annotations

import subprocess
import sys

from hypothesis import given, settings
from hypothesis import strategies as st

from bluegreen.compare import harvest
from bluegreen.compare.requests import parse_requests


def line(request: str, status: int = 200) -> str:
    return (f'127.0.0.1 - bob [29/Nov/2026:10:00:00 +0000] "{request}" {status} 12 "-" '
            '"curl/7.88.1"')


class TestHarvest:
    """Safe requests, deduplicated, most frequent first, without credentials."""

    def test_ranked_by_frequency_safe_only(self):
        found = harvest.harvest([
            line("GET http://shop.example.com/a HTTP/1.1"),
            line("GET http://shop.example.com/b?x=1 HTTP/1.1"),
            line("GET http://shop.example.com/b?x=1 HTTP/1.1"),
            line("POST http://shop.example.com/orders HTTP/1.1"),
            line("HEAD /c HTTP/1.1"),
            "not a log line",
        ])
        assert found.ranked() == [("GET", "/b?x=1", 2), ("GET", "/a", 1), ("HEAD", "/c", 1)]
        assert (found.unsafe, found.unparsed, found.lines) == (1, 1, 6)

    def test_credential_parameters_are_stripped(self):
        found = harvest.harvest([line(
            "GET http://h/p?q=tea&access_token=abc&apiKey=k&sessionId=s&page=2&"
            "X-Amz-Signature=z&keyword=mug HTTP/1.1")])
        assert found.ranked() == [("GET", "/p?q=tea&page=2&keyword=mug", 1)]

    def test_the_output_parses_as_a_requests_file(self):
        found = harvest.harvest([line("GET http://h/a HTTP/1.1"),
                                           line("GET http://h/b HTTP/1.1")])
        text = harvest.render(found, 1, "x.log")
        assert [str(r) for r in parse_requests(text, "r.txt").send] == ["GET /a"]

    @settings(max_examples=200, deadline=None)
    @given(st.text(max_size=200))
    def test_any_line_is_harvested_or_counted(self, text):
        found = harvest.harvest([text, line(f"GET /{text} HTTP/1.1")])
        rendered = harvest.render(found, None, "x")
        if found.counts:
            parse_requests(rendered, "r.txt")  # whatever it kept, compare accepts


class TestCommand:
    """python -m bluegreen.requests_from_log refuses what is not a log, and a missing file."""

    def test_not_a_log(self, tmp_path):
        log = tmp_path / "x.log"
        log.write_text("hello\n")
        proc = subprocess.run([sys.executable, "-m", "bluegreen.requests_from_log", str(log)],
                              capture_output=True, text=True, timeout=30)
        assert proc.returncode == 2 and "default format" in proc.stderr
        missing = subprocess.run([sys.executable, "-m", "bluegreen.requests_from_log",
                                  str(tmp_path / "nope.log")], capture_output=True, text=True)
        assert missing.returncode == 2 and "cannot read" in missing.stderr


class TestUnparsableUrls:
    """A URL urllib cannot split (an unterminated IPv6 host) is counted as unparsed, not a crash."""

    def test_an_unterminated_ipv6_host(self):
        from bluegreen.compare import harvest

        found = harvest.harvest(['127.0.0.1 - - [08/Dec/2026:10:00:00 +0000] "GET http://[::1/x HTTP/1.1" '
                                 '200 5 "-" "curl"'])
        assert found.unparsed == 1 and not found.counts
