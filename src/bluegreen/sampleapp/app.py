#!/usr/bin/env python3
"""A small sample application for blue-green demos and tests (standard library only).

    GET /health     200 "ok" (500 when the release name ends in "-broken")
    GET /version    the running release, plain text
    GET /slow?ms=N  waits N milliseconds, then answers like /
    GET /metrics    http_requests_total{color,code} (see metrics.py; -failNN releases fail NN%)
    GET /...        a page showing the color and the release (cacheable for 60 s)
    GET /api/...    a small JSON API whose answers differ by release (shopapi.py)

Every request is logged ("METHOD PATH") in $SAMPLEAPP_RUN_DIR/HOST_PORT.requests (shopapi.py).

Each route is a function of the request that returns an `Answer`; `routes()` is the table.
"""

from __future__ import annotations

import argparse
import html
import signal
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from bluegreen.sampleapp import metrics
from bluegreen.sampleapp.answer import Answer, Request


def health(req: Request) -> Answer:
    broken = req.release.endswith("-broken")
    return Answer(500 if broken else 200, "broken\n" if broken else "ok\n")


def version(req: Request) -> Answer:
    return Answer(200, req.release + "\n")


def slow(req: Request) -> Answer:
    ms = int(req.query.get("ms", ["1000"])[0])
    time.sleep(min(ms, 60000) / 1000)
    return Answer(200, f"{req.color} {req.release}\n")


def page(req: Request) -> Answer:
    body = (f"<!doctype html><title>{html.escape(req.color)}</title>"
            f"<h1>sample app</h1><p>color {html.escape(req.color)}, "
            f"release {html.escape(req.release)}</p>\n")
    return Answer(200, body, "text/html; charset=utf-8", "max-age=60")


def routes() -> dict:
    """{path: route}; any other path is a page."""
    from bluegreen.sampleapp import people, shopapi

    return {"/health": health, "/version": version, "/slow": slow, "/people": people.people,
            "/metrics": metrics.metrics, **shopapi.routes()}


def make_handler(color: str, release: str, log=None):
    table = routes()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "sampleapp"
        # Headers and body go out in two writes: without TCP_NODELAY the body waits for Varnish's
        # delayed ACK (40 ms) on every kept-alive backend connection.
        disable_nagle_algorithm = True

        def parse_request(self):  # every request, whatever its method, goes into the log
            parsed = super().parse_request()
            if parsed and log is not None:
                log.write(self.command, self.path)
            return parsed

        def do_GET(self):  # noqa: N802 (http.server's naming)
            self.serve("GET")

        def do_HEAD(self):  # noqa: N802
            self.serve("HEAD")

        def do_POST(self):  # noqa: N802
            self.rfile.read(int(self.headers.get("Content-Length") or 0))  # keep-alive stays in step
            self.serve("POST")

        def serve(self, method: str):
            url = urlsplit(self.path)
            req = Request(method, url.path, parse_qs(url.query),
                          {k.lower(): v for k, v in self.headers.items()}, color, release)
            self.answer(method, metrics.serve(table.get(url.path, page), req))

        def answer(self, method: str, answer: Answer):
            data = answer.body.encode("utf-8")
            self.send_response(answer.status)
            self.send_header("Content-Type", answer.ctype)
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Cache-Control", answer.cache)
            self.send_header("X-App-Color", color)
            self.send_header("X-App-Release", release)
            self.end_headers()
            if method != "HEAD":
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
    from bluegreen.sampleapp.shopapi import RequestLog

    handler = make_handler(args.color, args.release, RequestLog(args.host, args.port))
    server = ThreadingHTTPServer((args.host, args.port), handler)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        server.serve_forever()
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
