"""The test suite's own layout (docs/architecture.md, Tests): shared code only in tests/helpers,
tests grouped in documented classes, and unit tests that start no real part."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.helpers.paths import TESTS

# What only the integration and pipeline tests may start: varnishd, sample apps, PostgreSQL,
# Prometheus, sshd, wrk, Chromium, the Groovy harness (fixtures by name, helpers by module).
REAL_FIXTURES = {"site", "fleet_site", "workdir", "label_site", "database", "postgres_server",
                 "prometheus", "ci"}
REAL_HELPERS = {"tests.helpers.site", "tests.helpers.ports", "tests.helpers.postgres",
                "tests.helpers.sshd", "tests.helpers.local_watch", "tests.helpers.load",
                "tests.helpers.browser", "tests.helpers.pipeline", "tests.helpers.fake_jenkins",
                "tests.helpers.watching", "tests.helpers.label"}


def modules(folder: Path = TESTS, pattern: str = "*.py") -> dict[Path, ast.Module]:
    return {p: ast.parse(p.read_text()) for p in sorted(folder.rglob(pattern))}


def imported(tree: ast.Module) -> set[str]:
    """Every module an import statement names (inside functions too)."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            found |= {node.module} | {f"{node.module}.{a.name}" for a in node.names}
    return found


class TestImports:
    """Test modules and conftest files share code through tests.helpers only."""

    def test_nothing_imports_a_test_module_or_a_conftest(self):
        wrong = {f"{p.relative_to(TESTS)}: {m}" for p, tree in modules().items() for m in imported(tree)
                 if m.startswith("tests.") and not m.startswith("tests.helpers")
                 or m.split(".")[-1] == "conftest" or m.split(".")[-1].startswith("test_")}
        assert wrong == set()

    def test_helpers_hold_no_tests(self):
        assert not list((TESTS / "helpers").glob("test_*.py"))


class TestGrouping:
    """Tests sit in classes named Test..., each with a docstring; no test at module level."""

    def test_classes_with_docstrings(self):
        loose, undocumented = [], []
        for path, tree in modules(pattern="test_*.py").items():
            for node in tree.body:
                if isinstance(node, ast.FunctionDef) and node.name.startswith("test_"):
                    loose.append(f"{path.name}::{node.name}")
                if isinstance(node, ast.ClassDef) and node.name.startswith("Test") \
                        and not ast.get_docstring(node):
                    undocumented.append(f"{path.name}::{node.name}")
        assert (loose, undocumented) == ([], [])


class TestUnitTestsStartNothingReal:
    """tests/unit runs against fakes: no real-part fixture, no helper that starts a real part."""

    def test_no_real_fixtures_or_helpers(self):
        found = []
        for path, tree in modules(TESTS / "unit").items():
            found += [f"{path.name}: imports {m}" for m in imported(tree) if m in REAL_HELPERS]
            found += [f"{path.name}: {node.name}({a.arg})" for node in ast.walk(tree)
                      if isinstance(node, ast.FunctionDef) for a in node.args.args if a.arg in REAL_FIXTURES]
        assert found == []
