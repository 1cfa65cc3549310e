"""The Jenkinsfile and the shared library pass npm-groovy-lint (CodeNarc) with no errors."""

from __future__ import annotations

import subprocess

from tests.helpers.paths import ROOT

LINT = ROOT / "node_modules" / ".bin" / "npm-groovy-lint"


class TestGroovyLint:
    """npm-groovy-lint@16, as `npm run lint:groovy` runs it."""

    def test_no_errors(self):
        assert LINT.exists(), "npm-groovy-lint is not installed: ./dev setup runs npm ci"
        proc = subprocess.run([str(LINT), "--failon", "error", "--noserver", "--output", "txt",
                               "Jenkinsfile", "vars"], cwd=ROOT, capture_output=True, text=True,
                              timeout=300)
        assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
        assert "2 linted files" in proc.stdout.replace("\x1b[1m", "").replace("\x1b[22m", "")


class TestRuff:
    """The Python code passes ruff with the project's rules (pyproject.toml)."""

    def test_no_findings(self):
        import sys

        proc = subprocess.run([sys.executable, "-m", "ruff", "check", "src", "tests", "bench", "docs"],
                              cwd=ROOT, capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
