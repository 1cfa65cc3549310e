"""Fixtures of the pipeline tests."""

from __future__ import annotations

import pytest

from tests.helpers.pipeline import open_ci


@pytest.fixture
def ci(workdir, monkeypatch):
    """The shared pipeline on a fake Jenkins with two executors, and its two stages (helpers.pipeline)."""
    with open_ci(workdir, monkeypatch) as c:
        yield c
