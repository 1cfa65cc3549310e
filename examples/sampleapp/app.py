#!/usr/bin/env python3
"""A small sample application for blue-green demos and tests (standard library only).

    GET /health     200 "ok" (500 when the release name ends in "-broken")
    GET /version    the running release, plain text
    GET /slow?ms=N  waits N milliseconds, then answers like /
    GET /...        a page showing the color and the release (cacheable for 60 s)
"""

import argparse
import html
import signal
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


def make_handler(color: str, release: str):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "sampleapp"

        def do_GET(self):  # noqa: N802 (http.server's naming)
            url = urlsplit(self.path)
            if url.path == "/health":
                broken = release.endswith("-broken")
                return self.answer(500 if broken else 200, "broken\n" if broken else "ok\n")
            if url.path == "/version":
                return self.answer(200, release + "\n")
            if url.path == "/slow":
                ms = int(parse_qs(url.query).get("ms", ["1000"])[0])
                time.sleep(min(ms, 60000) / 1000)
                return self.answer(200, f"{color} {release}\n")
            body = (f"<!doctype html><title>{html.escape(color)}</title>"
                    f"<h1>sample app</h1><p>color {html.escape(color)}, "
                    f"release {html.escape(release)}</p>\n")
            return self.answer(200, body, "text/html; charset=utf-8", cache="max-age=60")

        def answer(self, status, body, ctype="text/plain; charset=utf-8", cache="no-store"):
            data = body.encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Cache-Control", cache)
            self.send_header("X-App-Color", color)
            self.send_header("X-App-Release", release)
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, fmt, *args):
            pass

    return Handler


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--color", required=True)
    parser.add_argument("--release", required=True)
    args = parser.parse_args()
    ThreadingHTTPServer.daemon_threads = True
    ThreadingHTTPServer.allow_reuse_address = True
    server = ThreadingHTTPServer((args.host, args.port), make_handler(args.color, args.release))
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        server.serve_forever()
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
