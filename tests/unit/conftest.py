"""Fixtures of the unit tests: a stage on fakes (no varnishd, no sample app processes)."""

from __future__ import annotations

import pytest

from tests.helpers.fake_stage import FakeStage

ENVIRONMENT = ("JENKINS_URL", "JOB_NAME", "BUILD_NUMBER", "BLUEGREEN_SECRET_FILE", "BLUEGREEN_WARNINGS",
               "BLUEGREEN_PREVIEW_TOKEN_FILE", "BLUEGREEN_CONFIG", "BLUEGREEN_OUT", "BLUEGREEN_DEBUG")


@pytest.fixture
def stage(tmp_path, capsys, monkeypatch):
    """Stage 'test' on one FakeAdmin, one blue and one green FakeApp (helpers.fake_stage)."""
    for key in ENVIRONMENT:
        monkeypatch.delenv(key, raising=False)
    s = FakeStage(tmp_path, capsys)
    yield s
    s.close()


@pytest.fixture
def fleet_stage(tmp_path, capsys, monkeypatch):
    """The same stage behind two FakeAdmins."""
    for key in ENVIRONMENT:
        monkeypatch.delenv(key, raising=False)
    s = FakeStage(tmp_path, capsys, instances=2)
    yield s
    s.close()
