#!/usr/bin/env python3
"""The column rename of docs/schema.md, over three releases, on this machine.

    python examples/schema/walkthrough.py [--database URL]

Starts a local varnishd and the sample app (one server per color) on a database: SQLite in a
temporary folder by default, or the PostgreSQL URL given (pip install 'bluegreen[postgres]').
Then, printing each bluegreen command and what it changed:

    release 1.0.0   expand: create people(name)          the app reads and writes name
    release 2.0.0   expand: add full_name, copy name      writes both, reads full_name
    retire          refused inside the rollback window; --now stops blue, contracts: drop name
    rollback        refused: 1.0.0 cannot run on the contracted schema; roll forward
    release 3.0.0   nothing to expand                     full_name only

Exits 0 when every step did what the comment above says, 1 otherwise. Stops what it started.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys

from bluegreen.checks import http
from bluegreen.cli import main as bluegreen
from bluegreen.demo import local
from bluegreen.schema import catalogue

CONFIG = """\
app = "shop"
secret_file = "{secret}"

[checks]
timeout_s = 2
wait_s = 30

[deploy]
command = [{python}, "-m", "bluegreen.sampleapp.deploy", "{{host}}", "{{port}}", "{{version}}", "{{color}}"]
timeout_s = 60

[schema]
expand = [{python}, "-m", "bluegreen.sampleapp.migrate", "expand", "{{version}}", {url}]
contract = [{python}, "-m", "bluegreen.sampleapp.migrate", "contract", "{{version}}", {url}]
database = {url}

[retire]
after_s = 3600
command = [{python}, "-m", "bluegreen.sampleapp.stop", "{{host}}", "{{port}}", "{{color}}"]

[stages.demo]
varnish = ["{admin}"]
front = ["{http}"]
blue = ["127.0.0.1:{blue}"]
green = ["127.0.0.1:{green}"]
"""


class Walk:
    def __init__(self, root, varnish, url):
        self.root, self.varnish, self.url = root, varnish, url
        self.config, self.out = root / "bluegreen.toml", root / "out"
        self.failures: list[str] = []

    def step(self, *argv: str, expect: int = 0) -> None:
        print(f"\n$ bluegreen {' '.join(argv)}", flush=True)
        code = bluegreen(["-c", str(self.config), "--out", str(self.out), *argv])
        print(f"  -> exit {code}", flush=True)
        self.check(code == expect, f"'{' '.join(argv)}' exited {code}, expected {expect}")

    def http(self, method: str, path: str, color: str | None = None):
        answer = http.request(self.varnish.http, method, path, 10,
                                {"X-Bluegreen-Color": color} if color else {})
        body = answer.body if answer.status is not None else answer.error
        shown = f" (preview {color})" if color else ""
        print(f"  {method} {path}{shown}: {answer.status} {body.strip()}")
        return answer.status, (json.loads(body) if body.startswith("{") else body)

    def columns(self) -> list[str]:
        found = sorted(catalogue.read_url(self.url).get("people", {}))
        print(f"  people columns: {', '.join(found)}")
        return found

    def check(self, ok: bool, what: str) -> None:
        if not ok:
            print(f"  UNEXPECTED: {what}")
            self.failures.append(what)


def walk(w: Walk) -> None:
    stage = ["--stage", "demo"]
    print("\n=== release 1: people(name); the app reads and writes name")
    w.step("release", *stage, "--version", "1.0.0")
    w.http("POST", "/people?name=Ada+Lovelace")
    w.check(w.columns() == ["id", "name"], "release 1 creates people(id, name)")

    print("\n=== release 2: expand adds full_name; release 2 writes both, reads full_name")
    w.step("release", *stage, "--version", "2.0.0")
    w.check(w.columns() == ["full_name", "id", "name"], "expand 2 adds full_name")
    w.http("POST", "/people?name=Grace+Hopper", color="blue")  # release 1 still works
    w.http("POST", "/people?name=Alan+Turing")                 # release 2, live
    for color in ("blue", "green"):
        status, body = w.http("GET", "/people", color=color)
        w.check(status == 200 and len(body["people"]) == 3, f"{color} reads all three rows")

    print("\n=== retire: refused inside the rollback window, then --now: stop blue, contract 2")
    w.step("retire", *stage, expect=1)
    w.step("retire", *stage, "--now")
    w.check(w.columns() == ["full_name", "id"], "contract 2 drops name")
    status, body = w.http("GET", "/people")
    w.check(status == 200 and "Grace Hopper" in body["people"], "release 2 works after the contract")

    print("\n=== rollback: refused, the schema moved past release 1")
    w.step("rollback", *stage, expect=1)
    w.step("status", *stage)

    print("\n=== release 3: nothing to expand; full_name only")
    w.step("release", *stage, "--version", "3.0.0")
    status, body = w.http("GET", "/people")
    w.check(status == 200 and len(body["people"]) == 3 and body["release"] == "3.0.0",
            "release 3 reads full_name")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", help="a postgresql:// URL (default: SQLite in a temporary folder)")
    args = parser.parse_args()
    root = local.shared_tempdir("bluegreen-schema-example-")
    varnish = None
    os.environ["SAMPLEAPP_RUN_DIR"] = str(root / "apps")
    try:
        url = args.database or f"sqlite:///{root / 'shop.db'}"
        os.environ["SAMPLEAPP_DATABASE_URL"] = url  # the sample app's servers inherit it
        secret = local.write_secret(root / "secret")
        varnish = local.LocalVarnish(root, secret).start()
        (root / "bluegreen.toml").write_text(CONFIG.format(
            secret=secret, python=json.dumps(sys.executable), url=json.dumps(url),
            admin=varnish.admin, http=varnish.http, blue=local.free_port(), green=local.free_port()))
        w = Walk(root, varnish, url)
        walk(w)
    finally:
        local.stop_sample_apps(root / "apps")
        if varnish is not None:
            varnish.stop()
        shutil.rmtree(root, ignore_errors=True)
    print("\nwalk-through: " + ("every step did what it should" if not w.failures
                                 else f"{len(w.failures)} unexpected: {'; '.join(w.failures)}"))
    return 1 if w.failures else 0


if __name__ == "__main__":
    sys.exit(main())
