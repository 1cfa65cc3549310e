"""The modules the switch path may import, pinned (as click's tests/test_imports.py does).

`switch` is timed against varnishreload (bench/switch_process.py): what it imports is part of its
start-up. Adding a module to its path makes this test fail on purpose: add it here only when the
switch needs it, and keep jinja2, requests, python-jenkins and http.client (email) off it.
"""

from __future__ import annotations

import json
import subprocess
import sys

# everything `python -m bluegreen switch` loads up to and including the move (the last-moment
# release probe, the fleet); the warm-up's modules are loaded only with [warmup]
SWITCH_PATH = """
import json, sys
import bluegreen.cli, bluegreen.context, bluegreen.steps.switch
import bluegreen.checks.release, bluegreen.varnish.fleet, bluegreen.config.load, bluegreen.records.files
print(json.dumps(sorted(sys.modules)))
"""

ALLOWED = {
    "bluegreen", "bluegreen.cli", "bluegreen.context", "bluegreen.errors", "bluegreen.model",
    "bluegreen.checks", "bluegreen.checks.release",
    "bluegreen.config", "bluegreen.config.load", "bluegreen.config.optional", "bluegreen.config.values",
    "bluegreen.config.vcl_table",
    "bluegreen.records", "bluegreen.records.decide", "bluegreen.records.fields", "bluegreen.records.files",
    "bluegreen.records.plan", "bluegreen.records.state",
    "bluegreen.records.watch_record",
    "bluegreen.steps", "bluegreen.steps._common", "bluegreen.steps.switch",
    "bluegreen.varnish", "bluegreen.varnish.admin", "bluegreen.varnish.fleet", "bluegreen.varnish.names",
    "bluegreen.varnish.targets", "bluegreen.varnish.upkeep",
}
HEAVY = {"jinja2", "requests", "jenkins", "urllib3", "email", "http", "xml", "sqlite3", "subprocess",
         "concurrent",
         # kept off on purpose, each a measurable share of the switch's start (callgrind): the
         # records and the config are plain classes (dataclasses brings inspect, ast, dis), the
         # CLI's help formatter does not ask shutil (bz2, lzma), no time is parsed (calendar)
         "dataclasses", "inspect", "shutil", "bz2", "lzma", "calendar", "_strptime"}


def loaded() -> set[str]:
    proc = subprocess.run([sys.executable, "-c", SWITCH_PATH], capture_output=True, text=True,
                          timeout=60, check=True)
    return set(json.loads(proc.stdout))


class TestSwitchPath:
    """What the switch process imports, in a fresh interpreter."""

    def test_bluegreen_modules_are_exactly_the_pinned_ones(self):
        ours = {m for m in loaded() if m == "bluegreen" or m.startswith("bluegreen.")}
        assert ours - ALLOWED == set(), "new on the switch path: pin it here only if switch needs it"
        assert ALLOWED - ours == set(), "no longer on the switch path: unpin it"

    def test_nothing_heavy(self):
        heavy = {m for m in loaded() if m.split(".")[0] in HEAVY}
        assert heavy == set()
