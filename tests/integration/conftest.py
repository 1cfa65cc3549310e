"""Fixtures of the integration tests: label mode's site, PostgreSQL, Prometheus."""

from __future__ import annotations

import os
import shutil

import pytest

from bluegreen.demo import local
from tests.helpers import ports
from tests.helpers.label import LABEL
from tests.helpers.local_watch import LocalPrometheus
from tests.helpers.postgres import LocalPostgres
from tests.helpers.site import make_site, stop_site


@pytest.fixture
def label_site(workdir, capsys, monkeypatch):
    """Three instances in label mode, and `other`: the server the site's own VCL routes the rest to."""
    site = make_site(workdir, capsys, monkeypatch, instances=3)
    other = ports.address()
    site.deploy_by_hand(other, "site-1", "other")
    site.write_config(vcl=LABEL, checks='timeout_s = 2\nwait_s = 8\nhost = "shop"\n')
    yield site, other
    stop_site(site)


@pytest.fixture(scope="session")
def postgres_server():
    """One PostgreSQL for the session of each worker."""
    root = local.shared_tempdir("bluegreen-pg-")
    server = LocalPostgres(root / "pg")
    try:
        yield server.start()
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def database(postgres_server, request):
    """A fresh database for one test: (server, url)."""
    name = "t_" + "".join(c if c.isalnum() else "_" for c in request.node.name.lower())[:50]
    return postgres_server, postgres_server.create_database(f"{name}_{os.urandom(3).hex()}")


@pytest.fixture
def prometheus(site):
    """A local Prometheus scraping both colors' servers of the site."""
    prom = LocalPrometheus(site.root, [*site.blue, *site.green]).start()
    yield prom
    prom.stop()
