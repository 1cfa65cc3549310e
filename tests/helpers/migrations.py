"""[schema] and [retire] for the sample app on a database (its Alembic migrations), and whether a
server still answers."""

from __future__ import annotations

import json
import sys

from bluegreen.checks import http

MIGRATE = [sys.executable, "-m", "bluegreen.sampleapp.migrate"]
STOP = [sys.executable, "-m", "bluegreen.sampleapp.stop", "{host}", "{port}", "{color}"]


def configure(site, url, *, expand=None, contract="migrate", after_s=3600, inspect=True, wait_s=30):
    """The site's bluegreen.toml with [schema] and [retire] for the sample app on `url` (checks
    wait up to 30 s: the machine may be busy, and a pass returns as soon as it passes)."""
    site.write_config(checks=f"timeout_s = 5\nwait_s = {wait_s}\n")
    expand = expand or [*MIGRATE, "expand", "{version}", url]
    lines = ["", "[schema]", f"expand = {json.dumps(expand)}", "timeout_s = 60"]
    if contract == "migrate":
        contract = [*MIGRATE, "contract", "{version}", url]
    if contract:
        lines.append(f"contract = {json.dumps(contract)}")
    if inspect:
        lines.append(f"database = {json.dumps(url)}")
    lines += ["", "[retire]", f"after_s = {after_s}", f"command = {json.dumps(STOP)}", "timeout_s = 30"]
    with site.config.open("a") as fh:
        fh.write("\n".join(lines) + "\n")


def answers(server) -> bool:
    """Whether the server answers HTTP at all (any status on /health)."""
    return http.get(server, "/health", 2).status is not None
