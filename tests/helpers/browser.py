"""Serve a folder on loopback under Jenkins' artifact CSP and render a page in headless Chromium."""

from __future__ import annotations

import functools
import http.server
import shutil
import subprocess
import threading
from pathlib import Path

JENKINS_CSP = "sandbox allow-same-origin; default-src 'none'; img-src 'self'; style-src 'self';"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--enable-logging=stderr", "--v=0", "--window-size=1200,1000"]


class CSPServer:
    """A static file server whose every answer carries the CSP; records the paths asked for."""

    def __init__(self, folder: Path, csp: str = JENKINS_CSP):
        requested = self.requested = []

        class Handler(http.server.SimpleHTTPRequestHandler):
            def end_headers(self):
                self.send_header("Content-Security-Policy", csp)
                super().end_headers()

            def log_message(self, fmt, *args):
                requested.append(self.path)

        self.httpd = http.server.ThreadingHTTPServer(
            ("127.0.0.1", 0), functools.partial(Handler, directory=str(folder)))
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(5)

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/{name}"


def chromium() -> str:
    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    assert binary, "Debian's chromium is needed for the report tests: ./dev setup installs it"
    return binary


def render(url: str, screenshot: Path, profile: Path) -> str:
    """Take a screenshot of url; return what Chromium logged (console messages, CSP reports)."""
    proc = subprocess.run([chromium(), *CHROMIUM_FLAGS, f"--user-data-dir={profile}",
                           f"--screenshot={screenshot}", url],
                          capture_output=True, text=True, timeout=120)
    assert screenshot.exists(), proc.stderr[-2000:]
    return proc.stderr


def blocked(log: str) -> list[str]:
    return [line for line in log.splitlines()
            if "Content Security Policy" in line or "Blocked" in line or "blocked" in line]
