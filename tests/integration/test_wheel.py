"""The wheel and the sdist hold everything a user runs and none of the source tree's litter; the
wheel, installed outside the tree, runs the demo and a release step by step (.ci/wheel)."""

from __future__ import annotations

import email
import fcntl
import os
import shutil
import signal
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

import bluegreen
from tests.helpers.paths import ROOT

COPIED = ["src", "tests", "pyproject.toml", "README.md", "CHANGELOG.md", "MANIFEST.in"]
UNCOPIED = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info", "bluegreen-out")

# Planted in a copy of the tree: what running tests and demos leaves behind. None may ship.
LITTER = ["__pycache__/cli.cpython-311.pyc", "stray.pyc", "sampleapp/app.pyo",
          "sampleapp/__pycache__/app.cpython-311.pyc", "report/templates/__pycache__/x.cpython-311.pyc",
          "sampleapp/bluegreen-out/demo/state.json", "bluegreen-out/test/plan.json"]
# Planted too: data files the sample app or the templates may gain (migrations, partials). Must ship.
GAINED = ["sampleapp/migrations/0001_expand.sql", "sampleapp/static/logo.txt",
          "report/templates/partials/extra.html.j2", "varnish/templates/partials/extra.vcl.j2"]


def litter(name: str) -> bool:
    parts = name.split("/")
    return ("__pycache__" in parts or "bluegreen-out" in parts or "tests" in parts
            or name.endswith((".pyc", ".pyo")))


def plant(copy: Path) -> Path:
    """A copy of the source tree with litter and new data files planted in its package."""
    for name in COPIED:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, copy / name, ignore=UNCOPIED)
        elif source.exists():
            shutil.copy2(source, copy / name)
    for name in LITTER + GAINED:
        path = copy / "src" / "bluegreen" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("planted by test_wheel\n")
    return copy


def build(tree: Path, out: Path, *how: str) -> None:
    # no isolation: the test venv has the build backend (setuptools, the test extra); .ci/wheel
    # and TestInstalled build isolated, as users do
    proc = subprocess.run([sys.executable, "-m", "build", "--no-isolation", *how, "--outdir", str(out),
                           str(tree)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    """The planted tree and its builds, made once for all xdist workers of this run."""
    base = tmp_path_factory.getbasetemp()  # under xdist, one per worker inside this run's folder
    shared = (base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base) / "test_wheel"
    shared.mkdir(exist_ok=True)
    with open(shared / "lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (shared / "done").exists():
            tree = plant(shared / "tree")
            build(tree, shared / "both")  # the sdist, then the wheel from it
            build(tree, shared / "direct", "--wheel")  # straight from the tree, as `pip install PATH`
            (shared / "done").touch()
    return shared


@pytest.fixture(scope="module")
def package_files(built) -> set[str]:
    """Every file of the package in the planted tree that should ship, as a wheel names it."""
    package = built / "tree" / "src"
    names = {p.relative_to(package).as_posix() for p in (package / "bluegreen").rglob("*") if p.is_file()}
    return {n for n in names if not litter(n)}


@pytest.fixture(scope="module")
def dists(built) -> dict[str, Path]:
    return {"sdist": next((built / "both").glob("*.tar.gz")),
            "wheel from sdist": next((built / "both").glob("*.whl")),
            "wheel from tree": next((built / "direct").glob("*.whl"))}


def wheel_names(path: Path) -> set[str]:
    with zipfile.ZipFile(path) as whl:
        return set(whl.namelist())


class TestWheel:
    """The wheel holds every module, the templates and the sample app with its data, and nothing else."""

    @pytest.mark.parametrize("which", ["wheel from sdist", "wheel from tree"])
    def test_holds_exactly_the_package(self, dists, package_files, which):
        names = wheel_names(dists[which])
        shipped = {n for n in names if ".dist-info/" not in n}
        assert package_files - shipped == set(), "missing from the wheel"
        assert shipped - package_files == set(), "in the wheel but not part of the package"

    @pytest.mark.parametrize("which", ["wheel from sdist", "wheel from tree"])
    def test_no_tests_caches_or_outputs(self, dists, which):
        assert [n for n in wheel_names(dists[which]) if litter(n)] == []

    def test_every_module_template_and_sample_app_file(self, dists):
        names = wheel_names(dists["wheel from sdist"])
        source = ROOT / "src"
        wanted = [p.relative_to(source).as_posix() for p in (source / "bluegreen").rglob("*")
                  if p.is_file() and not litter(p.relative_to(source).as_posix())]
        assert [n for n in wanted if n not in names] == []
        assert {"bluegreen/report/templates/report.html.j2", "bluegreen/varnish/templates/site.vcl.j2",
                "bluegreen/sampleapp/deploy.py",
                "bluegreen/sampleapp/app.py", "bluegreen/steps/switch.py"} <= names
        assert {f"bluegreen/{n}" for n in GAINED} <= names

    def test_metadata(self, dists):
        with zipfile.ZipFile(dists["wheel from sdist"]) as whl:
            info = f"bluegreen-{bluegreen.__version__}.dist-info"
            meta = email.message_from_bytes(whl.read(f"{info}/METADATA"))
            entry_points = whl.read(f"{info}/entry_points.txt").decode()
        assert meta["Version"] == bluegreen.__version__
        assert meta["Requires-Python"] == ">=3.11"
        assert "Programming Language :: Python :: 3.11" in meta.get_all("Classifier")
        assert "bluegreen = bluegreen.cli:main" in entry_points


class TestSdist:
    """The sdist holds the package and its metadata; not the tests (they need the whole repository)."""

    def test_contents(self, dists, package_files):
        with tarfile.open(dists["sdist"]) as tar:
            names = {n.split("/", 1)[1] for n in tar.getnames() if "/" in n}
        assert {f"src/{n}" for n in package_files} <= names
        assert {"pyproject.toml", "README.md", "PKG-INFO"} <= names
        assert [n for n in names if litter(n)] == []


def stop(proc: subprocess.Popen) -> None:
    """SIGTERM first, so the demo and the steps stop their varnishd and apps; then SIGKILL."""
    if proc.poll() is not None:
        return
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


class TestInstalled:
    """The wheel installed in a fresh venv outside the tree runs the demo and the steps: .ci/wheel."""

    def test_demo_and_steps_from_a_fresh_venv(self, tmp_path):
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "BLUEGREEN_CONFIG")}
        env["BUILDER"] = sys.executable
        with open(tmp_path / "out", "w+") as out:
            proc = subprocess.Popen([str(ROOT / ".ci" / "wheel"), sys.executable], stdout=out,
                                    stderr=subprocess.STDOUT, env=env, start_new_session=True)
            try:
                code = proc.wait(timeout=400)
            finally:  # whatever happened, nothing it started outlives the test
                stop(proc)
            out.seek(0)
            text = out.read()
        assert code == 0, text[-6000:]
        assert f"wheel: [{sys.version.split()[0]}] bluegreen {bluegreen.__version__};" in text
        assert "failed: 0" in text
        assert "passive, deploy, verify, switch, record, status: all as expected" in text
