"""JUnit XML validates against the Jenkins xUnit plugin's junit-10.xsd."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest
import xmlschema

from bluegreen.checks import junit
from bluegreen.checks.junit import Check
from tests.helpers.paths import JUNIT_XSD as XSD
from tests.helpers.paths import ROOT, TESTS

XSD_SHA256 = "a1a816f58d1bf95ebabf371994df0b9246dee66ea9572fbec4f9296f1b2c0ff6"


@pytest.fixture(scope="module")
def schema():
    return xmlschema.XMLSchema(str(XSD))


class TestSchemaCopy:
    """The schema is the xUnit plugin's file, unchanged, and carried inside the repository."""

    def test_the_copy_is_unchanged(self):
        assert hashlib.sha256(XSD.read_bytes()).hexdigest() == XSD_SHA256

    def test_no_test_reaches_outside_the_repository(self):
        folder = "sha" + "red"  # spelt in two, so this guard does not find itself
        needles = ["../" + folder, f'"{folder}" / ']
        outside = [str(p.relative_to(TESTS)) for p in TESTS.rglob("*.py")
                   if any(n in p.read_text() for n in needles) or _above_the_root(p)]
        assert outside == []


def _above_the_root(path: Path) -> bool:
    """Whether the file names an ancestor above the repository (`Path(__file__).parents[N]`)."""
    top = len(path.relative_to(ROOT).parts) - 1  # parents[top] is the repository itself
    return any(int(n) > top for n in re.findall(r"parents\[(\d+)\]", path.read_text()))


class TestSchema:
    """Every report we write is valid, whatever the checks held."""

    def test_passed_failed_and_skipped(self, schema):
        xml = junit.render("prod", "green", "1.5.0", [
            Check("10.0.0.1:80 health", True, "GET /health: 200", 0.0123),
            Check("10.0.0.1:80 release", False, "expected 1.5.0, got 1.4.0", 1.5),
            Check("varnish preview", True, "skipped: first release", group="preview", skipped=True),
        ], "2026-11-29T10:00:00Z")
        schema.validate(xml)
        assert 'failures="1"' in xml and 'skipped="1"' in xml and 'tests="3"' in xml

    def test_hostile_text_is_escaped_and_valid(self, schema):
        nasty = '<script>alert("x")</script> & \x1b[31m \x00'
        xml = junit.render("prod", "green", nasty, [Check(nasty, False, nasty)], "now")
        schema.validate(xml)
        assert "<script>" not in xml
