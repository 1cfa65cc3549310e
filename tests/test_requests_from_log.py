"""The log helper: a varnishncsa log (default format) becomes a requests file compare accepts."""

from __future__ import annotations

import subprocess
import sys

from hypothesis import given, settings
from hypothesis import strategies as st

from bluegreen.checks import http
from bluegreen.compare import harvest
from bluegreen.compare.requests import parse_requests
from bluegreen.demo.local import wait_for


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
    """python -m bluegreen.requests_from_log against a real Varnish's real log."""

    def test_from_a_real_varnishncsa_log(self, site, tmp_path):
        site.release("1.0.0")
        front = site.varnish.http
        for path in ("/api/products/1", "/api/products/1", "/about?sessionid=s3cr3t&x=1"):
            http.get(front, path, 5, {"Cookie": "sid=c00kie", "Authorization": "Basic Ym9iOnB3"})
        http.request(front, "POST", "/api/orders", 5)

        def logged():
            proc = subprocess.run(["varnishncsa", "-n", str(site.varnish.workdir), "-d"],
                                  capture_output=True, text=True, timeout=30)
            return proc.stdout if proc.stdout.count("\n") >= 4 else None

        log = tmp_path / "access.log"
        log.write_text(wait_for(logged, 10, "four requests in varnishncsa's log"))
        out = tmp_path / "requests.txt"
        proc = subprocess.run([sys.executable, "-m", "bluegreen.requests_from_log", str(log),
                               "-o", str(out)], capture_output=True, text=True, timeout=30)
        assert proc.returncode == 0, proc.stderr
        text = out.read_text()
        lines = [t for t in text.splitlines() if not t.startswith("#")]
        assert lines[0] == "GET /api/products/1" and "GET /about?x=1" in lines
        assert "POST" not in "\n".join(lines)
        for secret in ("s3cr3t", "c00kie", "Ym9iOnB3", "bob"):
            assert secret not in text

    def test_not_a_log(self, tmp_path):
        log = tmp_path / "x.log"
        log.write_text("hello\n")
        proc = subprocess.run([sys.executable, "-m", "bluegreen.requests_from_log", str(log)],
                              capture_output=True, text=True, timeout=30)
        assert proc.returncode == 2 and "default format" in proc.stderr
        missing = subprocess.run([sys.executable, "-m", "bluegreen.requests_from_log",
                                  str(tmp_path / "nope.log")], capture_output=True, text=True)
        assert missing.returncode == 2 and "cannot read" in missing.stderr
