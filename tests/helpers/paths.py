"""Where the repository's files are, for the tests."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TESTS = ROOT / "tests"
DEPLOY = ROOT / "src" / "bluegreen" / "sampleapp" / "deploy.py"
JUNIT_XSD = TESTS / "schemas" / "junit-10.xsd"  # source and licence: tests/schemas/README.md
