"""Fixtures every kind of test may use, and the worker count. Builders live in tests/helpers."""

from __future__ import annotations

import os
import shutil

import pytest

from bluegreen.demo import local
from tests.helpers.site import make_site, stop_site


def pytest_xdist_auto_num_workers(config) -> int:
    """`-n auto`: two workers a core. Most tests wait on varnishd, sample apps and subprocesses,
    not on the CPU (four workers on two cores was the old fixed count, and the right one)."""
    return 2 * (os.cpu_count() or 1)


@pytest.fixture
def workdir():
    """A temporary folder varnishd's child (user vcache) can read, removed after the test."""
    root = local.shared_tempdir("bluegreen-test-")
    yield root
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def site(workdir, capsys, monkeypatch):
    """One real stage: a varnishd, one blue and one green sample app server (see helpers.site)."""
    s = make_site(workdir, capsys, monkeypatch)
    yield s
    stop_site(s)


@pytest.fixture
def fleet_site(workdir, capsys, monkeypatch):
    """The same stage behind three varnishd instances."""
    s = make_site(workdir, capsys, monkeypatch, instances=3)
    yield s
    stop_site(s)
