"""The log helper on a real Varnish's varnishncsa log (the harvest itself: tests/unit/test_harvest.py)."""

from __future__ import annotations

import subprocess
import sys

from bluegreen.checks import http
from bluegreen.demo.local import wait_for


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
