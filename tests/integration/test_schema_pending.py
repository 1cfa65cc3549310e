"""schema.pending: what the database itself says is pending is the truth over the record
(real Varnish, the sample app on SQLite, its Alembic migrations' `check`)."""

from __future__ import annotations

import json
import shutil
import sys

import pytest

from tests.helpers.migrations import MIGRATE, answers, configure
from tests.helpers.paths import ROOT


def with_pending(site, pending: list[str] | None = None, expand: list[str] | None = None) -> None:
    configure(site, site.extra["url"], expand=expand)
    pending = pending or [*MIGRATE, "check", "{version}", site.extra["url"]]
    site.config.write_text(site.config.read_text().replace(
        "[schema]\n", f"[schema]\npending = {json.dumps(pending)}\n"))


def deploy_refused(site, code: int, *words: str) -> None:
    """deploy 2.0.0 exits `code` saying `words`, and nothing live or on a server changed."""
    site.ok("passive", "--stage", "test")
    before = site.actives()
    run = site.cli("deploy", "--stage", "test", "--version", "2.0.0")
    assert run.code == code, run.text
    assert all(w in run.err for w in words), run.err
    assert site.actives() == before and not answers(site.green[0])


@pytest.fixture
def pending_site(site, monkeypatch):
    url = f"sqlite:///{site.root / 'shop.db'}"
    monkeypatch.setenv("SAMPLEAPP_DATABASE_URL", url)
    site.extra.update(url=url, db=site.root / "shop.db")
    with_pending(site)
    return site


class TestPending:
    """deploy, switch and status ask the database what is pending."""

    def test_status_shows_what_is_pending_for_the_live_release(self, pending_site):
        site = pending_site
        site.release("1.0.0")
        assert "schema: nothing pending for 1.0.0" in site.ok("status", "--stage", "test").out
        site.release("2.0.0")
        run = site.ok("--json", "status", "--stage", "test")
        assert json.loads(run.out)["stages"]["test"]["schema"] == {"release": "2.0.0",
                                                                   "pending": ["contract"]}
        assert "schema: contract pending for 2.0.0 (retire runs it)" in \
            site.ok("status", "--stage", "test").out
        site.ok("retire", "--stage", "test", "--now")
        assert "schema: nothing pending for 2.0.0" in site.ok("status", "--stage", "test").out

    def test_a_restored_database_refuses_the_switch_and_deploy_expands_again(self, pending_site):
        site = pending_site
        site.release("1.0.0")
        backup = site.root / "before-2.0.0.db"
        shutil.copyfile(site.extra["db"], backup)
        site.ok("passive", "--stage", "test")
        site.ok("deploy", "--stage", "test", "--version", "2.0.0")
        site.ok("verify", "--stage", "test")
        shutil.copyfile(backup, site.extra["db"])  # the database restored from before the expand
        before = site.actives()
        run = site.cli("switch", "--stage", "test")
        assert run.code == 1, run.text
        assert "schema.pending says the expand of 2.0.0 is pending" in run.err
        assert "run 'deploy --stage test' again" in run.err
        assert site.actives() == before and site.served() == ("blue", "1.0.0")
        status = site.cli("status", "--stage", "test")
        assert status.code == 0 and "schema: nothing pending for 1.0.0" in status.out
        run = site.ok("deploy", "--stage", "test", "--version", "2.0.0")
        assert "recorded as done, but schema.pending says it is pending" in run.err
        site.ok("verify", "--stage", "test")
        site.ok("switch", "--stage", "test")
        assert site.served() == ("green", "2.0.0")

    def test_nothing_pending_skips_the_expand(self, pending_site):
        site = pending_site
        site.release("1.0.0")
        marker = site.root / "expand-ran"
        expand = [sys.executable, "-c", "import pathlib, sys; pathlib.Path(sys.argv[1]).touch()",
                  str(marker)]
        with_pending(site, expand=expand)  # 1.1.0 needs no schema change: nothing pending
        site.release("1.1.0")
        assert not marker.exists()
        assert site.served() == ("green", "1.1.0")


class TestPendingFaults:
    """A pending command that cannot tell, or an expand that did not do its job."""

    def test_an_expand_that_did_nothing_is_refused_before_any_server_changes(self, pending_site):
        site = pending_site
        site.release("1.0.0")
        with_pending(site, expand=[sys.executable, "-c", "pass"])
        deploy_refused(site, 1, "schema.expand ran but did not bring the database to 2.0.0")

    def test_a_pending_command_that_fails(self, pending_site):
        site = pending_site
        site.release("1.0.0")
        with_pending(site, pending=[sys.executable, "-c", "raise SystemExit('no database')"])
        deploy_refused(site, 3, "schema.pending for 2.0.0 could not tell (exit 1: no database)",
                       "should exit 0 (nothing pending), 2 (expand pending)")
        status = site.cli("status", "--stage", "test")
        assert status.code == 3 and "schema.pending for 1.0.0 could not tell" in status.out

    def test_a_pending_command_that_hangs(self, pending_site):
        site = pending_site
        site.release("1.0.0")
        with_pending(site, pending=[sys.executable, "-c", "import time; time.sleep(60)"])
        site.config.write_text(site.config.read_text().replace("timeout_s = 60", "timeout_s = 1", 1))
        run = site.cli("status", "--stage", "test")
        assert run.code == 3 and "timed out after 1 s" in run.out


class TestPendingConfig:
    """schema.pending without an expand to run could only ever refuse: a configuration error."""

    def test_pending_needs_expand(self):
        from bluegreen.config import optional
        from bluegreen.errors import ConfigError

        with pytest.raises(ConfigError) as err:
            optional.schema({"pending": ["./migrate.sh", "check", "{version}"]}, ROOT)
        assert err.value.message.startswith("schema.pending: needs schema.expand")
