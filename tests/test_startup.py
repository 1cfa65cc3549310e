"""Fast start: switch does not import jinja2, requests or python-jenkins."""

from __future__ import annotations

import subprocess
import sys


class TestImports:
    """A real switch in a new process, watched with -X importtime."""

    def test_switch_imports_nothing_heavy(self, site):
        site.release("1.0.0")
        for argv in (["passive"], ["deploy", "--version", "1.1.0"], ["verify"]):
            site.ok(*argv, "--stage", "test")
        proc = subprocess.run(
            [sys.executable, "-X", "importtime", "-m", "bluegreen", "-c", str(site.config),
             "--out", str(site.out), "switch", "--stage", "test"],
            capture_output=True, text=True, timeout=60)
        assert proc.returncode == 0, proc.stderr[-2000:]
        imported = {line.split("|")[-1].strip().split(".")[0]
                    for line in proc.stderr.splitlines() if line.startswith("import time:")}
        assert "bluegreen" in imported
        assert not imported & {"jinja2", "requests", "jenkins", "urllib3", "email", "tomllib"}, imported
        assert site.served() == ("green", "1.1.0")
