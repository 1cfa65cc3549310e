"""demo: a full blue-green release on this machine, under traffic, with a rollback.

Starts a local varnishd and two colors of the sample app on free loopback ports in a temporary
folder, releases 1.0.0, releases 1.1.0 while a traffic loop runs through Varnish, rolls back,
prints how many requests failed, and stops everything it started (also on Ctrl-C).
"""

from __future__ import annotations

import argparse
import os
import shutil
import threading
import time

from bluegreen.checks import http
from bluegreen.context import Context, Result
from bluegreen.demo import local
from bluegreen.steps import record, release, rollback

CONFIG = """\
app = "shop"
secret_file = "{secret}"

[checks]
timeout_s = 2
wait_s = 30

[deploy]
command = {command}
parallel = 4
timeout_s = 60

[stages.demo]
varnish = ["{admin}"]
front = ["{http}"]
blue = ["127.0.0.1:{b1}", "127.0.0.1:{b2}"]
green = ["127.0.0.1:{g1}", "127.0.0.1:{g2}"]
"""


class Traffic(threading.Thread):
    """Requests through Varnish in a loop until stopped; counts what failed."""

    def __init__(self, front, paths=("/", "/version", "/slow?ms=20")):
        super().__init__(daemon=True)
        self.front, self.paths = front, paths
        self.sent = self.failed = 0
        self.errors: list[str] = []
        self.colors: set[str] = set()
        self._halt = threading.Event()

    def run(self):
        n = 0
        while not self._halt.is_set():
            path = self.paths[n % len(self.paths)]
            n += 1
            answer = http.get(self.front, path, timeout=5)
            self.sent += 1
            self.colors.add(answer.headers.get("x-bluegreen-color", "?"))
            if not answer.ok:
                self.failed += 1
                self.errors.append(f"{path}: {http.describe(answer)}")

    def stop(self):
        self._halt.set()
        self.join(10)


def run(ctx, args) -> Result:
    root = local.shared_tempdir("bluegreen-demo-")
    varnish = traffic = None
    run_dir = root / "apps"
    shutil.rmtree(ctx.out / "demo", ignore_errors=True)  # a new Varnish: no record carries over
    try:
        secret = local.write_secret(root / "secret")
        varnish = local.LocalVarnish(root, secret).start()
        ctx.say(f"demo: varnishd listening on {varnish.http} (admin {varnish.admin}), work in {root}")
        ports = {k: local.free_port() for k in ("b1", "b2", "g1", "g2")}
        command = "[" + ", ".join(f'"{a}"' for a in local.deploy_command()) + "]"
        cfg = root / "bluegreen.toml"
        cfg.write_text(CONFIG.format(secret=secret, command=command, admin=varnish.admin,
                                     http=varnish.http, **ports))
        inner = Context(config_path=str(cfg), out=ctx.out, environ=dict(ctx.environ))
        os.environ["SAMPLEAPP_RUN_DIR"] = str(run_dir)  # the deploy script inherits it
        _step(ctx, "release 1.0.0 (first release: blue goes first)")
        release.run(inner, _args(version="1.0.0"))
        traffic = Traffic(varnish.http)
        traffic.start()
        _step(ctx, "release 1.1.0 while traffic runs through Varnish")
        release.run(inner, _args(version="1.1.0"))
        local.wait_for(lambda: "green" in traffic.colors, 10, "traffic served by green")
        time.sleep(1.0)  # let the new release take traffic for a moment before rolling back
        _step(ctx, "roll back to the previous color")
        rollback.run(inner, _args())
        time.sleep(0.3)  # a few more requests after the rollback, still counted
        traffic.stop()
        summary = record.run(inner, _args()).text
        report = inner.files(inner.config.stage("demo")).report_path
        ok = traffic.failed == 0
        lines = [f"requests through Varnish during release and rollback: {traffic.sent}, "
                 f"failed: {traffic.failed}",
                 f"colors seen: {', '.join(sorted(traffic.colors))}",
                 f"live: {summary}", f"report: {report.resolve()}"]
        if not ok:
            lines.append("first failures: " + "; ".join(traffic.errors[:5]))
        if getattr(args, "keep", False):
            ctx.say(f"demo running: curl http://{varnish.http}/ ; Ctrl-C stops it")
            threading.Event().wait()
        return Result("\n".join(lines), {"requests": traffic.sent, "failed": traffic.failed,
                                         "summary": summary, "report": str(report.resolve())},
                      0 if ok else 1)
    finally:
        if traffic is not None and traffic.is_alive():
            traffic.stop()
        local.stop_sample_apps(run_dir)
        if varnish is not None:
            varnish.stop()
        shutil.rmtree(root, ignore_errors=True)


def _args(**kw):
    return argparse.Namespace(**({"stage": "demo", "force": False, "version": None} | kw))


def _step(ctx, text):
    ctx.say(f"\n=== demo: {text}")
