"""Helpers of the watch tests: a [watch] config, a release pair, a color that stops."""

from __future__ import annotations

import json
import os
import signal

from bluegreen.demo import local


def configure(site, source: str, prom=None, path=None, overrides=None, **keys) -> None:
    """The site's config (or another at `path`, with write_config `overrides`) with a [watch]
    table of short intervals."""
    settings = {"seconds": 4, "interval_s": 1, "max_error_rate": 0.05, "min_requests": 10,
                "on_inconclusive": "pass", "source": source, **keys}
    if source == "prometheus":
        settings.setdefault("prometheus", prom.url if prom else "http://127.0.0.1:9")
        settings["seconds"] = max(settings["seconds"], 6)
        settings["interval_s"] = max(settings["interval_s"], 2)
        settings.setdefault("baseline_s", 0)
    lines = [f"{k} = {json.dumps(v)}" for k, v in settings.items()]
    if source == "varnish":
        lines += ['log_command = ["varnishncsa", "-n", "{name}"]', "[watch.log_names]"]
        lines += [f'"{v.admin}" = "{v.workdir}"' for v in site.varnishes]
    path = site.write_config(path, **(overrides or {}))
    path.write_text(path.read_text() + "\n[watch]\n" + "\n".join(lines) + "\n")


def go_live(site, release: str, prom=None) -> None:
    """1.0 on blue, then `release` live on green; blue is hot."""
    site.release("1.0")
    site.release(release)
    if prom:
        local.wait_for(lambda: prom.scraped(str(site.green[0])), 30, "prometheus scraping green")


def stop_green(site) -> None:
    pidfile = site.run_dir / f"{site.green[0].host}_{site.green[0].port}.pid"
    os.kill(int(pidfile.read_text()), signal.SIGTERM)
    local.wait_for(lambda: site.served("/version")[1] != "2.0", 10, "green to stop answering")


def watch(site):
    return site.cli("--json", "watch", "--stage", "test")


def rolled_back_by_watch(site) -> bool:
    last = site.state()["history"][-1]
    return last["action"] == "rollback" and last.get("reason") == "watch" and site.state()["live"] == "blue"
