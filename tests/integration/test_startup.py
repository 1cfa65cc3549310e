"""Fast start: switch does not import jinja2, requests or python-jenkins."""

from __future__ import annotations

import subprocess
import sys

from bluegreen.checks import http
from tests.helpers.stages import stage_next
from tests.helpers.warming import configure, hit


def switch_imports(site) -> set[str]:
    """The top-level packages a real `switch` imports, in a new process (-X importtime)."""
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "bluegreen", "-c", str(site.config),
         "--out", str(site.out), "switch", "--stage", "test"],
        capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr[-2000:]
    imported = {line.split("|")[-1].strip().split(".")[0]
                for line in proc.stderr.splitlines() if line.startswith("import time:")}
    assert "bluegreen" in imported
    return imported


class TestImports:
    """A real switch in a new process, watched with -X importtime."""

    def test_switch_imports_nothing_heavy(self, site):
        stage_next(site)
        imported = switch_imports(site)
        assert not imported & {"jinja2", "requests", "jenkins", "urllib3", "email"}, imported
        # what a real switch does not pay for either (tests/unit/test_imports.py says why)
        assert not imported & {"dataclasses", "inspect", "shutil", "bz2", "lzma", "calendar", "_strptime"}
        assert site.served() == ("green", "1.1.0")

    def test_with_warmup_only_the_http_client_more(self, site):
        """[warmup] sends through http.client (which imports email); still no jinja2 or Jenkins."""
        stage_next(site)
        configure(site)
        imported = switch_imports(site)
        assert not imported & {"jinja2", "requests", "jenkins", "urllib3"}, imported
        assert site.served() == ("green", "1.1.0")
        assert hit(http.get(site.varnish.http, "/page/a", 5)), "warmed before the switch"
