"""The sample app's small JSON API, whose answers differ by release (for compare's demos and tests),
and its request log.

    GET /api/products       every product
    GET /api/products/N     one product (N = 1, 2, 3)

From release 1.1 on, product 1's price changes on purpose (10.00 -> 12.50) and its stock figure
changes by mistake (5 -> 4). Every answer carries a random request_id and a timestamp. A release
whose name holds "-e500" answers product 3 with a 500.

The request log: one line per request ("METHOD PATH"), whatever the method, in
$SAMPLEAPP_RUN_DIR/HOST_PORT.requests, so a test can prove a request was never sent.
"""

from __future__ import annotations

import json
import os
import re
import threading
import time
import uuid
from pathlib import Path

from bluegreen.sampleapp.answer import Answer

PRODUCTS = {1: "teapot", 2: "kettle", 3: "mug"}


def routes() -> dict:

    def one(number):
        def route(req):
            if number == 3 and "-e500" in req.release:
                return Answer(500, json.dumps({"error": "stock service unavailable"}) + "\n",
                              "application/json")
            return _json(product(number, req.release))
        return route

    table = {f"/api/products/{n}": one(n) for n in PRODUCTS}
    table["/api/products"] = lambda req: _json({"products": [product(n, req.release)
                                                             for n in PRODUCTS]})
    return table


def product(number: int, release: str) -> dict:
    new = _minor(release) >= (1, 1)
    price, stock = ((12.5 if new else 10.0), (4 if new else 5)) if number == 1 else (3.0, 20)
    return {"id": number, "name": PRODUCTS[number], "price": price, "stock": stock}


def _json(data: dict):

    now = time.time_ns()
    stamped = {**data, "request_id": uuid.uuid4().hex,
               "generated_at": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now // 10**9)) +
               f".{now % 10**9 // 1000:06d}Z"}
    return Answer(200, json.dumps(stamped) + "\n", "application/json", "max-age=60")


def _minor(release: str) -> tuple[int, int]:
    match = re.match(r"(\d+)\.(\d+)", release)
    return (int(match.group(1)), int(match.group(2))) if match else (0, 0)


class RequestLog:
    """Appends "METHOD PATH" lines to HOST_PORT.requests in the run folder, one per request."""

    def __init__(self, host: str, port: int, environ=os.environ):
        run_dir = Path(environ.get("SAMPLEAPP_RUN_DIR", "/tmp/bluegreen-sampleapp"))
        self.path = run_dir / f"{host}_{port}.requests"
        self.lock = threading.Lock()

    def write(self, method: str, path: str) -> None:
        line = f"{method} {path}".replace("\n", " ") + "\n"
        with self.lock:
            try:
                with open(self.path, "a", encoding="utf-8", errors="replace") as fh:
                    fh.write(line)
            except OSError:
                pass  # a full disk must not stop the sample app answering
